/**
 * Schedules and triggers (issue #22, docs/schedules.md). A service with a lifecycle owned by the
 * daemon: start (load persisted state, apply misfire policies), configure (the config's
 * `[schedules.<id>]`, hot-reloaded through Daemon.onConfigChange), stop. Every decision is made
 * from the injected clock: one timer only wakes `tick()` at the next due time (capped at 60 s, so a
 * wall-clock jump is noticed within a minute, and far below setTimeout's 2^31-1 ms limit); tests
 * call `tick()` after moving their clock. Every set goes through Daemon.submit with origin
 * `schedule:<id>`; state is persisted (atomic writes) in `<state dir>/schedules/<id>.json` with the
 * next due time in UTC.
 *
 * This class keeps the lifecycle and the bookkeeping (which schedule is due, the timer, commands,
 * persistence); what one run does is in run.ts, the timing maths in timing.ts.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigView } from '../../config/model.js';
import type { Daemon } from '../../core/daemon.js';
import type { ParamValue } from '../../drivers/types.js';
import { DaqError, describeError } from '../../errors.js';
import { atomicWriteFile } from '../../persistence/atomic-write.js';
import { scheduleSpecSchema, type ScheduleSpec } from './spec.js';
import { checkSpec } from './checks.js';
import { triggerOnReading } from './trigger.js';
import type { ScheduleRecord } from './record.js';
import { ScheduleRunner, type Runtime } from './run.js';
import { armNextRun, resumeRamp } from './timing.js';

export type { ScheduleRecord, ScheduleState } from './record.js';

export interface SchedulerOptions {
  daemon: Daemon;
  stateDir: string;
  log: Logger;
  clock: () => number;
  /** Real timers (default true); tests drive tick() themselves. */
  timers?: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const WAKE_CAP_MS = 60_000;
const JUMP_MS = 2_000;

export class Scheduler {
  private readonly items = new Map<string, Runtime>();
  private readonly dir: string;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastTick: { wall: number; mono: number } | null = null;
  private jumps = 0;
  private seq = 0;
  private readonly runner: ScheduleRunner;
  private writes: Promise<unknown> = Promise.resolve();
  private configSpecs = new Map<string, string>();
  private lastTables: unknown = undefined;
  private readonly offs: (() => void)[] = [];

  constructor(private readonly options: SchedulerOptions) {
    this.dir = join(options.stateDir, 'schedules');
    this.runner = new ScheduleRunner({
      daemon: options.daemon,
      log: options.log,
      clock: () => this.now,
      stopped: () => this.stopped,
      persist: (rec) => this.persist(rec),
    });
  }

  private get now(): number {
    return this.options.clock();
  }

  // ---- lifecycle ----

  async start(config: ConfigView): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        const raw = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as ScheduleRecord & { due?: number | string };
        const spec = scheduleSpecSchema.parse(raw.spec);
        const rec: ScheduleRecord = { ...raw, spec, ...(typeof raw.due === 'string' ? { due: Date.parse(raw.due) } : {}) } as ScheduleRecord;
        this.items.set(rec.id, { rec, busy: false, queued: 0 });
      } catch (err) {
        this.options.log.warn({ file }, `schedules: skipped ${file}: ${describeError(err)}`);
      }
    }
    for (const r of this.items.values()) this.recover(r.rec);
    this.offs.push(this.options.daemon.onSetConfirmed((id, params, origin) => this.manualSet(id, params, origin)));
    this.offs.push(this.options.daemon.events.subscribe((e) => {
      if (e.type === 'reading') this.reading(e.instrument, e.values);
      else if (e.type === 'instrument.state' && e.state === 'ready') queueMicrotask(() => void this.tick());
    }, { types: ['reading', 'instrument.state'], owner: 'scheduler' }));
    this.configure(config);
    await this.tick();
  }

  /** After a restart: misfire policies for what fell due while daqd was down; ramps resume closed-form. */
  private recover(rec: ScheduleRecord): void {
    if (rec.state !== 'active' || rec.due === undefined) return;
    const now = this.now;
    if (rec.spec.type === 'at' && rec.firedDue === rec.due) {
      // Begun before the stop: at most once, never again.
      rec.state = 'done';
      rec.note = 'fired before the restart; not run again';
      this.persist(rec);
      return;
    }
    if (rec.spec.type === 'every' && rec.firedDue === rec.due) {
      // Its run began before the stop (the set may have reached the device) and the next time was
      // never armed: that time is done. A later one missed while down follows misfire below.
      rec.note = `the run due ${new Date(rec.due).toISOString()} began before the restart; not run again`;
      armNextRun(rec, rec.due);
      this.persist(rec);
      if (rec.state !== 'active' || rec.due === undefined) return;
    }
    if (rec.due < now && (rec.spec.type === 'at' || rec.spec.type === 'every')) {
      if (rec.spec.misfire === 'skip') {
        rec.note = `missed ${new Date(rec.due).toISOString()} while daqd was down; skipped (misfire = "skip")`;
        if (rec.spec.type === 'at') rec.state = 'done';
        else armNextRun(rec, now);
      } else {
        rec.note = `missed ${new Date(rec.due).toISOString()} while daqd was down; run late (misfire = "run")`;
        rec.due = now; // once, however many were missed
      }
      this.persist(rec);
    }
  }

  /** The config's [schedules.<id>]: start new ones, stop removed ones, restart changed ones. */
  configure(config: ConfigView): void {
    if (this.stopped) return;
    const tables = ((config as Record<string, unknown>).schedules ?? {}) as Record<string, unknown>;
    // Most config changes (every recorded set) leave [schedules] as it was: the same object.
    if (tables === this.lastTables) return;
    this.lastTables = tables;
    const next = new Map<string, string>();
    for (const [id, table] of Object.entries(tables)) next.set(id, JSON.stringify(table));
    // Every config-owned schedule whose table is gone, including one persisted before a restart
    // whose table was deleted while daqd was down (configSpecs is empty then): it must not run.
    for (const [id, r] of [...this.items]) {
      if (r.rec.owner === 'config' && !next.has(id)) this.remove(id);
    }
    for (const [id, text] of next) {
      const existing = this.items.get(id);
      // Unchanged table: left alone, whatever its state (a ramp a person's set cancelled stays cancelled until the table changes).
      if (existing && existing.rec.owner === 'config' && this.configSpecs.get(id) === text) continue;
      if (existing && existing.rec.owner === 'config' && this.configSpecs.get(id) === undefined && JSON.stringify(existing.rec.spec) === JSON.stringify(scheduleSpecSchema.safeParse(JSON.parse(text)).data)) continue; // persisted state of the same table (restart)
      if (existing) this.remove(id);
      try {
        this.add(id, JSON.parse(text), 'config');
      } catch (err) {
        this.options.log.error({ schedule: id }, `schedules.${id}: ${describeError(err)}`);
      }
    }
    this.configSpecs = next;
    this.rearm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const off of this.offs) off();
    // Graceful: an in-flight step finishes (its set is already on the lane).
    await Promise.allSettled([...this.runner.inFlight]);
    await this.writes;
  }

  // ---- commands ----

  add(id: string | undefined, input: unknown, owner: string): ScheduleRecord {
    const parsed = scheduleSpecSchema.safeParse(input);
    if (!parsed.success) throw new DaqError('invalid_params', parsed.error.issues.map((i) => `${i.path.join('.') || 'schedule'}: ${i.message}`).join('; '));
    const spec = parsed.data;
    const sid = id ?? `s${this.now.toString(36)}${(this.seq++).toString(36)}`;
    if (this.items.has(sid) && this.live(this.items.get(sid)!.rec)) throw new DaqError('already_exists', `schedule "${sid}" exists (schedule.cancel it first)`);
    this.validate(spec);
    for (const other of this.items.values()) {
      const o = other.rec;
      if (o.id !== sid && this.live(o) && o.spec.instrument === spec.instrument && o.spec.param === spec.param) {
        throw new DaqError('conflict', `${spec.instrument}.${spec.param} is already under schedule "${o.id}" (${o.spec.type}); two schedules cannot hold one parameter: cancel it first`, { details: { schedule: o.id } });
      }
    }
    const now = this.now;
    const rec: ScheduleRecord = { id: sid, spec, owner, state: spec.enabled ? 'active' : 'paused', addedAt: now, fires: 0, errors: 0 };
    if (spec.type === 'at') rec.due = spec.at !== undefined ? Date.parse(spec.at) : now + spec.after_ms!;
    else if (spec.type === 'ramp') rec.due = spec.start !== undefined ? Date.parse(spec.start) : now;
    else if (spec.type === 'every') armNextRun(rec, now);
    else rec.armed = true;
    if (spec.type === 'at' && rec.due! < now && spec.misfire === 'skip') throw new DaqError('invalid_params', `at: ${spec.at} is in the past (misfire = "skip")`);
    if (!spec.enabled) rec.pausedAt = now;
    this.items.set(sid, { rec, busy: false, queued: 0 });
    this.persist(rec);
    this.rearm();
    return rec;
  }

  private ready(instrument: string): boolean {
    const instruments = this.options.daemon.config.instruments ?? {};
    // removed from the config: the step runs, fails and is reported
    return !Object.hasOwn(instruments, instrument) || this.options.daemon.isInstrumentReady(instrument);
  }

  private live(rec: ScheduleRecord): boolean {
    return rec.state === 'active' || rec.state === 'paused';
  }

  private validate(spec: ScheduleSpec): void {
    checkSpec(spec, this.options.daemon.config, this.options.daemon.parameterViews(spec.instrument));
  }

  private require(id: string): Runtime {
    const r = this.items.get(id);
    if (!r) throw new DaqError('not_found', `no schedule "${id}"`);
    return r;
  }

  cancel(id: string, why = 'cancelled'): ScheduleRecord {
    const r = this.require(id);
    if (r.rec.owner === 'config' && why === 'cancelled') throw new DaqError('conflict', `schedule "${id}" is in the config file ([schedules.${id}]): remove it there (or schedule.pause it)`);
    r.rec.state = 'cancelled';
    r.rec.note = why;
    r.rec.due = undefined;
    this.persist(r.rec);
    this.rearm();
    return r.rec;
  }

  pause(id: string, why = 'paused'): ScheduleRecord {
    const r = this.require(id);
    if (r.rec.state !== 'active') throw new DaqError('conflict', `schedule "${id}" is ${r.rec.state}`);
    r.rec.state = 'paused';
    r.rec.pausedAt = this.now;
    r.rec.note = why;
    this.persist(r.rec);
    this.rearm();
    return r.rec;
  }

  resume(id: string): ScheduleRecord {
    const r = this.require(id);
    if (r.rec.state !== 'paused') throw new DaqError('conflict', `schedule "${id}" is ${r.rec.state}, not paused`);
    const now = this.now;
    const rec = r.rec;
    const paused = now - (rec.pausedAt ?? now);
    if (rec.spec.type === 'ramp' && rec.rampStart !== undefined) {
      // The ramp goes on from where it stopped, from the device's value now (a manual set may have moved it).
      resumeRamp(rec, now, this.options.daemon.deviceValue(rec.spec.instrument, rec.spec.param));
    } else if (rec.spec.type === 'every') armNextRun(rec, now);
    else if (rec.spec.type === 'ramp' && rec.due !== undefined) rec.due += paused;
    rec.state = 'active';
    delete rec.pausedAt;
    rec.note = 'resumed';
    this.persist(rec);
    this.rearm();
    return rec;
  }

  /**
   * Forgets a schedule and deletes its state file after the writes already queued: deleted at
   * once, a queued write (or a run still in flight persisting its outcome) put the file back, and
   * the schedule came back at the next start.
   */
  private remove(id: string): void {
    this.items.delete(id);
    const path = join(this.dir, `${id}.json`);
    this.writes = this.writes.then(() => rm(path, { force: true }).catch((err) => this.options.log.error({ err }, `schedules: could not delete ${path}: ${describeError(err)}`)));
  }

  list(): ReturnType<Scheduler['view']>[] {
    return [...this.items.values()].map((r) => this.view(r.rec));
  }

  get(id: string) {
    return this.view(this.require(id).rec);
  }

  view(rec: ScheduleRecord) {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    return {
      id: rec.id,
      type: rec.spec.type,
      instrument: rec.spec.instrument,
      param: rec.spec.param,
      state: rec.state,
      owner: rec.owner,
      ...(rec.due !== undefined && this.live(rec) ? { nextDue: iso(rec.due) } : {}),
      ...(rec.lastValue !== undefined ? { lastValue: rec.lastValue } : {}),
      ...(rec.lastRunAt !== undefined ? { lastRunAt: iso(rec.lastRunAt) } : {}),
      ...(rec.lastError ? { lastError: rec.lastError } : {}),
      fires: rec.fires,
      errors: rec.errors,
      ...(rec.note ? { note: rec.note } : {}),
      spec: rec.spec,
    };
  }

  status() {
    const byState: Record<string, number> = {};
    for (const r of this.items.values()) byState[r.rec.state] = (byState[r.rec.state] ?? 0) + 1;
    return { total: this.items.size, ...byState, clockJumps: this.jumps };
  }

  // ---- the manual-set rule ----

  private manualSet(instrument: string, params: Record<string, ParamValue>, origin: string) {
    const said: { id: string; action: string }[] = [];
    if (origin.startsWith('schedule:') && this.items.get(origin.slice(9))?.rec.spec.instrument === instrument && Object.keys(params).length === 1) return undefined; // a schedule's own step
    for (const r of this.items.values()) {
      const rec = r.rec;
      if (rec.state !== 'active' || rec.spec.type !== 'ramp' || rec.spec.instrument !== instrument || !Object.hasOwn(params, rec.spec.param)) continue;
      if (origin === `schedule:${rec.id}`) continue;
      const why = `${rec.spec.param} was set by ${origin} (on_manual = "${rec.spec.on_manual}")`;
      if (rec.spec.on_manual === 'pause') {
        this.pause(rec.id, why);
        said.push({ id: rec.id, action: 'paused' });
      } else {
        rec.state = 'cancelled';
        rec.note = why;
        rec.due = undefined;
        this.persist(rec);
        said.push({ id: rec.id, action: 'cancelled' });
      }
    }
    if (said.length === 0) return undefined;
    this.rearm();
    return { answer: { schedules: said }, note: said.map((s) => `${s.action} schedule ${s.id}`).join('; ') };
  }

  // ---- triggers ----

  private reading(instrument: string, values: Record<string, ParamValue>): void {
    if (this.stopped) return;
    const now = this.now;
    for (const r of this.items.values()) {
      const rec = r.rec;
      const s = rec.spec;
      if (s.type !== 'when' || rec.state !== 'active' || (s.source ?? s.instrument) !== instrument || !Object.hasOwn(values, s.reading!)) continue;
      const v = values[s.reading!];
      if (typeof v !== 'number') continue;
      const decision = triggerOnReading(s, rec, v, now);
      if (decision === 'rearmed') this.persist(rec);
      else if (decision === 'holding') this.rearm();
      else if (decision === 'fire') this.runner.fireTrigger(r, now);
    }
  }

  // ---- time ----

  /** Run what is due as of the clock now; re-arm the timer. Tests call it after moving the clock. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const wall = this.now;
    const mono = performance.now();
    if (this.lastTick && this.options.timers !== false) {
      const drift = wall - this.lastTick.wall - (mono - this.lastTick.mono);
      if (Math.abs(drift) > JUMP_MS) this.clockJumped(drift, wall);
    }
    this.lastTick = { wall, mono };
    const runs: Promise<unknown>[] = [];
    for (const r of this.items.values()) {
      const rec = r.rec;
      if (rec.state !== 'active' || r.busy || rec.due === undefined || rec.due > wall) continue;
      if (rec.spec.type === 'when') {
        if (rec.armed && rec.crossingSince !== undefined && wall - rec.crossingSince >= rec.spec.hold_ms) {
          // hold met with no new reading: the crossing still stands (the last reading said so)
          this.runner.fireTrigger(r, wall);
          runs.push(...this.runner.inFlight);
        } else rec.due = undefined;
        continue;
      }
      // An instrument still connecting (start-up, a reconnect) is waited for: the step runs when it
      // is ready (the instrument.state event ticks), after its setpoints were restored.
      if (!this.ready(rec.spec.instrument)) continue;
      runs.push(this.runner.step(r, wall));
    }
    await Promise.allSettled(runs);
    this.rearm();
  }

  /** Call when the wall clock jumped (detected, or told by a test): every/at times are recomputed. */
  clockJumped(driftMs: number, now = this.now): void {
    this.jumps++;
    this.options.log.warn({ driftMs }, `schedules: the wall clock jumped by ${Math.round(driftMs / 1000)} s; next times recomputed`);
    for (const r of this.items.values()) {
      if (r.rec.state === 'active' && r.rec.spec.type === 'every' && r.rec.due !== undefined && (driftMs < 0 || r.rec.due < now - JUMP_MS)) {
        // backwards: the next time after now (nothing runs twice); forwards: misfire policy once
        if (driftMs > 0 && r.rec.spec.misfire === 'run') r.rec.due = now;
        else armNextRun(r.rec, Math.max(now, r.rec.firedDue ?? now)); // never a time already run
        this.persist(r.rec);
      }
    }
  }

  private rearm(): void {
    if (this.stopped || this.options.timers === false) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let due = Infinity;
    for (const r of this.items.values()) if (r.rec.state === 'active' && r.rec.due !== undefined && !r.busy && (r.rec.due > this.now || this.ready(r.rec.spec.instrument))) due = Math.min(due, r.rec.due);
    const delay = Math.min(Math.max(0, (Number.isFinite(due) ? due : this.now + WAKE_CAP_MS) - this.now), WAKE_CAP_MS, MAX_TIMER_MS);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref?.();
  }

  /** Persist one schedule (atomic write; writes are serialised so the last state wins). */
  private persist(rec: ScheduleRecord): void {
    // A schedule removed (or replaced under its id) meanwhile: its late outcome is not written back.
    if (this.items.get(rec.id)?.rec !== rec) return;
    const text = `${JSON.stringify({ ...rec, ...(rec.due !== undefined ? { due: new Date(rec.due).toISOString() } : {}) }, null, 1)}\n`;
    const path = join(this.dir, `${rec.id}.json`);
    this.writes = this.writes.then(
      () => atomicWriteFile(path, text).catch((err) => this.options.log.error({ err }, `schedules: could not write ${path}: ${describeError(err)}`)),
    );
  }

  /** Resolves once every set in flight is done and its state written (tests). */
  async idle(): Promise<void> {
    while (this.runner.inFlight.size > 0) await Promise.allSettled([...this.runner.inFlight]);
    await this.writes;
  }

  /** Resolves once every state write queued so far is on disk (tests, stop). */
  flushed(): Promise<unknown> {
    return this.writes;
  }
}
