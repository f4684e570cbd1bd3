/**
 * daemon.status: one answer read from every part of the daemon (config queue, revisions,
 * persistence, last reload, instrument and module views, trouble, ports, overrides) plus the status
 * sources that services register (recorder, MQTT, transactions, versions, schedules, and those
 * wired outside: watcher, HTTP, systemd). Kept out of daemon.ts, which wires the parts together:
 * building this answer is one job, and a delicate one:
 * - its keys come in a fixed order (people read it in `daqctl status`, tests compare its JSON byte
 *   for byte): the daemon's own keys first, then the sources in the order they were added;
 * - scripts ask for it in loops, so its aggregate half is reused through status-memo.ts, keyed by
 *   exactly what it is made of;
 * - it only reads: nothing here changes the daemon, queues or waits on a device.
 */
import type { ModuleSupervisor } from '../modules/supervisor.js';
import type { PortHub } from '../transport/port-hub.js';
import { VERSION } from '../version.js';
import type { DaemonOptions } from './daemon.js';
import type { EventBus } from './events.js';
import type { Services } from './execution.js';
import type { ReloadStatus } from './handlers/config.js';
import type { ManagerContext } from './manager/machine.js';
import type { InstrumentSupervisor } from './manager/supervisor.js';
import type { DaemonViews } from './daemon-views.js';
import type { ConfigPersister } from './persister.js';
import type { Revisions } from './revisions.js';
import { statusMemoOf } from './status-memo.js';
import { ConfigFileCheck, troubleOf } from './trouble.js';
import type { TxManager } from './tx/manager.js';

/** The daemon's parts that status reads (the daemon's own, handed over when it is built). */
export interface StatusParts {
  options: Pick<DaemonOptions, 'configPath' | 'stateDir' | 'clock'>;
  startedAt: number;
  events: EventBus;
  manager: { getSnapshot(): { context: ManagerContext } };
  persister: ConfigPersister;
  revisions: Revisions;
  services: Pick<Services, 'reloads'>;
  instruments: InstrumentSupervisor;
  modules: ModuleSupervisor;
  hub: PortHub;
  /** Set once the start-up config is loaded: undefined before. */
  tx: () => TxManager | undefined;
  views: Pick<DaemonViews, 'listInstruments' | 'listModules' | 'overrides'>;
}

export class DaemonStatus {
  /** Parts wired outside the daemon (the config watcher) that show their state in daemon.status. */
  private readonly sources = new Map<string, () => unknown>();
  private readonly fileCheck: ConfigFileCheck;

  constructor(private readonly parts: StatusParts) {
    this.fileCheck = new ConfigFileCheck(parts.options.configPath, () => parts.persister.knownHash);
  }

  addSource(name: string, read: () => unknown): void {
    this.sources.set(name, read);
  }

  status() {
    const snapshot = this.parts.manager.getSnapshot();
    const lastReload = this.parts.services.reloads.last;
    // The aggregate (a view of every instrument and module) is reused while nothing it is made of
    // changed (status-memo.ts); an injected clock that moved counts as a change.
    const aggregate = statusMemoOf<ReturnType<DaemonStatus['aggregate']>>(this.parts.events).get(
      [snapshot.context.config, this.parts.persister.desiredModel, this.parts.revisions.current, lastReload, this.parts.options.clock?.()],
      Date.now(),
      () => this.aggregate(lastReload),
    );
    const fixed = {
      version: VERSION,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - this.parts.startedAt) / 1000),
      configPath: this.parts.options.configPath,
      stateDir: this.parts.options.stateDir,
      revision: this.parts.revisions.current,
      instruments: aggregate.instruments,
      modules: aggregate.modules,
      queue: { pending: snapshot.context.queue.length, completed: snapshot.context.completed },
      persistence: this.parts.persister.status(),
      lastReload,
      safeMode: aggregate.safeMode,
      overrides: aggregate.overrides,
      trouble: aggregate.trouble,
      ports: aggregate.ports,
    };
    // Services' sources by name, added to this fresh object (not spread into a second one).
    const status: typeof fixed & Record<string, unknown> = fixed;
    for (const [name, read] of this.sources) status[name] = read();
    return status;
  }

  /** The parts of status() built from every instrument's and module's view (see status-memo.ts). */
  private aggregate(lastReload: ReloadStatus) {
    const instruments = this.parts.views.listInstruments();
    const byState: Record<string, number> = {};
    for (const i of instruments) byState[i.state] = (byState[i.state] ?? 0) + 1;
    const txAlarm = this.parts.tx()?.status().pendingConfirm;
    return {
      instruments: { total: instruments.length, ...byState },
      modules: { total: this.parts.modules.ids().length },
      safeMode: { active: this.parts.instruments.safeMode, held: this.parts.instruments.heldIds() },
      overrides: this.parts.views.overrides(),
      trouble: troubleOf({
        instruments,
        modules: this.parts.views.listModules(),
        lastReload,
        file: this.fileCheck.now(),
        ...(txAlarm?.alarm ? { txAlarm: { tx: txAlarm.tx, message: txAlarm.alarm.message } } : {}),
      }),
      ports: this.parts.hub.ports(),
    };
  }

}
