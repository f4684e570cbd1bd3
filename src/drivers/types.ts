import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Link, SerialSettings } from '../transport/types.js';

export type ParamValue = number | boolean | string;
export type Readings = Record<string, ParamValue>;

/** When a parameter may be changed. */
export type Settable =
  | 'running' // settable while the instrument polls (sent to the device at once)
  | 'stopped' // only by reconnecting the instrument (e.g. a connection setting); a set reconnects it
  | 'never'; // read-only

export interface ParamDecl {
  name: string;
  type: 'number' | 'integer' | 'boolean' | 'string' | 'enum';
  description: string;
  unit?: string;
  min?: number;
  max?: number;
  /** Allowed values for 'enum'. */
  values?: readonly (string | number)[];
  settable: Settable;
  /** Whether the driver reads the value back from the device to confirm a set. */
  readBack?: boolean;
}

export interface ReadingDecl {
  name: string;
  type: 'number' | 'boolean' | 'string';
  description: string;
  unit?: string;
}

/**
 * The validated, driver-relevant part of one instrument's config. `options` holds the
 * driver-specific keys (SCPI channels, Modbus register maps, ESP300 axes, bus address...), already
 * validated by the driver's `optionsSchema`.
 */
export interface DriverConfig<Options = Record<string, unknown>> {
  id: string;
  params: Record<string, ParamValue>;
  options: Options;
}

export interface DriverContext<Options = Record<string, unknown>> {
  link: Link;
  config: DriverConfig<Options>;
  log: Logger;
}

/** One connected instrument. All device I/O goes through ctx.link. */
export interface DriverInstance {
  /**
   * Called after the port opens and after every reconnect: identify the device and bring it to
   * the configured params (the config is the source of truth after a reconnect).
   */
  init(): Promise<void>;
  /** One poll cycle. Throws DaqError (timeout, device_error, protocol_error, disconnected). */
  poll(): Promise<Readings>;
  /**
   * Write one already-validated parameter and confirm it (read back where the protocol allows).
   * Resolves with the value the device now holds.
   */
  setParam(name: string, value: ParamValue): Promise<ParamValue>;
  /** Optional orderly shutdown (e.g. stop motion). Must not throw. */
  close?(): Promise<void>;
}

/**
 * A device simulator speaks the real wire protocol byte for byte: it receives exactly the bytes a
 * host writes and answers with exactly the bytes the device would send.
 */
export interface DeviceSimulator {
  /** Bytes from the host. */
  receive(data: Buffer): void;
  /** Register the listener for bytes the device sends. */
  onSend(listener: (data: Buffer) => void): void;
  /** Stop timers. */
  dispose(): void;
}

export interface DriverDefinition<Options = any> {
  /** The `driver = "..."` name in the config. */
  name: string;
  description: string;
  /** Serial defaults the config may override (baud_rate, data_bits, ...). */
  serial: SerialSettings;
  /** Several instruments of this driver may share one port, each at its own bus address. */
  multidrop: boolean;
  /** Driver-specific config keys on the instrument table (besides the common ones and `params`). */
  optionsSchema: z.ZodType<Options>;
  /** For multidrop drivers: this instrument's bus address (unique per port). */
  busAddress?(options: Options): string;
  /** Parameters: fixed for most drivers, derived from options for generic ones (SCPI, Modbus). */
  params(options: Options): ParamDecl[];
  readings(options: Options): ReadingDecl[];
  create(ctx: DriverContext<Options>): DriverInstance;
  /** The built-in simulator used for `port = "sim"` (and by tests on the far end of a pty). */
  createSimulator(config: DriverConfig<Options>): DeviceSimulator;
}
