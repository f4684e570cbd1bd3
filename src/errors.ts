/**
 * Errors are values with a stable `kind` (sent to clients as `data.kind`) and a message a person
 * can act on. Anything thrown that is not a DaqError is a bug: it is logged and reported as
 * `internal_error` (see toDaqError).
 */
export const ERROR_KINDS = {
  // JSON-RPC protocol level
  parse_error: -32700,
  invalid_request: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  internal_error: -32603,
  // Application level (-32000 .. -32099 is reserved by JSON-RPC for server errors)
  not_found: -32001,
  already_exists: -32002,
  in_use: -32003,
  conflict: -32004,
  validation_failed: -32005,
  persist_failed: -32006,
  busy: -32007,
  expired: -32008,
  unknown_driver: -32010,
  out_of_range: -32011,
  not_settable: -32012,
  port_conflict: -32013,
  port_not_found: -32014,
  // Device / transport level
  timeout: -32020,
  device_error: -32021,
  protocol_error: -32022,
  disconnected: -32023,
  port_error: -32024,
  unsafe: -32025,
  not_ready: -32026,
  config_invalid: -32030,
  unavailable: -32031,
  not_implemented: -32032,
  /** Stopped by instrument.abort, a safety action or shutdown before it finished. */
  aborted: -32033,
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

export interface DaqErrorOptions {
  /** Structured details sent to clients under `data` (must be JSON-safe). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class DaqError extends Error {
  readonly kind: ErrorKind;
  readonly details?: Record<string, unknown>;

  constructor(kind: ErrorKind, message: string, options: DaqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaqError';
    this.kind = kind;
    this.details = options.details;
  }

  get code(): number {
    return ERROR_KINDS[this.kind];
  }

  toJSON(): { kind: ErrorKind; message: string; details?: Record<string, unknown> } {
    return { kind: this.kind, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isDaqError(err: unknown, kind?: ErrorKind): err is DaqError {
  return err instanceof DaqError && (kind === undefined || err.kind === kind);
}

/**
 * Turns anything thrown into a DaqError. Unknown errors become `internal_error`; the caller
 * passes `onUnknown` to log the original (with stack) since it is a bug by definition.
 */
export function toDaqError(err: unknown, onUnknown?: (err: unknown) => void): DaqError {
  if (isDaqError(err)) return err;
  onUnknown?.(err);
  return new DaqError('internal_error', 'internal error in daqd (see the daemon log for details)', { cause: err });
}

/** A short human description of any error, for logs and status fields. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
