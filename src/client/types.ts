/**
 * The shapes of the socket results daqctl reads (docs/protocol.md). Fields added with issue #15
 * (device truth: parameters, device values, drift, holds, busy, trouble) are optional here, so
 * daqctl still prints what an older daqd sends.
 */

export type Value = number | boolean | string;

export interface ParameterView {
  name: string;
  kind: 'setpoint' | 'action';
  type: 'number' | 'integer' | 'boolean' | 'string' | 'enum';
  unit?: string;
  min?: number;
  max?: number;
  /** Allowed values of an enum, in their declared spelling. */
  values?: (string | number)[];
  /** The device can report the value (a set is confirmed by reading it back). */
  readBack: boolean;
  /** The value in the config (setpoints). */
  configured?: Value;
  /** The value the device confirmed or reported. */
  device?: Value;
  /** A setpoint whose device value differs from the configured one. */
  drift: boolean;
}

export interface ReadingView {
  seq: number;
  ts: string;
  values: Record<string, Value>;
  units?: Record<string, string>;
  flags?: Record<string, string>;
}

export interface ErrorView {
  kind: string;
  message: string;
  at?: string;
}

export interface HoldView {
  param: string;
  value: Value;
  holder: string;
}

export interface BusyView {
  params: string[];
  since: string;
}

export interface InstrumentView {
  id: string;
  driver: string;
  port: string;
  state: string;
  pollIntervalMs: number;
  /** The configured values. */
  params: Record<string, Value>;
  lastReading: ReadingView | null;
  lastError: ErrorView | null;
  polls: number;
  pollErrors: number;
  /** instrument.get only. */
  parameters?: ParameterView[];
  device?: Record<string, Value>;
  deviceAt?: string | null;
  drift?: Record<string, { configured: Value; device: Value }>;
  holds?: HoldView[];
  busy?: BusyView | null;
  /** instrument.get: this instrument's memory-only changes. */
  overrides?: OverrideView[];
}

export interface PersistedView {
  written: boolean;
  reason?: string;
}

export interface SetResult {
  id: string;
  /** Values the device confirmed. */
  params: Record<string, Value>;
  /** Config values that changed. */
  changed?: string[];
  poll_interval_ms?: number;
  reconnected?: boolean;
  persisted?: PersistedView;
}

export interface AbortResult {
  id: string;
  /** An operation was in flight and was stopped. */
  aborted: boolean;
  /** Pending sets failed with kind `aborted`. */
  failed: number;
  state: string;
}

export interface AddResult {
  id: string;
  /** With wait: ready, error (first connection failed) or connecting (timed out waiting). */
  state?: string;
  error?: { kind: string; message: string };
  instrument?: InstrumentView;
  persisted?: PersistedView;
}

export interface Trouble {
  interlocks: { module: string; since: string; cause?: unknown; message?: string }[];
  alarms: { module: string; message: string }[];
  degradedModules: { module: string; reason: string }[];
  instrumentsInError: { id: string; kind: string; message: string }[];
  drift: { instrument: string; param: string; configured: Value; device: Value }[];
  configFile: { missing: boolean; unloadedEdit: boolean; reloadFailed: boolean; message?: string };
}

export interface ReloadStatusView {
  outcome: 'never' | 'applied' | 'unchanged' | 'failed';
  source?: string;
  at?: string;
  durationMs?: number;
  summary?: string;
  reason?: string;
  errors?: { line?: number; path?: string; message: string }[];
  message?: string;
  /** Memory-only changes the reload kept on top of the file, and those the edit replaced. */
  overrides?: { kept: OverrideView[]; replaced: OverrideView[]; note?: string };
}

export interface DaemonStatusView {
  version: string;
  pid: number;
  uptimeS: number;
  configPath: string;
  instruments: { total: number } & Record<string, number>;
  modules: { total: number };
  persistence: { enabled: boolean; upToDate: boolean; reason?: string };
  hotReload?: { enabled: boolean; watching: boolean; debounceMs: number };
  lastReload: ReloadStatusView;
  trouble?: Trouble;
  overrides?: OverrideView[];
}

/** A memory-only change (persist: false, or persistence off) on top of the file. */
export interface OverrideView {
  /** Dotted config path, e.g. instruments.pm1.params.wavelength_nm. */
  path: string;
  kind: 'set' | 'add' | 'remove';
  /** The running value (set, add). */
  value?: unknown;
  /** What the file holds (set, remove). */
  file?: unknown;
}

/** instrument.enable / instrument.restart with wait (state and error), instrument.disable. */
export interface LifecycleResult {
  id: string;
  enabled?: boolean;
  restarted?: boolean;
  changed?: string[];
  state?: string;
  error?: { kind: string; message: string };
  persisted?: PersistedView;
}

export interface ModuleView {
  id: string;
  type: string;
  state: string;
  reason?: string;
  roles: Record<string, string>;
  declaredRoles?: { name: string; required: boolean; description?: string; assigned?: string }[];
  /** Type-specific (docs/modules.md); read defensively. */
  status: Record<string, unknown>;
}

export interface DriverSummary {
  name: string;
  description: string;
  multidrop: boolean;
  serial: { baudRate?: number; dataBits?: number; parity?: string; stopBits?: number; flowControl?: string };
}

export interface DriverParameter {
  name: string;
  kind: 'setpoint' | 'action';
  type: string;
  description?: string;
  unit?: string;
  min?: number;
  max?: number;
  values?: (string | number)[];
  settable?: 'running' | 'stopped' | 'never';
  readBack: boolean;
}

export interface DriverDescription extends DriverSummary {
  parameters: DriverParameter[];
  readings: { name: string; type: string; description?: string; unit?: string }[];
  /** The parameters shown are for the default options; the instrument's config defines more. */
  fromConfig?: string;
}

/** ports.list: one serial or configured network port (the server's own declaration; types only). */
export type { PortInfo as PortView } from '../transport/port-listing.js';

/** ports.probe: the answer to *IDN? from a tcp://host:port. */
export interface ProbeView {
  address: string;
  idn: string;
  connectMs: number;
  replyMs: number;
}
