/**
 * What every daqctl command shares: finding and connecting to daqd (socket-path.ts), calling a
 * method, and printing the result (a human view, or --json) with its exit code. Errors are thrown
 * and mapped to exit codes in one place (daqctl-main.ts).
 */
import { existsSync } from 'node:fs';
import { ConnectError, DaqClient } from '../client/client.js';
import { Unreachable } from './exit.js';
import { jsonReplacer } from './numbers.js';
import { socketCandidates } from './socket-path.js';

/** How a result ends the command: its exit code, and a line for stderr when it is a failure. */
export interface Outcome {
  exitCode: number;
  stderr?: string;
}

export interface GlobalOptions {
  socket?: string;
  config?: string;
  json?: boolean;
}

export type Human<R> = (result: R) => string | null;

export class Ctl {
  constructor(private readonly globals: () => GlobalOptions) {}

  get json(): boolean {
    return this.globals().json === true;
  }

  /** Connects to the first socket that answers (see socket-path.ts); Unreachable names every path tried. */
  async connect(): Promise<DaqClient> {
    const { socket, config } = this.globals();
    const lookup = socketCandidates({ socket, config, exists: existsSync });
    const tried: { path: string; from: string; why: string }[] = [];
    for (const c of lookup.candidates) {
      try {
        return await DaqClient.connect(c.path);
      } catch (err) {
        const code = err instanceof ConnectError ? err.code : undefined;
        if (code === 'EACCES') {
          // A daqd is there and we may not talk to it: another socket would be another daemon.
          throw new Unreachable(`cannot connect to daqd at ${c.path}: permission denied (the socket is for daqd's group; ask to be added to it, or use sudo)`);
        }
        const why = code === 'ENOENT' ? 'no socket' : code === 'ECONNREFUSED' ? 'nobody listening (a stale socket)' : (err as Error).message;
        tried.push({ ...c, why });
      }
    }
    if (tried.length === 1 && !lookup.note) {
      const [only] = tried as [(typeof tried)[number]];
      throw new Unreachable(`cannot connect to daqd: is daqd running? (${only.why} at ${only.path}, from ${only.from})`);
    }
    const lines = ['cannot connect to daqd: is daqd running? Tried:', ...tried.map((t) => `  ${t.path} (${t.from}): ${t.why}`)];
    if (lookup.note) lines.push(`(${lookup.note})`);
    lines.push('Give --socket PATH, or --config FILE (the lab\'s config file), or set DAQD_SOCKET.');
    throw new Unreachable(lines.join('\n'));
  }

  /**
   * Calls one method and prints its result through `human` (unless --json; `human` may return null
   * to print nothing). `outcome` turns a result that is a failure into an exit code.
   */
  run<R = any>(method: string, params: unknown, human: Human<R>, outcome?: (result: R) => Outcome): Promise<void> {
    return this.session((client) => client.call<R>(method, params), human, outcome);
  }

  /** Like run, for a command that needs several calls on one connection. */
  async session<R>(calls: (client: DaqClient) => Promise<R>, human: Human<R>, outcome?: (result: R) => Outcome): Promise<void> {
    const client = await this.connect();
    let result: R;
    try {
      result = await calls(client);
    } finally {
      client.close();
    }
    this.print(result, human);
    const end = outcome?.(result);
    if (end?.stderr) process.stderr.write(`daqctl: ${end.stderr}\n`);
    if (end && end.exitCode !== 0) process.exitCode = end.exitCode;
  }

  print<R>(result: R, human: Human<R>): void {
    const text = this.json ? toJson(result) : human(result);
    if (text !== null) process.stdout.write(text + '\n');
  }
}

/** --json output: the result as daqd sent it, durations without float noise. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2);
}
