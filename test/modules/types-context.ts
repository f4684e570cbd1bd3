/**
 * A recorded ModuleContext for unit tests of module types: the hardware-free edge. emit() and
 * submit() are recorded; submit answers come from a queue of deferred results the test settles
 * when it chooses, so "in flight" is a real state the test controls. FakeSafetyLane does the same
 * for the safety lane's enforce() and records hold/release; FakeClock is time the test moves.
 */
import { pino } from 'pino';
import type { DaemonEvent } from '../../src/core/events.js';
import type { Command, CommandResult } from '../../src/core/commands.js';
import type { InstrumentInfo, ModuleContext, ModuleTypeDefinition, SafetyLane } from '../../src/modules/types.js';
import type { ModuleClock, TimerHandle } from '../../src/modules/clock.js';
import type { ParamValue, ReadingDecl, ReadingFlag } from '../../src/drivers/types.js';

/** A promise the test settles, and one that resolves once the caller's then-handlers have run. */
interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
  settled: Promise<void>;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const afterHandlers = () => new Promise<void>((r) => setImmediate(r));
  return { promise, resolve, reject, settled: promise.then(afterHandlers, afterHandlers) };
}

export interface PendingSubmit {
  command: Command;
  resolve(result?: CommandResult): void;
  reject(err: unknown): void;
  settled: Promise<void>;
}

export interface PendingEnforce {
  instrument: string;
  param: string;
  value: ParamValue;
  holder: string;
  /** Confirms the set (with the read-back value; default the value asked for). */
  resolve(confirmed?: ParamValue): void;
  reject(err: unknown): void;
  settled: Promise<void>;
}

export interface Hold {
  instrument: string;
  param: string;
  value: ParamValue;
  holder: string;
  tolerance?: number | undefined;
}

/**
 * The safety lane as a recorder: every call in order in `calls` ("hold laser.shutter=false
 * module:guard", "enforce ...", "release module:guard"), enforces pending until the test settles
 * them, and the holds in force, with the refusal the real lane would give.
 */
export class FakeSafetyLane implements SafetyLane {
  readonly calls: string[] = [];
  readonly enforces: PendingEnforce[] = [];
  private readonly inForce = new Map<string, Hold>();

  enforce(instrument: string, param: string, value: ParamValue, holder: string): Promise<ParamValue> {
    this.calls.push(`enforce ${instrument}.${param}=${String(value)} ${holder}`);
    const d = deferred<ParamValue>();
    this.enforces.push({ instrument, param, value, holder, resolve: (confirmed = value) => d.resolve(confirmed), reject: d.reject, settled: d.settled });
    return d.promise;
  }

  hold(instrument: string, param: string, value: ParamValue, holder: string, tolerance?: number): void {
    this.calls.push(`hold ${instrument}.${param}=${String(value)} ${holder}`);
    this.inForce.set(`${holder} ${instrument}.${param}`, { instrument, param, value, holder, tolerance });
  }

  release(holder: string): void {
    this.calls.push(`release ${holder}`);
    for (const [key, hold] of this.inForce) if (hold.holder === holder) this.inForce.delete(key);
  }

  get holds(): Hold[] {
    return [...this.inForce.values()];
  }

  /** The holder that refuses a set of instrument.param to value, if any (numbers: within the tolerance). */
  refuses(instrument: string, param: string, value: ParamValue): string | undefined {
    for (const hold of this.inForce.values()) {
      if (hold.instrument !== instrument || hold.param !== param) continue;
      const same =
        typeof hold.value === 'number' && typeof value === 'number' ? Math.abs(hold.value - value) <= (hold.tolerance ?? 0) : hold.value === value;
      if (!same) return hold.holder;
    }
    return undefined;
  }

  /** Confirms the latest enforce and waits until the module has seen the answer. */
  async confirmLast(confirmed?: ParamValue): Promise<void> {
    const last = this.enforces.at(-1)!;
    last.resolve(confirmed);
    await last.settled;
  }
}

/** Time the test moves by hand: advance() fires the timers that fall due, in order. */
export class FakeClock implements ModuleClock {
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;

  constructor(private t = Date.UTC(2026, 0, 1, 12, 0, 0)) {}

  now(): number {
    return this.t;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, firing each timer at its own time (timers set meanwhile included). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].callback();
    }
    this.t = end;
  }

  get pending(): number {
    return this.timers.size;
  }
}

/** Instruments' connection info the test changes (ModuleContext.instrumentInfo). */
export function instrumentInfos(pollIntervals: Record<string, number>): Map<string, InstrumentInfo> {
  return new Map(Object.entries(pollIntervals).map(([id, pollIntervalMs]) => [id, { state: 'ready', pollIntervalMs, lastError: null }]));
}

export interface FakeContext<S> extends ModuleContext<S> {
  emitted: DaemonEvent[];
  submits: PendingSubmit[];
  roles: Record<string, string>;
}

/**
 * `declared`: the readings each instrument declares (ModuleContext.readingsOf); instruments not
 * listed are unknown. Without it the context has no readingsOf, like a context built by hand.
 * `extra`: more of the context (safety, clock, instrumentInfo, previous).
 */
export function fakeContext<S>(
  type: ModuleTypeDefinition<S>,
  rawSettings: unknown,
  roles: Record<string, string>,
  id = 'm1',
  declared?: Record<string, ReadingDecl[]>,
  extra: Partial<ModuleContext<S>> = {},
): FakeContext<S> {
  const settings = type.settingsSchema.parse(rawSettings);
  const ctx: FakeContext<S> = {
    id,
    settings,
    roles: { ...roles },
    log: pino({ level: 'silent' }),
    emitted: [],
    submits: [],
    ...(declared ? { readingsOf: (instrument: string) => (Object.hasOwn(declared, instrument) ? declared[instrument] : undefined) } : {}),
    ...extra,
    emit(event) {
      ctx.emitted.push(event);
    },
    submit(command) {
      const d = deferred<CommandResult>();
      ctx.submits.push({ command, resolve: (r = {}) => d.resolve(r), reject: d.reject, settled: d.settled });
      return d.promise;
    },
  };
  return ctx;
}

/** What a reading event may say about its values besides the values (units, quality flags). */
export interface ReadingMeta {
  units?: Record<string, string>;
  flags?: Record<string, ReadingFlag>;
}

let seq = 0;
export function reading(instrument: string, values: Record<string, number | boolean | string>, ts?: number, meta: ReadingMeta = {}): DaemonEvent {
  seq += 1;
  return { type: 'reading', instrument, seq, ts: new Date(ts ?? 1_700_000_000_000 + seq * 1000).toISOString(), values, ...meta };
}

export function eventsOf<T extends DaemonEvent['type']>(ctx: FakeContext<unknown>, type: T): Extract<DaemonEvent, { type: T }>[] {
  return ctx.emitted.filter((e): e is Extract<DaemonEvent, { type: T }> => e.type === type);
}
