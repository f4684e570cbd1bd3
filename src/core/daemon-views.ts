/**
 * The read-only views of instruments and modules (instrument.list/get/deps, module.list/get, what
 * MQTT, the HTTP API and daemon.status show) and the wait for an instrument's connection. Kept out
 * of daemon.ts, which wires the parts together: answering reads is one job, with its own rules:
 * - reads never queue: they read the running config (which ids exist) and the supervisors' views,
 *   so an answer never waits behind a config change; only instrument.get with `refresh` waits, on
 *   the device's own lane;
 * - the config says what exists: an id it does not hold is `not_found`, and an instrument it holds
 *   without an actor (not there yet, or no longer) is shown `stopped`, from its table;
 * - key order is part of the answer (people read it, tests compare JSON text): a running
 *   instrument's `revision` comes after its view's keys, a stopped one's before them, as it always has;
 * - nothing here changes the daemon.
 */
import type { ConfigView } from '../config/model.js';
import { instrumentsOf, modulesOf } from '../config/model.js';
import { DaqError } from '../errors.js';
import { dependentsOf } from '../modules/graph.js';
import type { ModuleSupervisor, ModuleView } from '../modules/supervisor.js';
import type { EventBus } from './events.js';
import type { InstrumentSupervisor, InstrumentView, ParameterView } from './manager/supervisor.js';
import { describeOverrides, overridesOf, type OverrideView } from './overrides.js';
import type { ConfigPersister } from './persister.js';
import type { Revisions } from './revisions.js';
import { sameKeys } from './status-memo.js';

/** The daemon's parts that the views read (the daemon's own, handed over when it is built). */
export interface ViewParts {
  events: EventBus;
  instruments: InstrumentSupervisor;
  modules: ModuleSupervisor;
  revisions: Revisions;
  /** The running config. */
  config(): ConfigView;
  /** The model the file should hold (memory-only changes are the difference). */
  persister: Pick<ConfigPersister, 'desiredModel'>;
}

/** Where an instrument's connection got to (waitForConnection), with the connect error if it failed. */
export interface ConnectionOutcome {
  state: string;
  error?: { kind: string; message: string };
}

/** instrument.get's answer. */
export type InstrumentDescription = InstrumentView & { revision: number; configRevision: number; parameters: ParameterView[]; overrides: OverrideView[] };

export class DaemonViews {
  /**
   * instrument.get's last answer per instrument, with the stamp it was made at (issue 25: scripts
   * and dashboards ask it in loops, and building it was most of a request's cost). Reused only
   * while every part of the stamp is the same value or object: what the supervisor's viewStamp
   * covers (actor snapshot, configured values, poll counters, device values, the operation in
   * flight, holds), the revisions, and the running and desired configs. Emptied when the running
   * config changes, so an instrument that went away leaves nothing behind.
   */
  private readonly described = new Map<string, { stamp: unknown[]; value: InstrumentDescription }>();
  private describedFor: ConfigView | undefined;

  constructor(private readonly parts: ViewParts) {}

  listInstruments(): InstrumentView[] {
    return Object.keys(instrumentsOf(this.parts.config())).map((id) => this.getInstrument(id));
  }

  getInstrument(id: string): InstrumentView & { revision: number } {
    const table = this.requireInstrument(id);
    const view = this.parts.instruments.view(id);
    const revision = this.parts.revisions.item('instruments', id);
    if (view) return { ...view, revision };
    return {
      revision,
      id,
      driver: table.driver,
      port: table.port,
      state: 'stopped',
      pollIntervalMs: 0,
      params: { ...(table.params ?? {}) },
      device: {},
      deviceAt: null,
      drift: {},
      holds: [],
      busy: null,
      lastReading: null,
      lastError: null,
      polls: 0,
      pollErrors: 0,
    };
  }

  /**
   * instrument.get: the view plus each parameter's declaration, configured and device value.
   * `refresh` asks the device first (through its lane, after what is queued there).
   */
  async describeInstrument(id: string, refresh = false) {
    this.requireInstrument(id);
    const { instruments } = this.parts;
    if (refresh && instruments.isReady(id)) {
      const names = instruments.parameters(id).filter((p) => p.readBack).map((p) => p.name);
      if (names.length > 0) await instruments.readDevice(id, names);
    }
    const config = this.parts.config();
    if (config !== this.describedFor) {
      this.described.clear();
      this.describedFor = config;
    }
    const stamp = instruments.viewStamp(id) ?? [undefined];
    stamp.push(this.parts.revisions.item('instruments', id), this.parts.revisions.current, this.parts.persister.desiredModel);
    const last = this.described.get(id);
    if (last && sameKeys(last.stamp, stamp)) return last.value;
    // Never edited once made: the next caller may get this very object.
    const value: InstrumentDescription = { ...this.getInstrument(id), configRevision: this.parts.revisions.current, parameters: instruments.parameters(id), overrides: this.overrides(id) };
    this.described.set(id, { stamp, value });
    return value;
  }

  /**
   * Every module of the running config that the module supervisor holds, in config order. While a
   * command is applying, the supervisor can be a step ahead of the running config (a module it
   * removed or is replacing, still in the config until the command ends): such a module is left out
   * of the list for that moment, rather than failing the whole list (and daemon.status with it).
   */
  listModules(): ModuleView[] {
    const out: ModuleView[] = [];
    for (const id of Object.keys(modulesOf(this.parts.config()))) {
      const view = this.parts.modules.view(id);
      if (view) out.push({ ...view, revision: this.parts.revisions.item('modules', id) } as ModuleView);
    }
    return out;
  }

  getModule(id: string): ModuleView & { revision: number } {
    const view = this.parts.modules.view(id);
    if (!view) throw new DaqError('not_found', `no module "${id}"`);
    return { ...view, revision: this.parts.revisions.item('modules', id) };
  }

  dependencies(id: string) {
    this.requireInstrument(id);
    return { instrument: id, usedBy: dependentsOf(this.parts.config(), id) };
  }

  /**
   * Wait until an instrument is ready or has failed to connect (error), or `timeoutMs` passed.
   * Answers with the state it is in then, and the connect error if there was one.
   */
  waitForConnection(id: string, timeoutMs: number): Promise<ConnectionOutcome> {
    const { instruments } = this.parts;
    return new Promise((resolve) => {
      const settle = () => {
        const view = instruments.view(id);
        if (!view) return { state: 'stopped' };
        if (view.state === 'ready' || view.state === 'disabled' || view.state === 'stopped') return { state: view.state };
        if (view.state === 'error') return { state: view.state, ...(view.lastError ? { error: { kind: view.lastError.kind, message: view.lastError.message } } : {}) };
        return undefined;
      };
      const now = settle();
      if (now) return resolve(now);
      const timer = setTimeout(() => {
        off();
        resolve(settle() ?? { state: instruments.view(id)?.state ?? 'stopped' });
      }, timeoutMs);
      const off = this.parts.events.subscribe((event) => {
        if (event.type !== 'instrument.state' || event.instrument !== id) return;
        const done = settle();
        if (!done) return;
        clearTimeout(timer);
        queueMicrotask(off);
        resolve(done);
      });
    });
  }

  /** The instrument's table in the running config; `not_found` if it holds none. */
  requireInstrument(id: string) {
    const instruments = this.parts.config().instruments;
    const table = instruments && Object.hasOwn(instruments, id) ? instruments[id] : undefined;
    if (!table) throw new DaqError('not_found', `no instrument "${id}"`);
    return table;
  }

  /** Memory-only changes on top of the file (persist: false, or persistence off), optionally of one instrument. */
  overrides(instrument?: string): OverrideView[] {
    const ops = overridesOf(this.parts.persister.desiredModel, this.parts.config());
    const mine = instrument === undefined ? ops : ops.filter((op) => op.path[0] === 'instruments' && op.path[1] === instrument);
    return describeOverrides(mine);
  }
}
