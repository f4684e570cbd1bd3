/**
 * `daqctl`: the command-line client. One subcommand per method family; tables by default,
 * `--json` prints the method's result. Exit 0 on success; on error the message goes to stderr
 * and the exit code is 1 (daqd refused, or the result is a failure: a failed reload, an instrument
 * that did not connect), 2 (usage) or 3 (cannot reach daqd).
 */
import { Command, Option } from 'commander';
import { defaultSocketPath, DaqClient, RpcError } from '../client/client.js';
import { VERSION } from '../version.js';
import { UsageError } from './format.js';
import { registerInstrumentCommands } from './commands/instruments.js';
import { registerModuleCommands } from './commands/modules.js';
import { registerConfigCommands } from './commands/config.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerPlannedCommands } from './commands/planned.js';

/** How a result ends the command: its exit code, and a line for stderr when it is a failure. */
export interface Outcome {
  exitCode: number;
  stderr?: string;
}

export interface Ctl {
  json: boolean;
  /**
   * Call one method and print its result (through `human` unless --json; `human` may return null
   * to print nothing). `outcome` turns a result that is a failure into an exit code.
   */
  run<R = any>(method: string, params: unknown, human: (result: R) => string | null, outcome?: (result: R) => Outcome): Promise<void>;
  /** Like run, for a command that needs several calls on one connection. */
  session<R>(calls: (client: DaqClient) => Promise<R>, human: (result: R) => string | null, outcome?: (result: R) => Outcome): Promise<void>;
  connect(): Promise<DaqClient>;
}

const program = new Command()
  .name('daqctl')
  .description('Control a running daqd over its socket.')
  .version(VERSION)
  .addOption(new Option('--socket <path>', 'daqd socket').default(defaultSocketPath(), '$DAQD_SOCKET or .daq/daqd.sock'))
  .option('--json', 'print results as JSON')
  .showHelpAfterError();

const ctl: Ctl = {
  get json() {
    return program.opts().json === true;
  },
  async connect() {
    try {
      return await DaqClient.connect(program.opts().socket);
    } catch (err) {
      process.stderr.write(`daqctl: ${(err as Error).message}\n`);
      process.exit(3);
    }
  },
  run(method, params, human, outcome) {
    return this.session((client) => client.call(method, params), human, outcome);
  },
  async session(calls, human, outcome) {
    const client = await this.connect();
    let result;
    try {
      result = await calls(client);
    } finally {
      client.close();
    }
    const text = this.json ? JSON.stringify(result, null, 2) : human(result);
    if (text !== null) process.stdout.write(text + '\n');
    const end = outcome?.(result);
    if (end?.stderr) process.stderr.write(`daqctl: ${end.stderr}\n`);
    if (end && end.exitCode !== 0) process.exitCode = end.exitCode;
  },
};

registerInstrumentCommands(program, ctl);
registerModuleCommands(program, ctl);
registerConfigCommands(program, ctl);
registerWatchCommand(program, ctl);
registerPlannedCommands(program, ctl);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof RpcError) {
    process.stderr.write(`daqctl: ${err.message} [${err.kind}]\n`);
    if (program.opts().json) process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, data: err.data } }, null, 2) + '\n');
    process.exit(1);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`daqctl: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`daqctl: ${(err as Error).message}\n`);
  process.exit(1);
}
