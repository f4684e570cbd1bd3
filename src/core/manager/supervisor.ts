/**
 * The instrument side of the manager: spawns and stops the instrument actors and talks to
 * them. Implements InstrumentRuntime for applyDiff, and gives read-only views for status/list
 * that never wait on a device.
 */
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import type { ParamDecl, ParamValue } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import { DaqError } from '../../errors.js';
import type { InstrumentRuntime } from '../apply/apply.js';
import type { EventBus, InstrumentState } from '../events.js';
import { instrumentMachine, notReady, type InstrumentDeps, type ErrorInfo, type LastReading, type SetJob } from '../instrument/machine.js';
import type { AbortOutcome } from '../instrument/set-queue.js';
import type { ReadingEvent } from '../instrument/poll-loop.js';
import type { Logger } from 'pino';
import type { PortHub } from '../../transport/port-hub.js';

type InstrumentSnapshot = SnapshotFrom<typeof instrumentMachine>;
type InstrumentActor = Actor<typeof instrumentMachine>;

export interface InstrumentView {
  id: string;
  driver: string;
  port: string;
  state: InstrumentState;
  pollIntervalMs: number;
  /** The configured values (what the running config asks for). */
  params: Record<string, ParamValue>;
  /** What the device last confirmed or reported (read back after connecting, after each set, in readings). */
  device: Record<string, ParamValue>;
  deviceAt: string | null;
  /** Setpoints whose device value differs from the configured one. */
  drift: Record<string, { configured: ParamValue; device: ParamValue }>;
  /** Interlock holds on this instrument's parameters. */
  holds: { param: string; value: ParamValue; holder: string }[];
  /** The operation on the device now (a move), if any. */
  busy: { params: string[]; since: string } | null;
  lastReading: LastReading | null;
  lastError: ErrorInfo | null;
  polls: number;
  pollErrors: number;
}

/** One parameter of instrument.get: declaration, configured and device value. */
export interface ParameterView {
  name: string;
  kind: ParamDecl['kind'];
  type: ParamDecl['type'];
  unit?: string;
  min?: number;
  max?: number;
  values?: readonly (string | number)[];
  readBack: boolean;
  configured?: ParamValue;
  device?: ParamValue;
  drift: boolean;
}

/** Guards every non-safety set (interlock holds): throws `unsafe` before anything is sent. */
export type SetGuard = (id: string, params: Readonly<Record<string, ParamValue>>) => void;
export type HoldsOf = (id: string) => { param: string; value: ParamValue; holder: string }[];

/** Whether a device value differs from the configured one (numbers: beyond rounding of the read-back). */
export function drifts(configured: ParamValue, device: ParamValue): boolean {
  if (typeof configured === 'number' && typeof device === 'number') {
    return Math.abs(configured - device) > Math.max(1e-9, Math.abs(configured) * 1e-6);
  }
  return configured !== device;
}

export function stateOf(snapshot: InstrumentSnapshot): InstrumentState {
  if (snapshot.status === 'done') return 'stopped';
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as InstrumentState;
}

/**
 * Owns one actor per instrument. Each is a root actor of its own (not a child of the manager
 * machine): xstate copies a parent's whole `children` map on every spawn and stop, and scans every
 * delay scheduled in an actor system whenever any actor in it stops; with 1000 instruments as
 * children, start-up and shutdown were quadratic (issue #25). Independent actors cost neither.
 */
export class InstrumentSupervisor implements InstrumentRuntime {
  private readonly actors = new Map<string, InstrumentActor>();
  private readonly unsubscribe = new Map<string, () => void>();
  private guard: SetGuard = () => {};
  /**
   * `daqd --safe`: every instrument runs as if `enabled = false` (port closed), in memory only (the
   * config and the file keep their `enabled`), until instrument.enable releases it. Holds the ids
   * released so far; null when not in safe mode (or once every instrument was released).
   */
  private safe: Set<string> | null = null;
  private holdsOf: HoldsOf = () => [];
  private holdsVersion: () => number = () => 0;

  constructor(
    private readonly hub: PortHub,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  /** The safety lane's holds: checked before every set that is not the safety lane's own. `version` counts their changes. */
  useHolds(guard: SetGuard, holdsOf: HoldsOf, version: () => number): void {
    this.guard = guard;
    this.holdsOf = holdsOf;
    this.holdsVersion = version;
  }

  private context(id: string): InstrumentSnapshot['context'] | undefined {
    return (this.ref(id)?.getSnapshot() as InstrumentSnapshot | undefined)?.context;
  }

  private ref(id: string): InstrumentActor | undefined {
    return this.actors.get(id);
  }

  private require(id: string): InstrumentActor {
    const ref = this.ref(id);
    if (!ref) throw new DaqError('not_found', `no running instrument "${id}"`);
    return ref;
  }

  ids(): string[] {
    return [...this.actors.keys()];
  }

  enterSafeMode(): void {
    this.safe = new Set();
  }

  get safeMode(): boolean {
    return this.safe !== null;
  }

  /** Whether safe mode keeps this instrument stopped. */
  isHeld(id: string): boolean {
    return this.safe !== null && !this.safe.has(id);
  }

  heldIds(): string[] {
    return this.ids().filter((id) => this.isHeld(id));
  }

  /** Safe mode releases `id`: it runs as its config says (`spec`). Safe mode ends with the last one. */
  release(id: string, spec: InstrumentSpec | undefined): boolean {
    if (!this.isHeld(id)) return false;
    this.safe!.add(id);
    if (spec && this.ref(id)) this.reconfigure(id, spec);
    if (this.ids().every((i) => !this.isHeld(i))) this.safe = null;
    return true;
  }

  /** The spec an actor gets: disabled while safe mode holds it. */
  private effective(spec: InstrumentSpec): InstrumentSpec {
    return spec.enabled && this.isHeld(spec.id) ? { ...spec, enabled: false } : spec;
  }

  spawn(input: InstrumentSpec): void {
    const spec = this.effective(input);
    if (this.ref(spec.id)) throw new DaqError('already_exists', `instrument "${spec.id}" is already running`);
    const deps: InstrumentDeps = { hub: this.hub, events: this.events, log: this.log.child({ instrument: spec.id }) };
    const ref = createActor(instrumentMachine, { input: { spec, deps } });
    this.actors.set(spec.id, ref);
    let last: InstrumentState | undefined;
    const onSnapshot = (snapshot: InstrumentSnapshot) => {
      const state = stateOf(snapshot);
      if (state === last) return;
      last = state;
      const err = state === 'error' ? snapshot.context.counters.lastError : null;
      this.events.emit({ type: 'instrument.state', instrument: spec.id, state, ...(err ? { error: { kind: err.kind, message: err.message } } : {}) });
    };
    // A root actor whose error nobody observes would be rethrown and end the process: log it instead.
    const sub = ref.subscribe({
      next: onSnapshot,
      error: (err) => deps.log.error({ err }, 'instrument actor failed (a bug): it is stopped; daqctl restart or a reload starts it again'),
    });
    this.unsubscribe.set(spec.id, () => sub.unsubscribe());
    this.events.emit({ type: 'instrument.added', instrument: spec.id });
    ref.start(); // reports the state it starts in (connecting, or disabled) to onSnapshot
    onSnapshot(ref.getSnapshot() as InstrumentSnapshot);
  }

  async stop(id: string): Promise<void> {
    const ref = this.ref(id);
    if (!ref) return;
    const done = new Promise<void>((resolve) => {
      if (ref.getSnapshot().status === 'done') return resolve();
      const sub = ref.subscribe({
        next: (s: InstrumentSnapshot) => {
          if (s.status === 'done') {
            sub.unsubscribe();
            resolve();
          }
        },
        error: () => resolve(),
        complete: () => resolve(),
      });
    });
    ref.send({ type: 'stop' });
    await done;
    this.unsubscribe.get(id)?.();
    this.unsubscribe.delete(id);
    ref.stop();
    this.actors.delete(id);
    this.events.emit({ type: 'instrument.removed', instrument: id });
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.stop(id)));
  }

  reconfigure(id: string, spec: InstrumentSpec): void {
    this.require(id).send({ type: 'reconfigure', spec: this.effective(spec) });
  }

  /**
   * A command to the device: the values are written and confirmed even if the device (or the
   * config) already holds them. Refused with `unsafe` (nothing sent) if an interlock holds one.
   */
  setParams(id: string, params: Record<string, ParamValue>): Promise<Record<string, ParamValue>> {
    try {
      this.guard(id, params);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.run(id, { params, reply: undefined! });
  }

  /** Read the named parameters back from the device (through its lane, after what is queued). */
  readDevice(id: string, names: readonly string[]): Promise<Record<string, ParamValue>> {
    return this.run(id, { params: {}, read: names, reply: undefined! });
  }

  private run(id: string, job: SetJob): Promise<Record<string, ParamValue>> {
    const ref = this.require(id);
    const snapshot = ref.getSnapshot() as InstrumentSnapshot;
    return new Promise((resolve, reject) => {
      job.reply = { resolve, reject };
      // The hot path: a ready instrument's set goes to its lane (and the device) now, without an
      // event through the machine; otherwise the machine answers it (not_ready, with the reason).
      if (stateOf(snapshot) === 'ready') snapshot.context.sets.enqueue(job);
      else ref.send({ type: 'params.set', job });
    });
  }

  /** The safety lane's write: aborts what runs, fails what is queued, goes next. Holds do not apply. */
  enforce(id: string, params: Record<string, ParamValue>, why: string): Promise<Record<string, ParamValue>> {
    const ref = this.ref(id);
    if (!ref) return Promise.reject(new DaqError('not_found', `no running instrument "${id}"`));
    const snapshot = ref.getSnapshot() as InstrumentSnapshot;
    return new Promise((resolve, reject) => {
      const job: SetJob = { params, reply: { resolve, reject } };
      if (stateOf(snapshot) === 'ready') snapshot.context.sets.enqueueUrgent(job, `aborted by a safety action (${why})`);
      else reject(notReady(snapshot.context));
    });
  }

  /** instrument.abort: stop the operation in flight and fail the queued sets with `aborted`. */
  abort(id: string, why: string): AbortOutcome {
    const snapshot = this.require(id).getSnapshot() as InstrumentSnapshot;
    return snapshot.context.sets.abort(why);
  }

  /** Abort every instrument's operation in flight (shutdown). */
  abortAll(why: string): void {
    for (const id of this.ids()) this.context(id)?.sets.abort(why);
  }

  /** The config's values changed without device I/O (a set already sent them): what a reconnect restores. */
  adopt(id: string, params: Record<string, ParamValue>): void {
    const c = this.context(id);
    if (c) c.configured.params = params;
  }

  setPollInterval(id: string, ms: number): void {
    this.require(id).send({ type: 'poll.interval', ms });
  }

  isReady(id: string): boolean {
    const ref = this.ref(id);
    return !!ref && stateOf(ref.getSnapshot()) === 'ready';
  }

  spec(id: string): InstrumentSpec | undefined {
    return (this.ref(id)?.getSnapshot() as InstrumentSnapshot | undefined)?.context.spec;
  }

  /** What the device holds as far as it told daqd (confirmed, read back or in a reading); never the config. */
  deviceValue(id: string, name: string): ParamValue | undefined {
    return this.context(id)?.sets.deviceValue(name);
  }

  /** Declarations with configured and device values, for instrument.get. */
  parameters(id: string): ParameterView[] {
    const c = this.context(id);
    if (!c) return [];
    const out: ParameterView[] = [];
    // Built key by key, in the order the answer shows them (no spread of a temporary object per
    // optional key: instrument.get is asked in loops, issue 25).
    for (const d of c.spec.driver.params(c.spec.options)) {
      if (d.settable === 'never') continue;
      const configured = Object.hasOwn(c.configured.params, d.name) ? c.configured.params[d.name] : undefined;
      const onDevice = c.sets.deviceValue(d.name);
      const view = { name: d.name, kind: d.kind, type: d.type } as ParameterView & Record<string, unknown>;
      if (d.unit) view.unit = d.unit;
      if (d.min !== undefined) view.min = d.min;
      if (d.max !== undefined) view.max = d.max;
      if (d.values) view.values = d.values;
      view.readBack = d.readBack;
      if (configured !== undefined) view.configured = configured;
      if (onDevice !== undefined) view.device = onDevice;
      view.drift = d.kind === 'setpoint' && configured !== undefined && onDevice !== undefined && drifts(configured, onDevice);
      out.push(view);
    }
    return out;
  }

  /**
   * Everything view(id) and parameters(id) are made of, as values and identities: while a stamp
   * stays equal element by element, so do the views (DaemonViews reuses instrument.get's answer on
   * it). The actor's snapshot covers its state, spec and the lane itself; the rest is what is
   * written in place without an xstate event: the configured box, the poll counters, the lane's
   * device values and operation, and the holds. Undefined without an actor.
   */
  viewStamp(id: string): unknown[] | undefined {
    const ref = this.ref(id);
    if (!ref) return undefined;
    const snapshot = ref.getSnapshot() as InstrumentSnapshot;
    const c = snapshot.context;
    const { counters, sets } = c;
    return [snapshot, c.configured.params, counters.lastReading, counters.lastError, counters.polls, counters.pollErrors, sets.deviceVersion, sets.busyJob, sets.busySince, this.holdsVersion()];
  }

  view(id: string): InstrumentView | undefined {
    const ref = this.ref(id);
    if (!ref) return undefined;
    const snapshot = ref.getSnapshot() as InstrumentSnapshot;
    const c = snapshot.context;
    const device = c.sets.deviceValues();
    const drift: InstrumentView['drift'] = {};
    for (const decl of c.spec.driver.params(c.spec.options)) {
      if (decl.kind !== 'setpoint' || !Object.hasOwn(c.configured.params, decl.name) || !Object.hasOwn(device.values, decl.name)) continue;
      const configured = c.configured.params[decl.name]!;
      const onDevice = device.values[decl.name]!;
      if (drifts(configured, onDevice)) drift[decl.name] = { configured, device: onDevice };
    }
    const busy = c.sets.busy();
    return {
      id,
      driver: c.spec.driver.name,
      port: c.spec.port,
      state: stateOf(snapshot),
      pollIntervalMs: c.spec.pollIntervalMs,
      params: { ...c.configured.params },
      device: device.values,
      deviceAt: device.at,
      drift,
      holds: this.holdsOf(id),
      busy: busy && !busy.read ? { params: busy.params, since: busy.since } : null,
      lastReading: lastReadingOf(c.counters.lastReading),
      lastError: c.counters.lastError,
      polls: c.counters.polls,
      pollErrors: c.counters.pollErrors,
    };
  }
}

/** The reading event as `lastReading` shows it: without its routing fields. */
function lastReadingOf(event: ReadingEvent | null): LastReading | null {
  if (!event) return null;
  const { type: _type, instrument: _instrument, ...reading } = event;
  return reading;
}
