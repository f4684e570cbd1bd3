/**
 * The Link over a ByteTransport: a FIFO of exchanges with exactly one on the wire at a time.
 *
 * Why each rule exists:
 * - one at a time: instruments (and every device on an RS-485 bus) answer in order, and a reply
 *   carries no tag saying which request it belongs to;
 * - stale bytes are dropped before each write: a late reply to a timed-out request would
 *   otherwise be taken as the reply to the next one;
 * - a lost transport fails the in-flight and queued exchanges with 'disconnected' at once instead of
 *   letting each one run into its timeout;
 * - `urgent` exchanges (safety and abort traffic) go ahead of every queued ordinary one, behind the
 *   one on the wire (which cannot be taken back) and behind earlier urgent ones (a stop sent before
 *   a "safe" set must stay before it);
 * - `interject` exchanges (a stop a device accepts mid-operation, ELL14 `st` during `ma`) are
 *   written at once, even while the exchange on the wire waits for its reply; that exchange keeps
 *   waiting, since the device's answer to it is usually what the interjection provokes.
 *
 * Hot path: an ordinary exchange costs its Pending record, its promise and the one it waits on for
 * its reply; the wait record and the reply timer are the link's, reused (bench/fleet.bench.ts,
 * bench/set-path.bench.ts). Urgent and interject
 * handling stay off that path: one counter test on enqueue and dequeue.
 */
import { DaqError, isDaqError, describeError } from '../errors.js';
import type { ByteTransport, Exchange, FrameMatcher, Link } from './types.js';

export interface LinkOptions {
  /** Reply timeout for exchanges that do not set their own (ms). */
  timeoutMs?: number;
  /** Characters per second of the line (for Link.lineRate). */
  lineRate: number;
  /**
   * Reopen the transport before an exchange if it was lost (unplug): the instrument's reconnect
   * attempts are its requests. Off for links that must never reopen on their own.
   */
  autoReopen?: boolean;
}

interface Pending {
  exchange: Exchange;
  resolve(value: Buffer | undefined): void;
  reject(err: unknown): void;
}

/**
 * The exchange on the wire: one record per link, reused for every exchange (no closures or timers
 * per exchange). `frame` / `error` hold an outcome that came before anyone awaited it.
 */
interface ReplyWait {
  active: boolean;
  matcher: FrameMatcher | undefined;
  exchange: Exchange | undefined;
  timeoutMs: number;
  deadline: number;
  frame: Buffer | undefined;
  error: DaqError | undefined;
  resolve: ((frame: Buffer) => void) | undefined;
  reject: ((err: unknown) => void) | undefined;
}

export const DEFAULT_TIMEOUT_MS = 1000;

/** Nothing received yet (shared: a fresh empty Buffer per exchange is garbage for nothing). */
const NO_BYTES: Buffer = Buffer.alloc(0);

export class QueuedLink implements Link {
  readonly lineRate: number;
  private timeoutMs: number;
  private readonly autoReopen: boolean;
  /** Urgent exchanges first (`urgentQueued` of them, in arrival order), then ordinary ones. */
  private readonly queue: Pending[] = [];
  private urgentQueued = 0;
  private running = false;
  private received: Buffer = NO_BYTES;
  private readonly wait: ReplyWait = {
    active: false,
    matcher: undefined,
    exchange: undefined,
    timeoutMs: 0,
    deadline: 0,
    frame: undefined,
    error: undefined,
    resolve: undefined,
    reject: undefined,
  };
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private disposed: DaqError | undefined;
  private discarded = 0;
  /** Set while the transport is down after an unexpected loss. */
  private lost: DaqError | undefined;
  private readonly closeListeners = new Set<(err?: Error) => void>();

  constructor(
    readonly transport: ByteTransport,
    options: LinkOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lineRate = options.lineRate;
    this.autoReopen = options.autoReopen ?? true;
    transport.onData((chunk) => this.handleData(chunk));
    transport.onClose((err) => this.handleClose(err));
  }

  /** Changes the reply timeout for exchanges that do not set their own (e.g. a config edit). */
  setDefaultTimeout(ms: number): void {
    this.timeoutMs = ms;
  }

  /** Bytes thrown away as stale (late replies, leftovers after a frame, unsolicited noise). */
  get discardedBytes(): number {
    return this.discarded;
  }

  /** Extra observers of transport loss/close (e.g. the PortHub). */
  onTransportClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  request(exchange: Exchange): Promise<Buffer | undefined> {
    if (this.disposed) return Promise.reject(this.disposed);
    if (exchange.interject) return this.interject(exchange);
    return new Promise((resolve, reject) => {
      const pending: Pending = { exchange, resolve, reject };
      if (exchange.urgent) this.queue.splice(this.urgentQueued++, 0, pending);
      else this.queue.push(pending);
      if (!this.running) void this.run();
    });
  }

  /** Exchanges waiting for the wire (not counting the one on it). */
  get queued(): number {
    return this.queue.length;
  }

  /** Fails everything queued and refuses new exchanges with `reason`. Does not close the transport. */
  dispose(reason: DaqError): void {
    this.disposed = reason;
    this.failAll(reason);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let next = this.dequeue(); next; next = this.dequeue()) {
        try {
          if (next.exchange.signal?.aborted) throw notSent(next.exchange);
          next.resolve(await this.perform(next.exchange));
        } catch (err) {
          next.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private dequeue(): Pending | undefined {
    if (this.urgentQueued > 0) this.urgentQueued--;
    return this.queue.shift();
  }

  /**
   * Writes `exchange` now, beside whatever is on the wire. It cannot have a reply: a reply matcher
   * would compete with the in-flight exchange's for the same bytes. Stale bytes are not flushed
   * (they may be the in-flight exchange's reply arriving), and a lost port is not reopened (there
   * is nothing running on a closed port to interrupt).
   */
  private async interject(exchange: Exchange): Promise<undefined> {
    const label = exchange.label ?? describeBytes(exchange.write);
    if (exchange.reply) {
      throw new DaqError('invalid_request', `cannot interject ${label}: an interjected exchange must not expect a reply (it would take the reply of the exchange on the wire)`, {
        details: { exchange: label },
      });
    }
    if (!this.transport.isOpen) throw this.lost ?? this.lostError(label);
    const data = typeof exchange.write === 'string' ? Buffer.from(exchange.write, 'latin1') : exchange.write;
    try {
      await this.transport.write(data);
    } catch (err) {
      throw this.toLinkError(err, label);
    }
    return undefined;
  }

  private async perform(exchange: Exchange): Promise<Buffer | undefined> {
    if (this.disposed) throw this.disposed;
    if (!this.transport.isOpen) {
      if (!this.autoReopen) throw this.lostError(labelOf(exchange));
      await this.reopen();
    }
    const data = typeof exchange.write === 'string' ? Buffer.from(exchange.write, 'latin1') : exchange.write;
    this.discarded += this.received.length;
    this.received = NO_BYTES;

    // The wait is armed before the write: a reply may arrive before the write is reported done.
    const w = this.wait;
    w.active = true;
    w.matcher = exchange.reply;
    w.exchange = exchange;
    w.frame = undefined;
    w.error = undefined;
    w.resolve = undefined;
    w.reject = undefined;
    if (exchange.reply) {
      const timeoutMs = exchange.timeoutMs ?? this.timeoutMs;
      w.timeoutMs = timeoutMs;
      w.deadline = performance.now() + timeoutMs;
      this.armTimer(timeoutMs);
    }
    try {
      await this.transport.write(data);
    } catch (err) {
      // A reply that came in full is the answer; else a loss noticed while writing is the error.
      if (!w.active && w.frame !== undefined) return w.frame;
      const lost = w.active ? undefined : w.error;
      w.active = false;
      throw lost ?? this.toLinkError(err, labelOf(exchange));
    }
    if (!exchange.reply) {
      // Nothing to wait for but the write (a loss noticed meanwhile fails the next exchange).
      w.active = false;
      if (exchange.settleMs && exchange.settleMs > 0) await new Promise((resolve) => setTimeout(resolve, exchange.settleMs));
      return undefined;
    }
    this.tryMatch();
    let frame: Buffer | undefined;
    if (w.active) {
      frame = await new Promise<Buffer>((resolve, reject) => {
        w.resolve = resolve;
        w.reject = reject;
      });
    } else if (w.error) {
      throw w.error;
    } else {
      frame = w.frame;
    }
    if (exchange.settleMs && exchange.settleMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, exchange.settleMs));
    }
    return frame;
  }

  /** The exchange on the wire got its reply. */
  private complete(frame: Buffer): void {
    const w = this.wait;
    w.active = false;
    if (w.resolve) w.resolve(frame);
    else w.frame = frame;
  }

  /** The exchange on the wire failed (timeout, loss, dispose). */
  private fail(err: DaqError): void {
    const w = this.wait;
    w.active = false;
    if (w.reject) w.reject(err);
    else w.error = err;
  }

  /**
   * One reply timer per link, not one per exchange: it is re-armed only when it would fire after
   * the current deadline, and when it fires early (the deadline moved on with a later exchange) it
   * waits for the rest. Exchanges take milliseconds and time out after a second, so it fires about
   * once a timeout period instead of being set and cleared twice per poll.
   */
  private armTimer(ms: number): void {
    const at = performance.now() + ms;
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const w = this.wait;
    if (!w.active || !w.matcher) return;
    const left = w.deadline - performance.now();
    if (left > 0.5) {
      this.armTimer(left);
      return;
    }
    const what = labelOf(w.exchange!);
    this.fail(
      new DaqError('timeout', `no reply to ${what} from ${this.transport.description} within ${w.timeoutMs} ms`, {
        details: { exchange: what, timeoutMs: w.timeoutMs },
      }),
    );
  };

  /**
   * After a loss, every failed reopen is reported as 'disconnected' (with the reason), so callers see
   * one kind for "had the device, lost it" whether the OS noticed at a read or at our next write.
   * 'port_not_found' / 'port_error' are for ports that never opened.
   */
  private async reopen(): Promise<void> {
    try {
      await this.transport.open();
      this.lost = undefined;
    } catch (err) {
      if (!this.lost) throw err;
      throw new DaqError('disconnected', `${this.lost.message}; cannot reopen it: ${describeError(err)}`, {
        details: { reopenError: isDaqError(err) ? err.kind : 'port_error' },
        cause: err,
      });
    }
  }

  private handleData(chunk: Buffer): void {
    if (!this.wait.active || !this.wait.matcher) {
      // Nobody asked: a late reply to a timed-out request, or unsolicited noise.
      this.discarded += chunk.length;
      return;
    }
    this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
    this.tryMatch();
  }

  private tryMatch(): void {
    const w = this.wait;
    if (!w.active || !w.matcher || this.received.length === 0) return;
    const match = w.matcher(this.received);
    if (!match) return;
    this.received = this.received.subarray(match.consumed);
    this.complete(match.frame);
  }

  private handleClose(err?: Error): void {
    const reason = new DaqError(
      'disconnected',
      err
        ? `lost connection to ${this.transport.description}: ${describeError(err)}`
        : `${this.transport.description} was closed`,
      { cause: err },
    );
    if (err) this.lost = reason;
    this.failAll(reason);
    for (const listener of this.closeListeners) listener(err);
  }

  private failAll(reason: DaqError): void {
    if (this.wait.active) this.fail(reason);
    this.urgentQueued = 0;
    for (const pending of this.queue.splice(0)) pending.reject(reason);
  }

  private lostError(label: string): DaqError {
    return new DaqError('disconnected', `cannot send ${label}: ${this.transport.description} is not open`);
  }

  private toLinkError(err: unknown, label: string): DaqError {
    if (isDaqError(err)) return err;
    return new DaqError('disconnected', `cannot send ${label} to ${this.transport.description}: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/** The label for messages, worked out only when one is needed (never per exchange). */
function labelOf(exchange: Exchange): string {
  return exchange.label ?? describeBytes(exchange.write);
}

function notSent(exchange: Exchange): DaqError {
  const label = exchange.label ?? describeBytes(exchange.write);
  return new DaqError('aborted', `${label} was not sent: its operation was aborted while it waited for the line`, { details: { exchange: label } });
}

/** A short printable rendering of request bytes for labels: `D?` or `01 03 00 00 00 02 ...`. */
export function describeBytes(data: Buffer | string): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const text = buf.toString('latin1').replace(/[\r\n]+$/, '');
  if (/^[\x20-\x7e]*$/.test(text) && text.length > 0) return text.length > 40 ? `${text.slice(0, 40)}...` : text;
  const hex = [...buf.subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return buf.length > 12 ? `${hex} ...` : hex;
}

export { lineReply, fixedLengthReply, lengthPrefixedReply, frameText } from './framing.js';
