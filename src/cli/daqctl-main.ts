/**
 * `daqctl`: the command-line client. One subcommand per method family; tables by default,
 * `--json` prints the method's result. Exit codes (exit.ts, docs/daqctl.md): 0 done, 1 daqd
 * refused or the result is a failure, 2 usage error, 3 cannot reach daqd.
 *
 * Start-up time matters (scripts call daqctl in loops): this module loads commander and the
 * client only; the command line's first word decides which command family is registered (all of
 * them for help, or a word no family has), and each command loads its views when it runs. Every
 * module loaded costs about a millisecond of ESM loading; see bench/cli.bench.ts.
 */
import { createRequire } from 'node:module';
import type { Command, CommanderError } from 'commander';
import { RpcError } from '../client/client.js';
import { VERSION } from '../version.js';
import { Ctl, toJson, type GlobalOptions } from './ctl.js';
import { EXIT, Failure, Unreachable, UsageError } from './exit.js';

// commander through require: its ESM wrapper only re-exports the CommonJS module, at the cost
// of a second module and a parse by the CommonJS export lexer.
const commander = createRequire(import.meta.url)('commander') as typeof import('commander');

type Register = (program: Command, ctl: Ctl) => void;

/** Each command family, by the first words of its commands. */
const FAMILIES: readonly [readonly string[], () => Promise<Register>][] = [
  [['status', 'ls', 'list', 'get', 'add', 'rm', 'remove', 'set', 'abort', 'deps'], async () => (await import('./commands/instruments.js')).registerInstrumentCommands],
  [['enable', 'disable', 'restart'], async () => (await import('./commands/lifecycle.js')).registerLifecycleCommands],
  [['drivers', 'driver', 'ports', 'probe'], async () => (await import('./commands/drivers.js')).registerDriverCommands],
  [['module', 'modules'], async () => (await import('./commands/modules.js')).registerModuleCommands],
  [['reload', 'sync'], async () => (await import('./commands/config.js')).registerConfigCommands],
  [['watch'], async () => (await import('./commands/watch.js')).registerWatchCommand],
  [['export'], async () => (await import('./commands/export.js')).registerExportCommand],
  [['plot'], async () => (await import('./commands/plot.js')).registerPlotCommand],
  [['tx', 'apply'], async () => (await import('./commands/tx.js')).registerTxCommands],
  [['snapshot', 'versions', 'rollback', 'diff'], async () => (await import('./commands/versions.js')).registerVersionCommands],
  [['history', 'revert'], async () => (await import('./commands/history.js')).registerHistoryCommands],
  [['schedule', 'schedules'], async () => (await import('./commands/schedule.js')).registerScheduleCommands],
  [['http', 'http-token'], async () => (await import('./commands/http.js')).registerHttpCommands],
];

/** Global options that take a value (their value is not the command word). */
const GLOBAL_WITH_VALUE = new Set(['--socket', '--config']);

/** The first word that is not a global option or its value: the command, if any. */
function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The families to register: the one the command word names, or all (help, an unknown word). */
async function familiesFor(word: string | undefined): Promise<Register[]> {
  const named = word === undefined ? undefined : FAMILIES.find(([words]) => words.includes(word));
  return Promise.all((named ? [named] : FAMILIES).map(([, load]) => load()));
}

/** Commander reported a usage error (already printed) or printed help/version: exit with `code`. */
class CommanderExit extends Error {
  constructor(readonly code: number) {
    super('commander exit');
  }
}

/** "daqctl module add" for a subcommand. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function usageLine(cmd: Command): string {
  return `usage: ${commandPath(cmd)} ${cmd.usage()}\n(${commandPath(cmd)} --help for more)`;
}

const program = new commander.Command()
  .name('daqctl')
  .description('Control a running daqd over its socket.')
  .version(VERSION)
  .option('--socket <path>', 'daqd socket (default: $DAQD_SOCKET, else the project\'s .daq/daqd.sock, else /run/daqd/daqd.sock)')
  .option('--config <file>', 'talk to the daqd of the project this config file belongs to')
  .option('--json', 'print results as JSON')
  .configureOutput({
    // "daqctl: unknown option '--x'", in the same shape as every other daqctl error.
    outputError: (text, write) => write(`daqctl: ${text.replace(/^error: /, '')}`),
  })
  .showSuggestionAfterError()
  // Commander exits 1 by itself on a usage error; daqctl's usage errors exit 2. `this` is the
  // command whose arguments were wrong (commander calls the callback as its method).
  .exitOverride(function (this: Command, err: CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') throw new CommanderExit(EXIT.ok);
    if (err.code !== 'commander.help') process.stderr.write(`${usageLine(this ?? program)}\n`);
    throw new CommanderExit(EXIT.usage);
  });

/** The subcommand that runs, for the usage line of a UsageError its action throws. */
let active: Command = program;
program.hook('preAction', (_program, actionCommand) => {
  active = actionCommand;
});

const ctl = new Ctl(() => program.opts<GlobalOptions>());
for (const register of await familiesFor(commandWord(process.argv.slice(2)))) register(program, ctl);

// `daqctl ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  throw err;
});

/** The exit code for an error, after saying what went wrong (stderr; --json also prints RPC errors on stdout). */
function report(err: unknown): number {
  if (err instanceof CommanderExit) return err.code;
  if (err instanceof RpcError) {
    process.stderr.write(`daqctl: ${err.message} [${err.kind}]\n`);
    if (ctl.json) process.stdout.write(toJson({ error: { code: err.code, message: err.message, data: err.data } }) + '\n');
    return EXIT.failed;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`daqctl: ${err.message}\n${err.usage ?? usageLine(active)}\n`);
    return EXIT.usage;
  }
  if (err instanceof Unreachable) {
    process.stderr.write(`daqctl: ${err.message}\n`);
    return EXIT.failed;
  }
  if (err instanceof Failure) {
    process.stderr.write(`daqctl: ${err.message}\n`);
    return EXIT.failed;
  }
  // Not foreseen: say it in one line; the stack only when asked for (a bug report).
  process.stderr.write(`daqctl: ${(err as Error)?.message ?? String(err)}\n`);
  if (process.env.DAQCTL_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  return EXIT.failed;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err);
}
