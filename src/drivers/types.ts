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

/**
 * What setting a parameter does to the world (issue #15, docs/drivers/README.md):
 * - `setpoint`: a setting the device keeps and works with (wavelength, velocity, range, a chiller's
 *   setpoint). daqd restores setpoints from the config at start-up and on every reconnect.
 * - `action`: setting it moves, emits or opens something (shutter, emission, a motion target).
 *   Performed only when someone asks while daqd runs; never at start-up or on a reconnect, and
 *   never written to the config file by a set.
 */
export type ParamKind = 'setpoint' | 'action';

export interface ParamDecl {
  name: string;
  /** Setpoint or action: decides whether start-up/reconnect restores it and whether a set is persisted. */
  kind: ParamKind;
  type: 'number' | 'integer' | 'boolean' | 'string' | 'enum';
  description: string;
  unit?: string;
  min?: number;
  max?: number;
  /** Allowed values for 'enum'. */
  values?: readonly (string | number)[];
  settable: Settable;
  /**
   * Whether the device can report the value: a set is confirmed by reading it back, and
   * `readParams` returns it. false = daqd only knows what it last commanded (say why in the description).
   */
  readBack: boolean;
}

export interface ReadingDecl {
  name: string;
  type: 'number' | 'boolean' | 'string';
  description: string;
  unit?: string;
}

/** Why a reading cannot be trusted as a measurement. */
export type ReadingFlag = 'saturated' | 'over_range' | 'under_range' | 'invalid';

export interface ReadingsMeta {
  /** reading name -> unit now in force, when it differs from the declared one. */
  units?: Record<string, string>;
  /** reading name -> why the value is not a valid measurement. */
  flags?: Record<string, ReadingFlag>;
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
   * Unit and quality of the readings of the last poll, where they can differ from the declaration
   * (a power meter switched to dBm; a saturated detector). Called after each successful poll.
   * Omitted readings have their declared unit and are valid.
   */
  readingsMeta?(): ReadingsMeta;
  /**
   * Write one already-validated parameter and confirm it (read back where the protocol allows).
   * Resolves with the value the device now holds. Always writes, even if the device already holds
   * the value. A long operation (a move) checks `signal` between exchanges and rejects with
   * DaqError 'aborted' once it is aborted.
   */
  setParam(name: string, value: ParamValue, signal?: AbortSignal): Promise<ParamValue>;
  /**
   * Read the named parameters back from the device (those with readBack: true). Names the device
   * cannot report are left out of the result.
   */
  readParams?(names: readonly string[]): Promise<Record<string, ParamValue>>;
  /**
   * Stop the operation in flight (ESP300 `ST`, ELL14 `st`), using urgent link exchanges so the stop
   * bytes reach the wire ahead of anything queued. Must not throw for a device that is idle.
   */
  abort?(): Promise<void>;
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
  /**
   * How many received commands to keep for tests (default RECENT_LIMIT); 0 keeps none. The
   * daemon's own `port = "sim"` devices keep none: 1000 simulated meters each holding 2000 strings
   * were most of a fleet's heap, and slowed every garbage collection (issue #25).
   */
  keepReceived?(limit: number): void;
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
