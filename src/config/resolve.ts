/**
 * Turns an instrument's table into what the runtime needs: the driver, serial settings with the
 * driver's defaults, timing with the daemon's defaults, and the driver-specific options parsed.
 */
import type { DriverDefinition, ParamValue } from '../drivers/types.js';
import type { SerialSettings } from '../transport/types.js';
import { getDriver } from '../drivers/registry.js';
import { COMMON_INSTRUMENT_KEYS } from './schema.js';
import type { InstrumentModel, ReadonlyDeep } from './model.js';
import { resolvePortPath } from './port-path.js';

export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_TIMEOUT_MS = 1000;

export interface InstrumentSpec {
  id: string;
  driver: DriverDefinition;
  port: string;
  serial: SerialSettings;
  pollIntervalMs: number;
  timeoutMs: number;
  enabled: boolean;
  /** Driver-specific options, parsed by the driver's optionsSchema. */
  options: Record<string, unknown>;
  params: Record<string, ParamValue>;
}

/** The keys of an instrument table that belong to its driver (not common keys). */
export function driverOptionsOf(table: ReadonlyDeep<InstrumentModel>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(table)) if (!COMMON_INSTRUMENT_KEYS.has(k)) out[k] = v;
  return out;
}

/**
 * Resolve a validated instrument table. Throws DaqError (unknown_driver, ...) if it is not valid.
 * `parsedOptions`: the driver's parse of this table's options, when the caller has just made it.
 */
export function resolveInstrument(id: string, table: ReadonlyDeep<InstrumentModel>, parsedOptions?: Record<string, unknown>): InstrumentSpec {
  const driver = getDriver(table.driver);
  const options = parsedOptions ?? (driver.optionsSchema.parse(driverOptionsOf(table)) as Record<string, unknown>);
  const t = table as Record<string, any>;
  return {
    id,
    driver,
    // Relative serial paths are the config file's, not daqd's working directory's.
    port: resolvePortPath(table.port),
    serial: {
      baudRate: t.baud_rate ?? driver.serial.baudRate,
      dataBits: t.data_bits ?? driver.serial.dataBits,
      parity: t.parity ?? driver.serial.parity,
      stopBits: t.stop_bits ?? driver.serial.stopBits,
      flowControl: t.flow_control ?? driver.serial.flowControl,
    },
    pollIntervalMs: t.poll_interval_ms ?? DEFAULT_POLL_INTERVAL_MS,
    timeoutMs: t.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    enabled: t.enabled ?? true,
    options,
    params: { ...((table.params ?? {}) as Record<string, ParamValue>) },
  };
}
