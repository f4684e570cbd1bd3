/**
 * `daqctl`: the command-line client. One subcommand per method family; tables by default,
 * `--json` prints the method's result. Exit 0 on success; on error the message goes to stderr
 * and the exit code is 1 (daqd refused), 2 (usage) or 3 (cannot reach daqd).
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

export interface Ctl {
  json: boolean;
  /** Call one method and print its result (through `human` unless --json). */
  run(method: string, params: unknown, human: (result: any) => string): Promise<void>;
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
  async run(method, params, human) {
    const client = await this.connect();
    try {
      const result = await client.call(method, params);
      process.stdout.write((this.json ? JSON.stringify(result, null, 2) : human(result)) + '\n');
    } finally {
      client.close();
    }
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
