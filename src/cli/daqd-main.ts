/**
 * `daqd`: the daemon. Ready = the socket accepts requests. SIGTERM/SIGINT stop gracefully,
 * SIGHUP reloads the config file now.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve, join } from 'node:path';
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
import { claimSocketPath, DEFAULT_HEARTBEAT_MS, RpcServer } from '../rpc/server.js';
import { DIR_MODE } from '../rpc/socket-file.js';
import { VERSION } from '../version.js';

const STOP_TIMEOUT_MS = 5000;

interface Options {
  config?: string;
  stateDir?: string;
  socket?: string;
  logLevel?: string;
  checkConfig?: boolean;
  heartbeatMs: number;
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
  const log = createLogger((opts.logLevel ?? 'info') as never);

  let lock: InstanceLock;
  try {
    await prepareStateDir(stateDir, log);
    // Before the socket: a second daqd must not replace the first one's socket.
    lock = InstanceLock.acquire(configPath, stateDir, socketPath);
    process.on('exit', () => lock.release());
    await claimSocketPath(socketPath);
  } catch (err) {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
    process.exit(1);
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ configPath, stateDir, log });
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

  const server = new RpcServer(daemon, socketPath, log, { heartbeatMs: opts.heartbeatMs });
  // Signals are handled before the socket answers: a SIGTERM right after ready still stops cleanly.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight commands, closing ports');
    const force = setTimeout(() => {
      log.error('graceful stop took too long; exiting anyway');
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    force.unref();
    await watcher.stop();
    await server.close();
    await daemon.stop();
    log.info('stopped');
    log.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading the config file');
    daemon.submit({ type: 'config.reload', source: 'signal' }, 'signal').catch(() => {});
  });

  // Listen last: ready (the socket answers) must mean an edit saved from now on is seen.
  try {
    await server.listen();
  } catch (err) {
    process.stderr.write(`daqd: ${describeError(err)}\n`);
    await watcher.stop();
    await daemon.stop();
    process.exit(1);
  }

  log.info({ version: VERSION, config: configPath, socket: socketPath, pid: process.pid }, `daqd ready on ${socketPath}`);
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
  .option('--check-config', 'validate the config file, print every problem with its line, exit 0/1')
  .action((opts: Options) => run(opts));

process.on('unhandledRejection', (err) => {
  process.stderr.write(`daqd: internal error: ${describeError(err)}\n`);
});

await program.parseAsync(process.argv);
