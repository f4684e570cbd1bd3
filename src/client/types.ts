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
}
