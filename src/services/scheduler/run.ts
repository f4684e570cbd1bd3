/**
 * What a schedule does when it runs: a ramp's step, an at's or every's fire (at most once: recorded
 * before the set is sent), a when-trigger's fire (while a set is in flight: queued or dropped, per
 * retrigger), and the set itself, sent through Daemon.submit with origin `schedule:<id>`, whose
 * failure follows on_error. Kept apart from the Scheduler, which decides when something runs
 * (lifecycle, commands, due times, the timer, clock jumps): this side only carries a run out, and
 * keeps the runs in flight so the scheduler can wait for them (stop, idle, a tick).
 */
import type { Logger } from 'pino';
import type { Daemon } from '../../core/daemon.js';
import type { ParamValue } from '../../drivers/types.js';
import { toDaqError } from '../../errors.js';
import { checkValue } from './checks.js';
import type { ScheduleRecord } from './record.js';
import { armNextRun, clampedTarget, nextRampStep, rampEnded, rampStartValue, rampStepValue, startRamp } from './timing.js';

/** A schedule as the scheduler holds it: its record, whether a set is in flight, when-fires queued behind it. */
export interface Runtime {
  rec: ScheduleRecord;
  busy: boolean;
  queued: number;
}

/** What a run needs of the scheduler that owns it. */
export interface RunContext {
  readonly daemon: Daemon;
  readonly log: Logger;
  /** The injected clock (a queued when-fire is stamped with the time it is sent). */
  readonly clock: () => number;
  /** The scheduler was stopped. */
  stopped(): boolean;
  /** Persist one schedule (the scheduler's serialised atomic writes). */
  persist(rec: ScheduleRecord): void;
}

export class ScheduleRunner {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly ctx: RunContext) {}

  /** The sets in flight, each until its outcome is on the record. */
  get inFlight(): ReadonlySet<Promise<unknown>> {
    return this.running;
  }

  /** A when-trigger fires: disarmed, and its set sent unless one is in flight (then retrigger decides). */
  fireTrigger(r: Runtime, now: number): void {
    const rec = r.rec;
    rec.armed = false;
    delete rec.crossingSince;
    rec.due = undefined;
    if (r.busy) {
      if (rec.spec.retrigger === 'queued') r.queued++;
      // restart: the set in flight is the one that counts; a new one follows it only if queued
      return;
    }
    this.run(r, now, rec.spec.value!);
  }

  /** A due ramp, at or every runs at `now`: its set, then its next due time (or its end). */
  async step(r: Runtime, now: number): Promise<void> {
    const rec = r.rec;
    const s = rec.spec;
    const daemon = this.ctx.daemon;
    if (s.type === 'ramp') {
      const first = rec.rampStart === undefined;
      if (rec.rampStart === undefined) {
        const dev = daemon.deviceValue(s.instrument, s.param);
        const configured = ((daemon.config.instruments?.[s.instrument]?.params ?? {}) as Record<string, ParamValue>)[s.param];
        const from = rampStartValue(s, dev, configured);
        if (from === undefined) return this.failed(rec, `no start value: ${s.instrument}.${s.param} is not known yet (give from)`, now);
        startRamp(rec, from, now);
      }
      const final = rampEnded(rec, now);
      const decl = daemon.parameterViews(s.instrument).find((d) => d.name === s.param);
      const { value, limited } = rampStepValue(rec, now, decl);
      const reached = final && !limited;
      await this.run(r, now, value, !reached);
      if (rec.state !== 'active') return;
      if (reached || (final && decl && value === clampedTarget(s.to!, decl))) {
        rec.state = 'done';
        rec.due = undefined;
      } else rec.due = nextRampStep(rec, now);
      if (final && limited) rec.due = now + s.step_ms;
      // A ramp is closed-form: its start, start value and duration are what a restart needs; the
      // steps in between are not written (1000 ramps would be 1000 writes a second).
      if (first || rec.state !== 'active') this.ctx.persist(rec);
      return;
    }
    // at, every
    rec.firedDue = rec.due;
    this.ctx.persist(rec); // at most once: recorded before the set is sent
    await this.run(r, now, s.value!);
    if (s.type === 'at') {
      if (rec.state === 'active') rec.state = rec.lastError && rec.errors > 0 && rec.lastRunAt === now ? 'failed' : 'done';
      rec.due = undefined;
    } else if (rec.state === 'active') armNextRun(rec, Math.max(now, rec.firedDue ?? now));
    this.ctx.persist(rec);
  }

  /** One set through the normal path; a failure keeps the last good value and follows on_error. */
  private run(r: Runtime, now: number, value: ParamValue, intermediate = false): Promise<void> {
    const rec = r.rec;
    const s = rec.spec;
    const { daemon, log } = this.ctx;
    r.busy = true;
    const p = (async () => {
      try {
        const decl = daemon.parameterViews(s.instrument).find((d) => d.name === s.param);
        if (decl) checkValue(decl, value);
        await daemon.submit({ type: 'instrument.set', id: s.instrument, params: { [s.param]: value }, ...(intermediate ? { persist: false } : {}) }, `schedule:${rec.id}`);
        rec.lastValue = value;
        rec.lastRunAt = now;
        rec.fires++;
        delete rec.lastError;
      } catch (err) {
        if (this.ctx.stopped() || daemon.isStopping) return;
        const e = toDaqError(err);
        rec.errors++;
        rec.lastRunAt = now;
        rec.lastError = `${e.kind}: ${e.message}`;
        log.warn({ schedule: rec.id, value, kind: e.kind }, `schedule ${rec.id}: ${s.instrument}.${s.param} = ${JSON.stringify(value)} failed (${e.message}); the last good value stays${s.on_error === 'stop' ? '; stopped (on_error = "stop")' : ''}`);
        daemon.events.emit({ type: 'command.applied', command: 'schedule.error', summary: `schedule ${rec.id}: ${rec.lastError}`, at: new Date(now).toISOString() });
        if (s.on_error === 'stop') {
          rec.state = 'failed';
          rec.due = undefined;
        }
      } finally {
        r.busy = false;
        if (r.queued > 0 && s.type === 'when' && rec.state === 'active') {
          r.queued--;
          void this.run(r, this.ctx.clock(), s.value!);
        } else if (s.type === 'when' && s.retrigger === 'single' && rec.fires > 0) {
          rec.state = 'done';
        }
        if (s.type !== 'ramp' || rec.state !== 'active') this.ctx.persist(rec);
      }
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  private failed(rec: ScheduleRecord, why: string, now: number): void {
    rec.errors++;
    rec.lastError = why;
    rec.lastRunAt = now;
    if (rec.spec.on_error === 'stop') {
      rec.state = 'failed';
      rec.due = undefined;
    } else rec.due = now + rec.spec.step_ms;
    this.ctx.persist(rec);
  }
}
