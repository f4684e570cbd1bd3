/**
 * Runs a Node script (daqctl, daqd to its exit) as a child process and collects what it printed.
 *
 * Resolves on 'close', not 'exit': Node fires 'exit' as soon as the process ends, while its stdout
 * and stderr pipes may still hold unread bytes. A test that resolved on 'exit' saw an empty stderr
 * for a refusal daqctl had printed (a CI run failed on it), so every test runs children here.
 */
import { spawn } from 'node:child_process';
import { DAQCTL_BIN } from './daemon.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  out: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill with SIGKILL and reject after this long (default 30 s). */
  timeoutMs?: number;
}

export function runNode(script: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let out = '';
    child.stdout.on('data', (d) => ((stdout += d), (out += d)));
    child.stderr.on('data', (d) => ((stderr += d), (out += d)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, out });
    });
  });
}

/** `daqctl --socket SOCKET ...args`, run to its exit. */
export function daqctl(socket: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runNode(DAQCTL_BIN, ['--socket', socket, ...args], options);
}
