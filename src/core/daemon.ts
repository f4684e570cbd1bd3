/**
 * Wires the daemon together: the manager actor and its supervisors, the port hub, the event bus
 * and the config file. Everything outside (socket, signals, watcher) talks to the Daemon: commands
 * go through `submit` (queued, one at a time), reads go through the view methods (never queued,
 * never waiting on a device).
 */
import { createActor, type Actor } from 'xstate';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { instrumentsOf, modulesOf, type ConfigModel, type ConfigView } from '../config/model.js';
import { dynamicConfigSchema } from '../config/schema.js';
import { DaqError, describeError, toDaqError } from '../errors.js';
import { ConfigFile } from '../persistence/config-file.js';
import { removeStrayTempFiles } from '../persistence/atomic-write.js';
import { PortHub } from '../transport/port-hub.js';
import { ModuleSupervisor, type ModuleView } from '../modules/supervisor.js';
import { dependentsOf } from '../modules/graph.js';
import { commandSchema, type Command, type CommandResult } from './commands.js';
import { EventBus } from './events.js';
import { Execution, type Services } from './execution.js';
import { handlerFor, WRITES_CONFIG } from './handlers/index.js';
import { reloadConfig } from './handlers/config.js';
import { createManagerMachine, type Job, type JobOutcome } from './manager/machine.js';
import { InstrumentSupervisor, type InstrumentView } from './manager/supervisor.js';
import { ConfigPersister } from './persister.js';
import { tuneGarbageCollectorForLatency } from './gc-tuning.js';
import { VERSION } from '../version.js';

export interface DaemonOptions {
  configPath: string;
  stateDir: string;
  log: Logger;
  /** Pace simulated ports at their baud rate (default true). Tests may switch it off. */
  simPacing?: boolean;
}

type ManagerActor = Actor<ReturnType<typeof createManagerMachine>>;
type DynamicConfig = z.output<typeof dynamicConfigSchema>;

/** [application.dynamic_config] with defaults, per [application] table (configs are never mutated). */
const dynamicConfigCache = new WeakMap<object, DynamicConfig>();
const NO_APPLICATION: Record<string, unknown> = {};

export class Daemon {
  readonly events = new EventBus();
  readonly startedAt = Date.now();
  private readonly hub: PortHub;
  private readonly instruments: InstrumentSupervisor;
  private readonly modules: ModuleSupervisor;
  private readonly persister: ConfigPersister;
  private readonly services: Services;
  private readonly manager: ManagerActor;
  private stopping = false;
  private inFlight = 0;
  private onIdle: (() => void) | null = null;
  /** Parts wired outside the daemon (the config watcher) that show their state in daemon.status. */
  private readonly statusSources = new Map<string, () => unknown>();

  private constructor(private readonly options: DaemonOptions) {
    const { log } = options;
    this.hub = new PortHub({ simPacing: options.simPacing ?? true });
    this.instruments = new InstrumentSupervisor(this.hub, this.events, log);
    this.modules = new ModuleSupervisor(this.events, log, (cmd, origin) => this.submit(cmd, origin), (id) => this.instruments.isReady(id));
    const file = new ConfigFile(options.configPath);
    this.persister = new ConfigPersister(file, this.events, log, () => this.dynamicConfig().enable_persistence);
    this.services = {
      instruments: this.instruments,
      modules: this.modules,
      persister: this.persister,
      events: this.events,
      log,
      configPath: options.configPath,
      reloads: { last: { outcome: 'never' } },
    };
    this.manager = createActor(createManagerMachine((job, config) => this.execute(job, config)), { input: { config: {} } });
    this.instruments.attach(this.manager);
  }

  /** Load the config (throws validation_failed with every issue), start every instrument. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    tuneGarbageCollectorForLatency();
    const stray = await removeStrayTempFiles(options.configPath);
    if (stray.length > 0) options.log.warn({ files: stray }, 'removed temp files left by an interrupted write');
    await loadConfigFile(options.configPath); // fail fast, before anything opens a port
    const daemon = new Daemon(options);
    daemon.manager.start();
    await daemon.submit({ type: 'config.reload', source: 'startup' }, 'startup');
    return daemon;
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

  /** Queue a command; resolves with its result once it ran (commands run one at a time). */
  submit(input: Command | unknown, origin: string): Promise<CommandResult> {
    if (this.stopping) return Promise.reject(new DaqError('unavailable', 'daqd is shutting down'));
    const parsed = commandSchema.safeParse(input);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ');
      return Promise.reject(new DaqError('invalid_params', why));
    }
    this.inFlight++;
    return new Promise<CommandResult>((resolve, reject) => {
      const job: Job = { command: parsed.data, origin, reply: { resolve, reject }, enqueuedAt: Date.now() };
      this.manager.send({ type: 'command.submit', job });
    }).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) this.onIdle?.();
    });
  }

  private async execute(job: Job, config: ConfigModel): Promise<JobOutcome> {
    let running = config;
    let reloadedFirst: Record<string, unknown> | undefined;
    try {
      const cmd = job.command;
      const persists = WRITES_CONFIG.has(cmd.type) && (cmd as { persist?: boolean }).persist !== false && this.persister.isEnabled();
      if (persists && (await this.persister.changedOnDisk())) {
        // A person edited the file and daqd has not loaded it yet: apply their edit first, so
        // this command's write cannot overwrite it.
        const rx = new Execution({ type: 'config.reload', source: 'conflict' }, job.origin, running, this.services);
        try {
          const reloaded = await reloadConfig(rx, { type: 'config.reload', source: 'conflict' });
          // Say so in the answer: the file won, so changes kept in memory only may have been undone.
          reloadedFirst = { summary: reloaded.summary, note: `${this.options.configPath} had been edited; daqd applied that edit before this command` };
        } catch (err) {
          throw new DaqError('conflict', `${this.options.configPath} was edited and cannot be loaded (${describeError(err)}); fix the file (daqctl reload shows the errors) and retry`);
        }
        running = rx.result() ?? running;
      }
      const x = new Execution(cmd, job.origin, running, this.services);
      const result = await handlerFor(cmd.type)(x, cmd as never);
      return { result: reloadedFirst ? { ...result, reloadedFirst } : result, config: x.result() ?? (running !== config ? running : undefined) };
    } catch (err) {
      const error = toDaqError(err, (e) => this.options.log.error({ err: e }, 'bug: an error without a code'));
      if (job.command.type !== 'config.reload') {
        // Refused changes are audited too (reload failures are logged by the reload itself).
        this.options.log.info({ audit: true, command: job.command.type, origin: job.origin, refused: error.kind }, `refused ${job.command.type}: ${error.message}`);
      }
      return { error, config: running !== config ? running : undefined };
    }
  }

  // ---- read-only views (never queued) ----

  listInstruments(): InstrumentView[] {
    return Object.keys(instrumentsOf(this.config)).map((id) => this.getInstrument(id));
  }

  getInstrument(id: string): InstrumentView {
    const table = instrumentsOf(this.config)[id];
    if (!table) throw new DaqError('not_found', `no instrument "${id}"`);
    const view = this.instruments.view(id);
    if (view) return view;
    return {
      id,
      driver: table.driver,
      port: table.port,
      state: 'stopped',
      pollIntervalMs: 0,
      params: { ...(table.params ?? {}) },
      lastReading: null,
      lastError: null,
      polls: 0,
      pollErrors: 0,
    };
  }

  listModules(): ModuleView[] {
    return Object.keys(modulesOf(this.config)).map((id) => this.getModule(id));
  }

  getModule(id: string): ModuleView {
    const view = this.modules.view(id);
    if (!view) throw new DaqError('not_found', `no module "${id}"`);
    return view;
  }

  dependencies(id: string) {
    if (!instrumentsOf(this.config)[id]) throw new DaqError('not_found', `no instrument "${id}"`);
    return { instrument: id, usedBy: dependentsOf(this.config, id) };
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
    this.statusSources.set(name, read);
  }

  status() {
    const instruments = this.listInstruments();
    const byState: Record<string, number> = {};
    for (const i of instruments) byState[i.state] = (byState[i.state] ?? 0) + 1;
    const snapshot = this.manager.getSnapshot();
    return {
      version: VERSION,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      configPath: this.options.configPath,
      stateDir: this.options.stateDir,
      instruments: { total: instruments.length, ...byState },
      modules: { total: this.modules.ids().length },
      queue: { pending: snapshot.context.queue.length, completed: snapshot.context.completed },
      persistence: this.persister.status(),
      lastReload: this.services.reloads.last,
      ports: this.hub.ports(),
      ...Object.fromEntries([...this.statusSources].map(([name, read]) => [name, read()])),
    };
  }

  /** Stop accepting commands, let queued ones finish, close every port. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.inFlight > 0) {
      // Queued commands finish (bounded: a device that never answers times out on its own).
      await Promise.race([new Promise<void>((r) => (this.onIdle = r)), new Promise((r) => setTimeout(r, 3000).unref())]);
    }
    this.modules.disposeAll();
    await this.instruments.stopAll();
    await this.hub.closeAll();
    this.manager.stop();
  }
}
