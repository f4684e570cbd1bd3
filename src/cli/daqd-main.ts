/**
 * `daqd`: the daemon. Ready = the socket accepts requests. SIGTERM/SIGINT stop gracefully,
 * SIGHUP reloads the config file now. Under systemd (docs/service.md): READY=1 once the socket
 * answers, RELOADING=1/READY=1 around every reload, WATCHDOG=1 from the event loop, STOPPING=1,
 * STATUS= one line; journal log lines; socket activation; `--safe`.
 */
import type { HttpService, HttpSettings } from '../services/http/server.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { formatIssue, type ConfigIssue } from '../config/issues.js';
import { loadConfigFile } from '../config/load.js';
import { setPortBaseDir } from '../config/port-path.js';
import { projectPaths, type ProjectPaths } from '../config/project.js';
import { InstanceLock } from '../core/instance-lock.js';
import { Daemon } from '../core/daemon.js';
import { DaqError, describeError, isDaqError } from '../errors.js';
import { createLogger } from '../log.js';
import { ConfigWatcher } from '../reload/watcher.js';
import { activationFd, claimSocketPath, DEFAULT_HEARTBEAT_MS, RpcServer } from '../rpc/server.js';
import { DIR_MODE, resolveGroup } from '../rpc/socket-file.js';
import { LOG_FORMATS, type LogFormat } from '../services/systemd/journal.js';
import { EXIT_NOTIFY_FAILED, monotonicUsec, SdNotify } from '../services/systemd/notify.js';
import { statusLine, StatusReporter } from '../services/systemd/status-line.js';
import { watchdogIntervalMs, WatchdogPinger } from '../services/systemd/watchdog.js';
import { VERSION } from '../version.js';

const STOP_TIMEOUT_MS = 5000;

// SIGHUP's default action kills the process, and `systemctl reload` may come at any moment of the
// start-up. bin/daqd.js catches it first of all (before any module loads); from here on this one
// does: before the daemon is up a SIGHUP is remembered and applied as one reload once it is ready.
let onSighup: (() => void) | null = null;
let sighupDuringStart = false;
process.on('SIGHUP', () => {
  if (onSighup) onSighup();
  else sighupDuringStart = true;
});
{
  const early = (globalThis as { __daqdEarlySighup?: { listener: () => void } }).__daqdEarlySighup;
  if (early) process.off('SIGHUP', early.listener);
}

interface Options {
  config?: string;
  stateDir?: string;
  socket?: string;
  logLevel?: string;
  checkConfig?: boolean;
  heartbeatMs: number;
  logFormat: LogFormat;
  safe?: boolean;
}

/** `[application.socket]` of the loaded config: mode and group of the command socket. */
function socketSettings(application: unknown): { mode: number; gid?: number } {
  const socket = (application as { socket?: { mode?: string | number; group?: string | number } } | undefined)?.socket ?? {};
  const mode = socket.mode === undefined ? 0o660 : typeof socket.mode === 'number' ? socket.mode : parseInt(socket.mode, 8);
  return { mode, ...(socket.group !== undefined ? { gid: resolveGroup(socket.group) } : {}) };
}

/**
 * Debug only (DAQD_DEBUG_BLOCK_LOOP_MS set): SIGUSR2 blocks the event loop that long, as a hung
 * driver would. The tests use it to show that a blocked loop stops the watchdog pings.
 */
function installLoopBlocker(log: Logger): void {
  const ms = Number(process.env.DAQD_DEBUG_BLOCK_LOOP_MS);
  if (!process.env.DAQD_DEBUG_BLOCK_LOOP_MS || !(ms > 0)) return;
  process.on('SIGUSR2', () => {
    log.warn(`debug: blocking the event loop for ${ms} ms (DAQD_DEBUG_BLOCK_LOOP_MS)`);
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // spin: nothing else runs, not even timers
    }
  });
}

/**
 * The state directory (socket, later snapshots): created 0750, whatever the umask, since anyone
 * who can write to it can replace the socket. An existing world-writable one is used, with a
 * warning, because refusing would stop a lab's daemon over a directory someone else created.
 */
async function prepareStateDir(dir: string, log: Logger): Promise<void> {
  let mode: number;
  try {
    if ((await mkdir(dir, { recursive: true, mode: DIR_MODE })) !== undefined) return;
    mode = (await stat(dir)).mode & 0o777;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new DaqError('unavailable', `cannot create the state directory ${dir} (${code}); give a writable directory with --state-dir`);
  }
  if (mode & 0o002) {
    log.warn({ stateDir: dir, mode: mode.toString(8) }, `state directory ${dir} is world-writable (mode ${mode.toString(8)}): anyone on this machine could replace daqd's socket; run chmod o-w ${dir}`);
  }
}

function parseHeartbeatMs(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 50 || ms > 3_600_000) throw new InvalidArgumentError('give whole milliseconds from 50 to 3600000');
  return ms;
}

function printConfigError(err: unknown, file: string): void {
  const issues = isDaqError(err) ? (err.details?.issues as ConfigIssue[] | undefined) : undefined;
  if (issues) {
    process.stderr.write(`daqd: ${file} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n`);
    for (const issue of issues) process.stderr.write(`  ${formatIssue(file, issue)}\n`);
  } else {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
  }
}

async function checkConfig(file: string): Promise<number> {
  setPortBaseDir(dirname(resolve(file)));
  try {
    const loaded = await loadConfigFile(file);
    const n = Object.keys(loaded.model.instruments ?? {}).length;
    const m = Object.keys(loaded.model.modules ?? {}).length;
    process.stdout.write(`${file}: OK (${n} instrument${n === 1 ? '' : 's'}, ${m} module${m === 1 ? '' : 's'})\n`);
    return 0;
  } catch (err) {
    printConfigError(err, file);
    return 1;
  }
}

async function run(opts: Options): Promise<void> {
  let paths: ProjectPaths;
  try {
    paths = projectPaths(opts);
  } catch (err) {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
    process.exit(1);
  }
  const { configPath, stateDir, socketPath } = paths;
  if (opts.checkConfig) process.exit(await checkConfig(configPath));
  const log = createLogger((opts.logLevel ?? 'info') as never, opts.logFormat);

  // systemd: nothing at all unless NOTIFY_SOCKET is set. When it is and nothing can be sent, exit
  // now with a clear message: systemd would otherwise wait, kill daqd and start it again, forever.
  const notify = new SdNotify();
  const notifyProblem = notify.problem();
  if (notifyProblem) {
    process.stderr.write(`daqd: systemd waits for notifications (NOTIFY_SOCKET is set) but ${notifyProblem}; exiting (status ${EXIT_NOTIFY_FAILED})\n`);
    process.exit(EXIT_NOTIFY_FAILED);
  }
  const listenFd = activationFd();
  installLoopBlocker(log);

  let lock: InstanceLock;
  try {
    await prepareStateDir(stateDir, log);
    // Before the socket: a second daqd must not replace the first one's socket.
    lock = InstanceLock.acquire(configPath, stateDir, socketPath);
    process.on('exit', () => lock.release());
    // Socket activation: systemd holds the socket (and answers connects) while daqd starts.
    if (listenFd === undefined) await claimSocketPath(socketPath);
  } catch (err) {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
    process.exit(1);
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ configPath, stateDir, log, ...(opts.safe ? { safe: true } : {}) });
  } catch (err) {
    printConfigError(err, configPath);
    process.exit(1);
  }
  // The command line wins; otherwise [application] log_level, followed across reloads.
  const followLogLevel = () => {
    const level = (daemon.config.application as { log_level?: string } | undefined)?.log_level;
    if (!opts.logLevel && level && level !== log.level) log.level = level;
  };
  followLogLevel();
  const watcher = new ConfigWatcher({
    file: configPath,
    debounceMs: () => daemon.dynamicConfig().hot_reload_debounce_ms,
    reload: () => daemon.submit({ type: 'config.reload', source: 'watcher' }, 'watcher'),
    log,
  });
  const syncWatcher = async () => {
    if (daemon.dynamicConfig().enable_hot_reload) await watcher.start();
    else await watcher.stop();
  };
  daemon.addStatusSource('hotReload', () => ({ enabled: daemon.dynamicConfig().enable_hot_reload, ...watcher.status() }));
  await syncWatcher();
  // Follow the running config once a change is in it (the config.reloaded event fires before the
  // manager holds the new config): enable_hot_reload and log_level may change with any reload.
  daemon.onConfigChange(() => {
    syncWatcher().catch((err) => log.warn({ err }, `config watcher: ${describeError(err)}`));
    followLogLevel();
  });

  let socketOptions: { mode: number; gid?: number };
  try {
    socketOptions = socketSettings(daemon.config.application);
  } catch (err) {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
    await watcher.stop();
    await daemon.stop();
    process.exit(1);
  }
  const server = new RpcServer(daemon, socketPath, log, { heartbeatMs: opts.heartbeatMs, ...socketOptions, ...(listenFd !== undefined ? { fd: listenFd } : {}) });

  // systemd: STATUS= follows the daemon; RELOADING=1 + MONOTONIC_USEC, then READY=1, around every
  // reload (SIGHUP, config.reload, the watcher). config.reload {wait} answers after READY=1 is read.
  const status = new StatusReporter(notify, () => statusLine(daemon.status()), daemon.events, (err) =>
    log.error({ err }, `bug: the systemd status line could not be built: ${describeError(err)}`),
  );
  daemon.onReload(({ phase, failed }) =>
    phase === 'begin'
      ? notify.send({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), STATUS: 'reloading the config file' })
      : notify.send({ READY: 1, STATUS: (failed ? 'reload failed, running the previous config; ' : '') + status.current() }),
  );

  // Signals are handled before the socket answers: a SIGTERM right after ready still stops cleanly.
  let stopping = false;
  let http: HttpService | null = null;
  let watchdog: WatchdogPinger | null = null;
  const shutdown = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight commands, closing ports');
    // Told first, so systemd never takes the stop for a crash (and its watchdog waits).
    const told = notify.send({ STOPPING: 1, STATUS: 'stopping: finishing in-flight commands, closing ports' });
    const force = setTimeout(() => {
      log.error('graceful stop took too long; exiting anyway');
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    force.unref();
    status.stop();
    await watcher.stop();
    await http?.close();
    await server.close();
    await daemon.stop();
    watchdog?.stop();
    // The helper must have delivered STOPPING=1 before the process (and its cgroup) goes away.
    await told;
    log.info('stopped');
    log.flush?.();
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  onSighup = () => {
    if (stopping) return;
    log.info('SIGHUP: reloading the config file');
    daemon.submit({ type: 'config.reload', source: 'signal' }, 'signal').catch(() => {});
  };

  // Listen last: ready (the socket answers) must mean an edit saved from now on is seen.
  try {
    await server.listen();
  } catch (err) {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
    await watcher.stop();
    await daemon.stop();
    process.exit(1);
  }

  // The HTTP framing (dashboard, POST /rpc, GET /events): after the socket, so ready still means the
  // socket answers; a port that is taken means a free one, never a failed start.
  const httpSettings = (daemon.config.application as { http?: Partial<HttpSettings> } | undefined)?.http;
  if (httpSettings?.enabled !== false) {
    // Loaded only now: nothing of it is on the path to the instance lock and the socket.
    const [{ HttpService }, { methods }] = await Promise.all([import('../services/http/server.js'), import('../rpc/methods/index.js')]);
    const service = new HttpService({ daemon, methods, log: log.child({ service: 'http' }), stateDir, settings: httpSettings, clientStats: () => server.clientStats(), heartbeatMs: opts.heartbeatMs });
    try {
      await service.start();
      http = service;
    } catch (err) {
      log.error({ err }, `HTTP: cannot listen: ${describeError(err)} (the socket still works)`);
    }
  }
  daemon.addStatusSource('http', () => http?.status() ?? { enabled: false });
  log.info({ version: VERSION, config: configPath, socket: socketPath, pid: process.pid, ...(server.activated ? { activated: true } : {}), ...(opts.safe ? { safe: true } : {}) }, `daqd ready on ${socketPath}${opts.safe ? ' in safe mode: every instrument stopped, modules idle (daqctl enable ID brings one up)' : ''}`);
  if (notify.enabled) {
    const ready = await notify.send({ READY: 1, STATUS: status.current() });
    const watchdogMs = watchdogIntervalMs();
    if (!ready && watchdogMs !== undefined) {
      log.fatal(`cannot tell systemd that daqd is ready (${notify.lastError}); exiting with status ${EXIT_NOTIFY_FAILED} rather than being killed by the watchdog again and again`);
      return shutdown('notify failed', EXIT_NOTIFY_FAILED);
    }
    if (!ready) log.error(`cannot tell systemd that daqd is ready: ${notify.lastError}`);
    if (watchdogMs !== undefined) {
      watchdog = new WatchdogPinger(notify, {
        intervalMs: watchdogMs,
        onFailure: (why) => {
          log.fatal(`systemd's watchdog cannot be fed (${why}); exiting with status ${EXIT_NOTIFY_FAILED} rather than being killed again and again`);
          void shutdown('watchdog notify failed', EXIT_NOTIFY_FAILED);
        },
      });
      watchdog.start();
    }
    daemon.addStatusSource('systemd', () => ({ notify: true, sent: notify.sent, failed: notify.failed, ...(notify.lastError ? { lastError: notify.lastError } : {}), watchdogMs: watchdogMs ?? null }));
  }
  if (sighupDuringStart) onSighup();
}

const program = new Command()
  .name('daqd')
  .description('Lab instrument daemon: polls serial instruments, applies config changes live, writes them back to the file.')
  .version(VERSION)
  .addOption(new Option('--config <path>', 'config file (default: the nearest config/default.toml from here upwards)').env('DAQD_CONFIG'))
  .addOption(new Option('--state-dir <dir>', "state directory (snapshots, socket); relative to the project root (the config's, not the shell's)").env('DAQD_STATE_DIR'))
  .addOption(new Option('--socket <path>', 'command socket (default <state-dir>/daqd.sock)').env('DAQD_SOCKET'))
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
  .addOption(
    new Option('--heartbeat-ms <ms>', 'interval of daemon.heartbeat to quiet subscribers; a client that reads nothing for 4 intervals is disconnected')
      .env('DAQD_HEARTBEAT_MS')
      .argParser(parseHeartbeatMs)
      .default(DEFAULT_HEARTBEAT_MS),
  )
  .addOption(
    new Option('--log-format <format>', 'auto: journal lines with syslog priorities under systemd, readable on a terminal, else JSON lines')
      .choices(LOG_FORMATS as string[])
      .env('DAQD_LOG_FORMAT')
      .default('auto'),
  )
  .option('--safe', 'safe mode: load and validate the config but keep every instrument stopped (ports closed) and modules idle; daqctl enable ID brings one up')
  .option('--check-config', 'validate the config file, print every problem with its line, exit 0/1')
  .action((opts: Options) => run(opts));

process.on('unhandledRejection', (err) => {
  process.stderr.write(`daqd: internal error: ${describeError(err)}\n`);
});

await program.parseAsync(process.argv);
