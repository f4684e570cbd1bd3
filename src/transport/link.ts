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
  /** The write is done and the exchange now waits for the reply alone. */
  waiting: boolean;
  matcher: FrameMatcher | undefined;
  exchange: Exchange | undefined;
  timeoutMs: number;
  deadline: number;
  frame: Buffer | undefined;
  error: DaqError | undefined;
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
  /** The exchange on the wire (or reopening the port for it); undefined when the link is idle. */
  private current: Pending | undefined;
  /** Set while failAll rejects everything: no new exchange may start meanwhile. */
  private failing = false;
  private received: Buffer = NO_BYTES;
  private readonly wait: ReplyWait = {
    active: false,
    waiting: false,
    matcher: undefined,
    exchange: undefined,
    timeoutMs: 0,
    deadline: 0,
    frame: undefined,
    error: undefined,
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
      if (this.current === undefined) this.pump();
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

  /**
   * Starts the next exchange if the line is free. Exchanges run as callbacks (write done, reply
   * matched, timer fired), not as an async function per exchange: at 1000 instruments the async
   * frames and their awaits were a third of all the garbage a reading made (issue #25). Exchanges
   * that fail before anything is written (aborted, disposed, port lost) are answered in the loop.
   */
  private pump(): void {
    while (this.current === undefined && !this.failing) {
      const next = this.dequeue();
      if (!next) return;
      const ex = next.exchange;
      if (ex.signal?.aborted) {
        next.reject(notSent(ex));
        continue;
      }
      if (this.disposed) {
        next.reject(this.disposed);
        continue;
      }
      if (!this.transport.isOpen && !this.autoReopen) {
        next.reject(this.lostError(labelOf(ex)));
        continue;
      }
      this.current = next;
      if (this.transport.isOpen) this.send(next);
      else this.reopen().then(this.reopened, this.failCurrent);
    }
  }

  private readonly reopened = (): void => {
    if (this.current) this.send(this.current);
  };

  private readonly failCurrent = (err: unknown): void => this.finish(undefined, err);

  private send(p: Pending): void {
    const exchange = p.exchange;
    const data = typeof exchange.write === 'string' ? Buffer.from(exchange.write, 'latin1') : exchange.write;
    this.discarded += this.received.length;
    this.received = NO_BYTES;

    // The wait is armed before the write: a reply may arrive before the write is reported done.
    const w = this.wait;
    w.active = true;
    w.waiting = false;
    w.matcher = exchange.reply;
    w.exchange = exchange;
    w.frame = undefined;
    w.error = undefined;
    if (exchange.reply) {
      const timeoutMs = exchange.timeoutMs ?? this.timeoutMs;
      w.timeoutMs = timeoutMs;
      w.deadline = performance.now() + timeoutMs;
      this.armTimer(timeoutMs);
    }
    let writing: Promise<void>;
    try {
      writing = this.transport.write(data);
    } catch (err) {
      writing = Promise.reject(err);
    }
    writing.then(this.written, this.writeFailed);
  }

  private readonly written = (): void => {
    const p = this.current;
    if (!p) return;
    const exchange = p.exchange;
    const w = this.wait;
    if (!exchange.reply) {
      // Nothing to wait for but the write (a loss noticed meanwhile fails the next exchange).
      w.active = false;
      this.settle(exchange, undefined);
      return;
    }
    this.tryMatch();
    if (w.active) {
      w.waiting = true; // complete() or fail() finishes it
      return;
    }
    if (w.error) this.finish(undefined, w.error);
    else this.settle(exchange, w.frame);
  };

  private readonly writeFailed = (err: unknown): void => {
    const p = this.current;
    if (!p) return;
    const w = this.wait;
    // A reply that came in full is the answer; else a loss noticed while writing is the error.
    if (!w.active && w.frame !== undefined) {
      this.finish(w.frame);
      return;
    }
    const lost = w.active ? undefined : w.error;
    w.active = false;
    this.finish(undefined, lost ?? this.toLinkError(err, labelOf(p.exchange)));
  };

  /** Quiet time after the exchange before the next may start, if the exchange asks for it. */
  private settle(exchange: Exchange, frame: Buffer | undefined): void {
    if (exchange.settleMs && exchange.settleMs > 0) setTimeout(() => this.finish(frame), exchange.settleMs);
    else this.finish(frame);
  }

  /** The exchange on the wire is done: answer it and start the next. */
  private finish(frame: Buffer | undefined, err?: unknown): void {
    const p = this.current;
    if (!p) return;
    this.current = undefined;
    if (err !== undefined) p.reject(err);
    else p.resolve(frame);
    this.pump();
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

  /** The exchange on the wire got its reply. */
  private complete(frame: Buffer): void {
    const w = this.wait;
    w.active = false;
    if (!w.waiting) {
      w.frame = frame; // the write is not reported done yet: written() takes it
      return;
    }
    w.waiting = false;
    this.settle(w.exchange!, frame);
  }

  /** The exchange on the wire failed (timeout, loss, dispose). */
  private fail(err: DaqError): void {
    const w = this.wait;
    w.active = false;
    if (!w.waiting) {
      w.error = err; // written() or writeFailed() takes it
      return;
    }
    w.waiting = false;
    this.finish(undefined, err);
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
    // Usually the reply is all there was: no view of an empty rest.
    this.received = match.consumed >= this.received.length ? NO_BYTES : this.received.subarray(match.consumed);
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
    // The exchange on the wire first, then the queue, and nothing new starts in between.
    this.failing = true;
    try {
      if (this.wait.active) this.fail(reason);
      this.urgentQueued = 0;
      for (const pending of this.queue.splice(0)) pending.reject(reason);
    } finally {
      this.failing = false;
    }
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
