/**
 * The instrument side of the manager: spawns and stops the manager's child actors and talks to
 * them. Implements InstrumentRuntime for applyDiff, and gives read-only views for status/list
 * that never wait on a device.
 */
import type { Actor, AnyActorRef, SnapshotFrom } from 'xstate';
import type { ParamValue } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import { DaqError } from '../../errors.js';
import type { InstrumentRuntime } from '../apply/apply.js';
import type { EventBus, InstrumentState } from '../events.js';
import type { InstrumentDeps, instrumentMachine, ErrorInfo, LastReading } from '../instrument/machine.js';
import type { createManagerMachine } from './machine.js';
import type { Logger } from 'pino';
import type { PortHub } from '../../transport/port-hub.js';

type InstrumentSnapshot = SnapshotFrom<typeof instrumentMachine>;
type ManagerActor = Actor<ReturnType<typeof createManagerMachine>>;

export interface InstrumentView {
  id: string;
  driver: string;
  port: string;
  state: InstrumentState;
  pollIntervalMs: number;
  params: Record<string, ParamValue>;
  lastReading: LastReading | null;
  lastError: ErrorInfo | null;
  polls: number;
  pollErrors: number;
}

export function stateOf(snapshot: InstrumentSnapshot): InstrumentState {
  if (snapshot.status === 'done') return 'stopped';
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as InstrumentState;
}

export class InstrumentSupervisor implements InstrumentRuntime {
  private manager!: ManagerActor;
  private readonly unsubscribe = new Map<string, () => void>();

  constructor(
    private readonly hub: PortHub,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  attach(manager: ManagerActor): void {
    this.manager = manager;
  }

  private ref(id: string): AnyActorRef | undefined {
    return this.manager.getSnapshot().children[id] as AnyActorRef | undefined;
  }

  private require(id: string): AnyActorRef {
    const ref = this.ref(id);
    if (!ref) throw new DaqError('not_found', `no running instrument "${id}"`);
    return ref;
  }

  ids(): string[] {
    return Object.keys(this.manager.getSnapshot().children).filter((id) => this.ref(id)?.getSnapshot().context?.spec);
  }

  spawn(spec: InstrumentSpec): void {
    if (this.ref(spec.id)) throw new DaqError('already_exists', `instrument "${spec.id}" is already running`);
    const deps: InstrumentDeps = { hub: this.hub, events: this.events, log: this.log.child({ instrument: spec.id }) };
    this.manager.send({ type: 'instrument.spawn', spec, deps });
    const ref = this.require(spec.id);
    let last: InstrumentState | undefined;
    const onSnapshot = (snapshot: InstrumentSnapshot) => {
      const state = stateOf(snapshot);
      if (state === last) return;
      last = state;
      const err = state === 'error' ? snapshot.context.lastError : null;
      this.events.emit({ type: 'instrument.state', instrument: spec.id, state, ...(err ? { error: { kind: err.kind, message: err.message } } : {}) });
    };
    const sub = ref.subscribe(onSnapshot);
    this.unsubscribe.set(spec.id, () => sub.unsubscribe());
    this.events.emit({ type: 'instrument.added', instrument: spec.id });
    // subscribe() reports changes only: report the state it starts in (connecting) too.
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
    this.manager.send({ type: 'instrument.release', id });
    this.events.emit({ type: 'instrument.removed', instrument: id });
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.stop(id)));
  }

  reconfigure(id: string, spec: InstrumentSpec): void {
    this.require(id).send({ type: 'reconfigure', spec });
  }

  setParams(id: string, params: Record<string, ParamValue>): Promise<Record<string, ParamValue>> {
    const ref = this.require(id);
    const snapshot = ref.getSnapshot() as InstrumentSnapshot;
    return new Promise((resolve, reject) => {
      const job = { params, reply: { resolve, reject } };
      // The hot path: a ready instrument's set goes to its queue (and the device) now, without an
      // event through the machine; otherwise the machine answers it (not_ready, with the reason).
      if (stateOf(snapshot) === 'ready') snapshot.context.sets.enqueue(job);
      else ref.send({ type: 'params.set', job });
    });
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

  currentValue(id: string, name: string): ParamValue | undefined {
    const c = (this.ref(id)?.getSnapshot() as InstrumentSnapshot | undefined)?.context;
    return c?.spec.params[name] ?? c?.lastReading?.values[name];
  }

  view(id: string): InstrumentView | undefined {
    const ref = this.ref(id);
    if (!ref) return undefined;
    const snapshot = ref.getSnapshot() as InstrumentSnapshot;
    const c = snapshot.context;
    return {
      id,
      driver: c.spec.driver.name,
      port: c.spec.port,
      state: stateOf(snapshot),
      pollIntervalMs: c.spec.pollIntervalMs,
      params: { ...c.spec.params },
      lastReading: c.lastReading,
      lastError: c.lastError,
      polls: c.polls,
      pollErrors: c.pollErrors,
    };
  }
}
