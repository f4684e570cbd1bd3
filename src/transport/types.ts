/**
 * Transports move bytes; links add one-request-at-a-time exchanges on top. Drivers only ever see
 * a Link, so the same driver code runs over a real serial port, a pseudo-terminal, or its own
 * built-in simulator.
 */

export type Parity = 'none' | 'even' | 'odd' | 'mark' | 'space';
export type FlowControl = 'none' | 'rtscts' | 'xonxoff';

export interface SerialSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: Parity;
  stopBits: 1 | 1.5 | 2;
  flowControl: FlowControl;
}

/** A raw, byte-level duplex connection (serial port or simulator). */
export interface ByteTransport {
  readonly description: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  write(data: Buffer): Promise<void>;
  /** Register the one data listener (the owning Link). */
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the connection is lost or closed; `err` set when it was lost unexpectedly. */
  onClose(listener: (err?: Error) => void): void;
  /** Idempotent. Resolves when the underlying port is released and can be opened again. */
  close(): Promise<void>;
}

/**
 * Decides whether the bytes received so far hold a complete reply. Returns the frame and how
 * many bytes it consumed, or null to keep waiting. Used for both line and binary protocols.
 */
export type FrameMatcher = (received: Buffer) => { frame: Buffer; consumed: number } | null;

export interface Exchange {
  /** Bytes to send. Strings are sent as latin1 (instrument protocols are 8-bit ASCII). */
  write: Buffer | string;
  /** How to recognise the reply; omit for commands that get no reply. */
  reply?: FrameMatcher;
  /** Reply timeout (default: the link's timeout). */
  timeoutMs?: number;
  /**
   * Quiet time after a command with no reply before the next exchange may start, for devices
   * that need time to digest a set command.
   */
  settleMs?: number;
  /** Label for logs and error messages, e.g. "W?". */
  label?: string;
  /**
   * Safety and abort traffic: goes ahead of every queued exchange (after the one on the wire).
   * Urgent exchanges keep their order among themselves.
   */
  urgent?: boolean;
  /**
   * Write at once, even while another exchange waits for its reply (which keeps waiting): for a
   * stop command on protocols whose devices accept it mid-operation (ELL14 `st` during `ma`).
   * Must have no reply matcher.
   */
  interject?: boolean;
  /**
   * Once it fires, the exchange is not written if it is still queued (it fails with kind
   * `aborted`): an aborted move must not start after its abort. On the wire already, it runs on.
   */
  signal?: AbortSignal;
}

/**
 * A driver's view of its port: one exchange on the wire at a time (shared with the other
 * instruments of a multidrop bus), per-exchange timeouts, stale bytes flushed before each write.
 */
export interface Link {
  request(exchange: Exchange): Promise<Buffer | undefined>;
  /** Bytes per second the line carries (baud/10 for 8N1), for pacing and throughput maths. */
  readonly lineRate: number;
}
