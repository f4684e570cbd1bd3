/**
 * The steady-state polling of one ready instrument: a plain loop the instrument actor owns.
 *
 * Why not a state per poll: an xstate promise actor and an `after` delay per poll cost a spawn, an
 * AbortController, two snapshots and a scheduler entry each time, and stopping any actor makes
 * xstate scan every delay scheduled in the whole system (`scheduler.cancelAll`): with 1000
 * instruments at 10 Hz that scan was a quarter of the daemon's CPU and a third of the polls never
 * happened (issue #25, profiled with `--cpu-prof`). The machine still makes every lifecycle decision
 * (connect, ready, error, back-off, stop); this loop only runs while the machine is in `ready` and
 * hands the decision back (`onLost`) when the connection is gone or polls keep failing.
 *
 * Per poll it allocates the driver's exchanges, the readings object the driver returns and the
 * reading event (which is also what `lastReading` shows): no closures, no wrappers.
 */
import type { DriverInstance, ParamValue, ReadingFlag, Readings, ReadingsMeta } from '../../drivers/types.js';
import { describeError, isDaqError } from '../../errors.js';
import type { EventBus } from '../events.js';
import type { FailureLog } from './failure-log.js';

/** Errors that mean the connection itself is gone: reconnect at once rather than retry the poll. */
const FATAL_KINDS = new Set(['disconnected', 'port_error', 'port_not_found']);
/** Consecutive failed polls (timeouts, garbage, device errors) before a reconnect. */
export const MAX_CONSECUTIVE_FAILURES = 3;

export interface ErrorInfo {
  kind: string;
  message: string;
  at: string;
}

/** The reading event; the last one is also the instrument's `lastReading`. */
export interface ReadingEvent {
  type: 'reading';
  instrument: string;
  seq: number;
  ts: string;
  values: Readings;
  units?: Record<string, string>;
  flags?: Record<string, ReadingFlag>;
}

/**
 * What polling changes every cycle, in one mutable box shared by the loop, the machine and the
 * views (status, instrument.get): written in place, so a poll makes no new actor snapshot.
 */
export interface PollCounters {
  seq: number;
  lastReading: ReadingEvent | null;
  lastError: ErrorInfo | null;
  consecutiveFailures: number;
  /** Polls that succeeded / failed since the actor was spawned. */
  polls: number;
  pollErrors: number;
}

export function newCounters(): PollCounters {
  return { seq: 0, lastReading: null, lastError: null, consecutiveFailures: 0, polls: 0, pollErrors: 0 };
}

export function errorInfo(err: unknown): ErrorInfo {
  return { kind: isDaqError(err) ? err.kind : 'internal_error', message: describeError(err), at: new Date().toISOString() };
}

export function isConnectionLost(err: unknown): boolean {
  return isDaqError(err) && FATAL_KINDS.has(err.kind);
}

/** A timer source: the real one, or a simulated clock in tests. */
export interface TimerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const realTimers: TimerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

export interface PollLoopOptions {
  instrumentId: string;
  driver: DriverInstance;
  intervalMs: number;
  counters: PollCounters;
  events: EventBus;
  failures: FailureLog;
  /** Declared units of the readings (shared; never copied unless the driver reports others). */
  readingUnits: Record<string, string>;
  /** Readings that report a settable parameter's device value, and where to note them. */
  paramReadings: ReadonlySet<string>;
  noteDevice(name: string, value: ParamValue, at: string): void;
  /** Called once, after which the loop has stopped: the connection is gone or polls keep failing. */
  onLost(error: unknown): void;
  now: () => number;
  timers: TimerClock;
}

/** Logs a failure once per episode (failure-log.ts), without the instrument id the logger already carries. */
export function logFailure(failures: FailureLog, instrumentId: string, err: unknown): void {
  let message = describeError(err);
  if (message.startsWith(`${instrumentId}: `)) message = message.slice(instrumentId.length + 2);
  failures.failed(isDaqError(err) ? err.kind : 'internal_error', message, isDaqError(err) && err.details ? { details: err.details } : {});
}

export class PollLoop {
  private intervalMs: number;
  private timer: unknown = undefined;
  private stopped = false;
  private polling = false;
  /**
   * When the poll now running (or last run) was due, and when the next one is. Polls keep to this
   * fixed grid, so a timer firing a few ms late does not push every later poll back (at 1000
   * instruments that drift lost 4 % of the readings); a poll later than half an interval moves the
   * grid to its actual start instead, so there is never a burst to catch up.
   */
  private lastDue = 0;
  private nextDue = 0;
  /** The merged units for the driver's last `meta.units` object (drivers hand out shared ones). */
  private unitsFor: Record<string, string> | undefined;
  private mergedUnits: Record<string, string> | undefined;
  private readonly cycle = (): void => {
    this.timer = undefined;
    this.poll();
  };

  constructor(private readonly o: PollLoopOptions) {
    this.intervalMs = o.intervalMs;
  }

  start(): void {
    this.nextDue = this.o.now();
    this.cycle();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * A new interval counts from the last poll: a shorter one takes effect now, a longer one at the
   * next cycle, and there is never a burst.
   */
  setInterval(ms: number): void {
    this.intervalMs = ms;
    if (this.timer === undefined || this.stopped) return; // polling now: the next wait uses it
    this.o.timers.clearTimeout(this.timer);
    this.schedule();
  }

  /** One poll: the driver's exchanges, then deliver() or failed(); handlers made once, not per poll. */
  private poll(): void {
    if (this.stopped || this.polling) return;
    this.polling = true;
    const o = this.o;
    const now = o.now();
    this.lastDue = now - this.nextDue >= this.intervalMs / 2 ? now : this.nextDue;
    let polled: Promise<Readings>;
    try {
      polled = o.driver.poll();
    } catch (err) {
      polled = Promise.reject(err);
    }
    polled.then(this.polled, this.pollFailed);
  }

  private readonly polled = (values: Readings): void => {
    this.polling = false;
    if (this.stopped) return;
    // Nothing may escape this handler (its promise is never awaited): a throw is a failed poll.
    try {
      this.deliver(values, this.o.driver.readingsMeta?.());
    } catch (err) {
      this.failed(err);
      return;
    }
    this.schedule();
  };

  private readonly pollFailed = (err: unknown): void => {
    this.polling = false;
    if (!this.stopped) this.failed(err);
  };

  private failed(err: unknown): void {
    const c = this.o.counters;
    c.pollErrors++;
    c.lastError = errorInfo(err);
    if (isConnectionLost(err) || c.consecutiveFailures + 1 >= MAX_CONSECUTIVE_FAILURES) {
      this.stopped = true;
      this.o.onLost(err); // the machine logs it and decides (error state, reconnect)
      return;
    }
    c.consecutiveFailures++;
    logFailure(this.o.failures, this.o.instrumentId, err);
    this.schedule();
  }

  private deliver(values: Readings, meta: ReadingsMeta | undefined): void {
    const o = this.o;
    const c = o.counters;
    const reading: ReadingEvent = { type: 'reading', instrument: o.instrumentId, seq: c.seq + 1, ts: new Date().toISOString(), values };
    const units = this.unitsOf(meta);
    if (units !== undefined) reading.units = units;
    if (meta?.flags !== undefined && hasKeys(meta.flags)) reading.flags = meta.flags;
    c.seq = reading.seq;
    c.polls++;
    c.consecutiveFailures = 0;
    c.lastReading = reading;
    o.failures.recovered('reading');
    if (o.paramReadings.size > 0) {
      for (const name of o.paramReadings) {
        const value = values[name];
        if (value !== undefined) o.noteDevice(name, value, reading.ts);
      }
    }
    o.events.emit(reading);
  }

  private unitsOf(meta: ReadingsMeta | undefined): Record<string, string> | undefined {
    const declared = this.o.readingUnits;
    if (!meta?.units) return hasKeys(declared) ? declared : undefined;
    if (meta.units !== this.unitsFor) {
      this.unitsFor = meta.units;
      this.mergedUnits = { ...declared, ...meta.units };
    }
    return this.mergedUnits;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.nextDue = this.lastDue + this.intervalMs;
    const delay = Math.max(0, this.nextDue - this.o.now());
    this.timer = this.o.timers.setTimeout(this.cycle, delay);
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
