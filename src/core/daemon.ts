/**
 * Wires the daemon together: the manager actor and its supervisors, the port hub, the event bus
 * and the config file. Everything outside (socket, signals, watcher) talks to the Daemon: commands
 * go through `submit` (queued, one at a time), reads go through the view methods (daemon-views.ts:
 * never queued, and never waiting on a device unless asked to refresh from it). What one queued
 * command does when its turn comes is job-runner.ts.
 */
import { dirname, resolve } from 'node:path';
import { setPortBaseDir } from '../config/port-path.js';
import { createActor, type Actor } from 'xstate';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import type { ConfigModel, ConfigView } from '../config/model.js';
import { dynamicConfigSchema } from '../config/schema.js';
import { DaqError, describeError } from '../errors.js';
import { ConfigFile } from '../persistence/config-file.js';
import { removeStrayTempFiles } from '../persistence/atomic-write.js';
import { PortHub } from '../transport/port-hub.js';
import { ModuleSupervisor, type ModuleView } from '../modules/supervisor.js';
import { commandSchema, type Command, type CommandResult } from './commands.js';
import type { ParamValue } from '../drivers/types.js';
import { EventBus } from './events.js';
import type { Services } from './execution.js';
import { SafetyHolds } from './safety.js';
import { warnIfNotWritable } from './trouble.js';
import { Revisions } from './revisions.js';
import { JobRunner, type ConfigParamListener } from './job-runner.js';
import type { OverrideView } from './overrides.js';
import { DaemonStatus } from './daemon-status.js';
import { DaemonViews, type ConnectionOutcome } from './daemon-views.js';
import { ReloadPhases, type ReloadListener } from './reload-phases.js';
import { startConfiguredServices, startListeningServices } from './services-startup.js';
import { createManagerMachine, type Job, type JobOutcome } from './manager/machine.js';
import { InstrumentSupervisor, type InstrumentView } from './manager/supervisor.js';
import { ConfigPersister } from './persister.js';
import { SetFlow, type SetChange, type SetHook } from './set-flow.js';
import { tuneGarbageCollectorForLatency } from './gc-tuning.js';
import type { TxManager } from './tx/manager.js';
import type { VersionManager } from './versions/manager.js';
import type { Recorder } from '../services/recorder/recorder.js';
import type { MqttService } from '../services/mqtt/service.js';
import type { HistoryLog } from '../services/history/history.js';
import type { Scheduler } from '../services/scheduler/scheduler.js';

export type { ConfigParamChange } from './revisions.js';
export type { SetChange, SetHook } from './set-flow.js';
export type { ReloadPhase, ReloadListener } from './reload-phases.js';

export interface DaemonOptions {
  configPath: string;
  stateDir: string;
  log: Logger;
  /** Pace simulated ports at their baud rate (default true). Tests may switch it off. */
  simPacing?: boolean;
  /**
   * `daqd --safe`: the config is loaded and validated, but every instrument stays stopped (port
   * closed) and every module idle, in memory only (nothing is written to the file), until
   * instrument.enable releases an instrument; a module starts once all its instruments are released.
   */
  safe?: boolean;
  /** Wall clock in ms (transaction expiry and confirm deadlines); tests inject a controlled one. */
  clock?: () => number;
}

type ManagerActor = Actor<ReturnType<typeof createManagerMachine>>;

type DynamicConfig = z.output<typeof dynamicConfigSchema>;

/** [application.dynamic_config] with defaults, per [application] table (configs are never mutated). */
const dynamicConfigCache = new WeakMap<object, DynamicConfig>();
const NO_APPLICATION: Record<string, unknown> = {};

export class Daemon {
  readonly events: EventBus;
  readonly startedAt = Date.now();
  private readonly hub: PortHub;
  private readonly instruments: InstrumentSupervisor;
  private readonly modules: ModuleSupervisor;
  private readonly persister: ConfigPersister;
  private readonly services: Services;
  private readonly manager: ManagerActor;
  /** The safety lane: interlock actions and holds, apart from the config path. */
  readonly safety: SafetyHolds;
  private stopping = false;
  private inFlight = 0;
  private onIdle: (() => void) | null = null;
  /** Who is told when a reload of the file begins and ends (reload-phases.ts). */
  private readonly reloadPhases: ReloadPhases;
  /**
   * The running config's revision (issue #18): +1 for every command that changed it. Each
   * instrument and module keeps the revision that last changed its table (removed ones too, so a
   * transaction that staged against them sees the change).
   */
  private readonly revisions = new Revisions();
  /** daemon.status and the status sources (daemon-status.ts). */
  private readonly statusReport: DaemonStatus;
  /** The read-only views of instruments and modules, and the connection wait (daemon-views.ts). */
  private readonly views: DaemonViews;
  /** Transactions (tx.*); set once the start-up config is loaded. */
  tx!: TxManager;
  /** Config versions (version.*); set once the start-up config is loaded. */
  versions!: VersionManager;
  /** The recorder ([application.storage], issue #21); listens from before the start-up config applies. */
  recorder?: Recorder;
  /** The MQTT client ([application.mqtt], off by default). */
  mqtt?: MqttService;
  /** instrument.set: the device path, its undo, its record, and who is told (set-flow.ts). */
  private readonly sets: SetFlow;
  private readonly jobs: JobRunner;
  /** The change history (issue #22, src/services/history/). */
  history?: HistoryLog;
  /** Schedules and triggers (issue #22, src/services/scheduler/). */
  scheduler?: Scheduler;

  private constructor(private readonly options: DaemonOptions) {
    const { log } = options;
    this.events = new EventBus((err, owner) => log.error({ err, owner }, `${owner} failed handling an event (a bug; the other listeners got it): ${describeError(err)}`));
    this.hub = new PortHub({ simPacing: options.simPacing ?? true });
    this.instruments = new InstrumentSupervisor(this.hub, this.events, log);
    if (options.safe) this.instruments.enterSafeMode();
    this.safety = new SafetyHolds(this.instruments);
    this.instruments.useHolds(
      (id, params) => this.safety.check(id, params),
      (id) => this.safety.holdsOn(id).map((h) => ({ param: h.param, value: h.value, holder: h.holder })),
      () => this.safety.version,
    );
    this.modules = new ModuleSupervisor(
      this.events,
      log,
      (cmd, origin) => this.submit(cmd, origin),
      (id) => this.instruments.isReady(id),
      this.safety,
      (id) => {
        const view = this.instruments.view(id);
        return view ? { state: view.state, pollIntervalMs: view.pollIntervalMs, lastError: view.lastError ? { kind: view.lastError.kind, message: view.lastError.message } : null } : undefined;
      },
    );
    const file = new ConfigFile(options.configPath);
    this.persister = new ConfigPersister(file, this.events, log, () => this.dynamicConfig().enable_persistence);
    this.sets = new SetFlow({
      instruments: this.instruments,
      persister: this.persister,
      events: this.events,
      log,
      configPath: options.configPath,
      config: () => this.config,
      revision: () => this.revisions.current,
      enqueue: (command, origin) => this.enqueue(command, origin),
    });
    if (options.safe) {
      this.modules.useSafeMode((ids) => {
        if (!this.instruments.safeMode) return undefined;
        const held = ids.filter((id) => this.instruments.isHeld(id));
        if (ids.length > 0 && held.length === 0) return undefined;
        return `safe mode: ${held.length > 0 ? `waiting for ${[...new Set(held)].join(', ')} to be enabled (daqctl enable ID)` : 'starts once every instrument is enabled'}`;
      });
    }
    this.services = {
      instruments: this.instruments,
      modules: this.modules,
      persister: this.persister,
      events: this.events,
      log,
      configPath: options.configPath,
      reloads: { last: { outcome: 'never' } },
      onReloadStart: (source) => this.reloadPhases.begin(source),
    };
    this.reloadPhases = new ReloadPhases({ log, services: this.services });
    this.jobs = new JobRunner({ configPath: options.configPath, log, revisions: this.revisions, persister: this.persister, services: this.services });
    this.manager = createActor(
      createManagerMachine((job, config) => this.execute(job, config).then((outcome) => this.jobs.count(job, config, outcome))),
      { input: { config: {} } },
    );
    this.views = new DaemonViews({
      events: this.events,
      instruments: this.instruments,
      modules: this.modules,
      revisions: this.revisions,
      config: () => this.config,
      persister: this.persister,
    });
    this.statusReport = new DaemonStatus({
      options,
      startedAt: this.startedAt,
      events: this.events,
      manager: this.manager,
      persister: this.persister,
      revisions: this.revisions,
      services: this.services,
      instruments: this.instruments,
      modules: this.modules,
      hub: this.hub,
      tx: () => this.tx,
      views: this.views,
    });
  }

  /** Load the config (throws validation_failed with every issue), start every instrument. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    tuneGarbageCollectorForLatency();
    setPortBaseDir(dirname(resolve(options.configPath)));
    const stray = await removeStrayTempFiles(options.configPath);
    if (stray.length > 0) options.log.warn({ files: stray }, 'removed temp files left by an interrupted write');
    await loadConfigFile(options.configPath); // fail fast, before anything opens a port
    warnIfNotWritable(options.configPath, options.log);
    const daemon = new Daemon(options);
    const recorder = startListeningServices(daemon, options);
    daemon.manager.start();
    await daemon.submit({ type: 'config.reload', source: 'startup' }, 'startup');
    await startConfiguredServices(daemon, options, recorder, { services: daemon.services, instruments: daemon.instruments, modules: daemon.modules, persister: daemon.persister });
    return daemon;
  }

  /** The running config's revision (+1 per change). */
  get revision(): number {
    return this.revisions.current;
  }

  /** The revision that last changed an instrument's (or module's) table; 0 if never since start. */
  itemRevision(kind: 'instruments' | 'modules', id: string): number {
    return this.revisions.item(kind, id);
  }

  get configPath(): string {
    return this.options.configPath;
  }

  /** The running config, read-only. */
  get config(): ConfigView {
    return this.manager.getSnapshot().context.config;
  }

  dynamicConfig(): DynamicConfig {
    // Asked on every command (is persistence on?): parse once per [application] table, not per
    // call (a live set shares that table with the config before it).
    const application = (this.config.application as Record<string, unknown> | undefined) ?? NO_APPLICATION;
    let parsed = dynamicConfigCache.get(application);
    if (!parsed) {
      parsed = dynamicConfigSchema.parse(application.dynamic_config ?? {});
      dynamicConfigCache.set(application, parsed);
    }
    return parsed;
  }

  /**
   * Run a command. Config changes queue in the manager and run one at a time in arrival order; an
   * instrument.set goes to the instrument's own lane (device I/O never holds the config queue) and
   * then records its new setpoints through the queue.
   */
  submit(input: Command | unknown, origin: string): Promise<CommandResult> {
    if (this.stopping) return Promise.reject(new DaqError('unavailable', 'daqd is shutting down'));
    const parsed = commandSchema.safeParse(input);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ');
      return Promise.reject(new DaqError('invalid_params', why));
    }
    const command = parsed.data;
    if (command.type === 'instrument.set') {
      // The lane path sends before it queues: check ifRev before a byte is sent.
      try {
        this.revisions.check(command);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    this.inFlight++;
    const run = command.type === 'instrument.set' ? this.sets.announce(command.id, origin, this.sets.run(command, origin)) : this.enqueue(command, origin);
    return run.finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) this.onIdle?.();
    });
  }

  /** Queue a config command in the manager (one at a time, in arrival order). */
  private enqueue(command: Command, origin: string): Promise<CommandResult> {
    return new Promise<CommandResult>((resolve, reject) => {
      const job: Job = { command, origin, reply: { resolve, reject }, enqueuedAt: Date.now() };
      this.manager.send({ type: 'command.submit', job });
    });
  }

  /** Listen to every set that went through (the recorder's events file, MQTT, the history). */
  onParamsSet(listener: (change: SetChange) => void): () => void {
    this.sets.listeners.add(listener);
    return () => this.sets.listeners.delete(listener);
  }

  /** See SetHook (the scheduler: a manual set under a ramp). */
  onSetConfirmed(hook: SetHook): () => void {
    this.sets.hooks.add(hook);
    return () => this.sets.hooks.delete(hook);
  }

  /** Listen to parameters changed by config commands (reload, transaction, rollback), with the origin. */
  onConfigParams(listener: ConfigParamListener): () => void {
    return this.jobs.onConfigParams(listener);
  }

  /** The driver's declarations of an instrument's parameters (min, max, kind), with device values. */
  parameterViews(id: string) {
    return this.instruments.parameters(id);
  }

  /** What the device holds as far as daqd knows (confirmed, read back or in a reading). */
  deviceValue(id: string, name: string): ParamValue | undefined {
    return this.instruments.deviceValue(id, name);
  }

  /** Whether an instrument is connected and ready (cheap: no view is built). */
  isInstrumentReady(id: string): boolean {
    return this.instruments.isReady(id);
  }

  /** Whether a stop has begun (services stop arming timers). */
  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * instrument.abort: stop the operation in flight (the driver's stop) and fail the queued sets
   * with `aborted`. The instrument stays ready. Never queued: an abort must not wait for anything.
   */
  abortInstrument(id: string, origin: string) {
    this.views.requireInstrument(id);
    const outcome = this.instruments.isReady(id) ? this.instruments.abort(id, `aborted by ${origin}`) : { aborted: false, failed: 0 };
    this.options.log.info({ audit: true, command: 'instrument.abort', origin, instrument: id, ...outcome }, `instrument.abort ${id}: ${outcome.aborted ? 'stopped the operation in flight' : 'nothing in flight'}${outcome.failed ? `, ${outcome.failed} queued set(s) failed` : ''}`);
    return { id, ...outcome, state: this.getInstrument(id).state };
  }

  private async execute(job: Job, config: ConfigModel): Promise<JobOutcome> {
    const outcome = await this.jobs.run(job, config);
    this.reloadPhases.end();
    return outcome;
  }

  /** Listen to the reloads of the file after start-up (see ReloadPhase). */
  onReload(listener: ReloadListener): () => void {
    return this.reloadPhases.on(listener);
  }

  /** Resolves once the listeners of the last reload's end have finished (config.reload {wait}). */
  reloadSettled(): Promise<void> {
    return this.reloadPhases.settled();
  }

  // ---- read-only views (never queued): daemon-views.ts ----

  listInstruments(): InstrumentView[] {
    return this.views.listInstruments();
  }

  getInstrument(id: string): InstrumentView & { revision: number } {
    return this.views.getInstrument(id);
  }

  /** instrument.get; `refresh` asks the device first (through its lane). */
  describeInstrument(id: string, refresh = false) {
    return this.views.describeInstrument(id, refresh);
  }

  listModules(): ModuleView[] {
    return this.views.listModules();
  }

  getModule(id: string): ModuleView & { revision: number } {
    return this.views.getModule(id);
  }

  dependencies(id: string) {
    return this.views.dependencies(id);
  }

  /** Until an instrument is ready or has failed to connect, or `timeoutMs` passed: the state then. */
  waitForConnection(id: string, timeoutMs: number): Promise<ConnectionOutcome> {
    return this.views.waitForConnection(id, timeoutMs);
  }

  reloadStatus() {
    return this.services.reloads.last;
  }

  /**
   * Calls `listener` with each new running config once the command that made it has finished
   * (events such as config.reloaded fire while it runs, before the manager holds the new config).
   */
  onConfigChange(listener: (config: ConfigView) => void): () => void {
    let last = this.config;
    const sub = this.manager.subscribe((snapshot) => {
      if (snapshot.context.config === last) return;
      last = snapshot.context.config;
      listener(last);
    });
    return () => sub.unsubscribe();
  }

  addStatusSource(name: string, read: () => unknown): void {
    this.statusReport.addSource(name, read);
  }

  status() {
    return this.statusReport.status();
  }

  /** Memory-only changes on top of the file (persist: false, or persistence off), optionally of one instrument. */
  overrides(instrument?: string): OverrideView[] {
    return this.views.overrides(instrument);
  }

  /** Stop accepting commands, abort long operations, let queued ones finish, close every port. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // A 27 s move must not hold the stop: systemd's stop timeout, and a person's Ctrl-C.
    this.instruments.abortAll('daqd is stopping');
    if (this.inFlight > 0) {
      // Queued commands finish (bounded: a device that never answers times out on its own).
      await Promise.race([new Promise<void>((r) => (this.onIdle = r)), new Promise((r) => setTimeout(r, 3000).unref())]);
    }
    this.tx?.stop();
    // Schedules arm no new step; a step in flight finished above (it is a queued set).
    await this.scheduler?.stop();
    this.modules.disposeAll();
    await this.instruments.stopAll();
    await this.hub.closeAll();
    // After the instruments stopped: their last readings and states are written, then fsynced.
    await Promise.all([
      this.recorder?.stop().catch((err) => this.options.log.error({ err }, `recorder: ${describeError(err)}`)),
      this.mqtt?.stop().catch((err) => this.options.log.error({ err }, `mqtt: ${describeError(err)}`)),
    ]);
    this.history?.close();
    this.manager.stop();
  }
}
