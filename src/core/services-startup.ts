/**
 * The services a daemon starts with (recorder, history, MQTT, transactions, versions, schedules):
 * creating each, making it follow config changes and registering its status source. Kept out of
 * daemon.ts, which builds the daemon's own parts: this is one job, and its order is the point:
 * - the recorder and the history listen before the start-up config applies, so the first readings
 *   and sets are not lost (the recorder keeps them in memory until it knows [application.storage]);
 * - the others start once that config is loaded, since each reads it;
 * - versions are in place before transactions start, so a pending confirmed commit that a
 *   transaction re-applies at start-up is snapshotted like every other change;
 * - schedules last: their sets go through everything above.
 * The order of the status sources is the order of daemon.status's keys, which people read.
 * (The watcher, the HTTP framing and systemd are wired by src/cli/daqd-main.ts, after the socket.)
 */
import { HistoryLog } from '../services/history/history.js';
import { recordHistory } from '../services/history/wire.js';
import { MqttService } from '../services/mqtt/service.js';
import { Recorder } from '../services/recorder/recorder.js';
import { Scheduler } from '../services/scheduler/scheduler.js';
import type { ModuleSupervisor } from '../modules/supervisor.js';
import type { Daemon, DaemonOptions } from './daemon.js';
import type { Services } from './execution.js';
import type { InstrumentSupervisor } from './manager/supervisor.js';
import type { ConfigPersister } from './persister.js';
import { TxManager } from './tx/manager.js';
import { VersionManager } from './versions/manager.js';

/** The daemon's own parts that transactions and versions work on directly (private to the daemon). */
export interface DaemonInternals {
  services: Services;
  instruments: InstrumentSupervisor;
  modules: ModuleSupervisor;
  persister: ConfigPersister;
}

/** Before the start-up config applies: the recorder and the history subscribe. */
export function startListeningServices(daemon: Daemon, options: DaemonOptions): Recorder {
  // The recorder subscribes before the start-up config runs: the first readings are kept in
  // memory until it knows [application.storage].
  const recorder = new Recorder({ events: daemon.events, stateDir: options.stateDir, configPath: options.configPath, log: options.log.child({ service: 'recorder' }), ...(options.clock ? { clock: options.clock } : {}) });
  daemon.recorder = recorder;
  daemon.onParamsSet((change) => recorder.paramsSet(change));
  const history = new HistoryLog({ stateDir: options.stateDir, log: options.log.child({ service: 'history' }), ...(options.clock ? { clock: options.clock } : {}) });
  daemon.history = history;
  recordHistory(daemon, history);
  return recorder;
}

/** Once the start-up config is loaded: the recorder takes it, then MQTT, versions, transactions, schedules. */
export async function startConfiguredServices(daemon: Daemon, options: DaemonOptions, recorder: Recorder, internals: DaemonInternals): Promise<void> {
  recorder.configure(daemon.config);
  daemon.onConfigChange((config) => recorder.configure(config));
  daemon.addStatusSource('recording', () => recorder.status());
  const mqtt = new MqttService({ daemon, configPath: options.configPath, log: options.log.child({ service: 'mqtt' }) });
  daemon.mqtt = mqtt;
  mqtt.configure(daemon.config);
  daemon.onConfigChange((config) => mqtt.configure(config));
  daemon.addStatusSource('mqtt', () => mqtt.status());
  daemon.tx = new TxManager({
    daemon,
    services: internals.services,
    instruments: internals.instruments,
    modules: internals.modules,
    persister: internals.persister,
    stateDir: options.stateDir,
    log: options.log,
    clock: options.clock ?? Date.now,
    submit: (cmd, origin) => daemon.submit(cmd, origin),
  });
  internals.services.tx = daemon.tx;
  daemon.versions = new VersionManager({
    daemon,
    persister: internals.persister,
    devices: internals.instruments,
    tx: () => daemon.tx,
    stateDir: options.stateDir,
    log: options.log,
    submit: (cmd, origin) => daemon.submit(cmd, origin),
  });
  await daemon.versions.start();
  internals.services.versions = daemon.versions;
  await daemon.tx.start();
  // Schedules start last: their sets go through everything above.
  // An injected clock (tests, simulations) drives the scheduler through scheduler.tick(); no real timers.
  daemon.scheduler = new Scheduler({ daemon, stateDir: options.stateDir, log: options.log.child({ service: 'scheduler' }), clock: options.clock ?? Date.now, timers: options.clock === undefined });
  await daemon.scheduler.start(daemon.config);
  daemon.onConfigChange((config) => daemon.scheduler?.configure(config));
  daemon.addStatusSource('schedules', () => daemon.scheduler?.status());
}
