/**
 * drivers.list / drivers.get: what each driver offers, as data (daqctl drivers, the dashboard):
 * parameters with type, unit, range, setpoint or action, read-back; readings with units. Drivers
 * whose parameters come from the instrument's config (scpi controls, modbus_rtu registers, the
 * esp300's axes) are described with their default options and say so.
 */
import type { DriverDefinition, ParamDecl, ReadingDecl } from './types.js';
import { drivers, getDriver } from './registry.js';

export interface DriverSummary {
  name: string;
  description: string;
  multidrop: boolean;
  serial: DriverDefinition['serial'];
}

export interface DriverDescription extends DriverSummary {
  parameters: Omit<ParamDecl, never>[];
  readings: ReadingDecl[];
  /** The parameters and readings shown are for the default options; the config defines more. */
  fromConfig?: string;
}

/** Options a driver is described with when its defaults do not parse (required keys). */
const MINIMAL_OPTIONS: Record<string, unknown> = {
  ell14: { address: '0' },
  modbus_rtu: { slave_id: 1 },
};

const FROM_CONFIG: Record<string, string> = {
  scpi: 'parameters are the [controls.<name>] tables of the instrument, readings its [channels.<name>] tables',
  modbus_rtu: 'parameters are the [controls.<name>] tables of the instrument, readings its [registers.<name>] tables',
  esp300: 'one set of axisN_* parameters and readings per axis in `axes` (shown for axis 1)',
};

export function summarizeDriver(d: DriverDefinition): DriverSummary {
  return { name: d.name, description: d.description, multidrop: d.multidrop, serial: d.serial };
}

export function describeDriver(name: string): DriverDescription {
  const d = getDriver(name);
  const parsed = d.optionsSchema.safeParse(MINIMAL_OPTIONS[d.name] ?? {});
  const options = parsed.success ? parsed.data : undefined;
  return {
    ...summarizeDriver(d),
    parameters: options === undefined ? [] : d.params(options),
    readings: options === undefined ? [] : d.readings(options),
    ...(FROM_CONFIG[d.name] ? { fromConfig: FROM_CONFIG[d.name] } : {}),
  };
}

export function listDrivers(): DriverSummary[] {
  return [...drivers.values()].map(summarizeDriver).sort((a, b) => a.name.localeCompare(b.name));
}
