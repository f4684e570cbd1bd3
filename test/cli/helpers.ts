/**
 * Running daqctl as a person or a script does: a child process (bin/daqctl.js) with its exit code,
 * stdout and stderr; and in a real terminal: a tmux pane of a private tmux server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { DAQCTL_BIN, waitUntil } from '../helpers/daemon.js';
import { runNode } from '../helpers/run.js';

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/**
 * `daqctl ARGS` from `cwd`. The environment is the test's minus the DAQD_* variables (a developer's
 * own DAQD_SOCKET must not decide which daemon a test talks to), plus `env`.
 */
export function daqctl(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('DAQD_')) delete env[key];
  Object.assign(env, options.env);
  const started = Date.now();
  return runNode(DAQCTL_BIN, args, { cwd: options.cwd, env }).then((r) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started }));
}

export const STACK_LINE = /^\s+at /m;

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A tmux server of its own (-L), one session with one pane of the given size. */
export class Tmux {
  /** The server's socket file: kill-server leaves it behind, kill() removes it. */
  private socketPath = '';

  private constructor(
    readonly server: string,
    readonly target: string,
  ) {}

  static start(name: string, command: string, options: { columns?: number; rows?: number; cwd?: string } = {}): Tmux {
    const server = `daqctl-test-${process.pid}-${name}`;
    const t = new Tmux(server, 'main');
    // -f /dev/null: none of the user's tmux.conf; remain-on-exit keeps the pane (and its screen) after the command ends.
    t.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', String(options.columns ?? 80), '-y', String(options.rows ?? 24), ...(options.cwd ? ['-c', options.cwd] : []), command]);
    t.tmux(['set-option', '-t', 'main', 'remain-on-exit', 'on']);
    t.socketPath = t.tmux(['display-message', '-p', '#{socket_path}']).trim();
    return t;
  }

  tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.server, ...args], { encoding: 'utf8' });
  }

  /** The visible screen, one string per row. `joined`: wrapped rows joined back (capture-pane -J). */
  capture(joined = false): string[] {
    return this.tmux(['capture-pane', '-p', ...(joined ? ['-J'] : []), '-t', this.target]).replace(/\n$/, '').split('\n');
  }

  /** A pane format variable, e.g. history_size, cursor_flag, pane_dead. */
  format(name: string): string {
    return this.tmux(['display-message', '-p', '-t', this.target, `#{${name}}`]).trim();
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.target, ...keys]);
  }

  async waitForScreen(predicate: (screen: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    let last = '';
    try {
      return await waitUntil(() => {
        last = this.capture().join('\n');
        return predicate(last) ? last : false;
      }, timeoutMs, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen:\n${last}`);
    }
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }
}

/** Waits until `file` exists and holds a line; returns its text. */
export async function waitForFile(file: string, timeoutMs: number, what: string): Promise<string> {
  return waitUntil(() => (existsSync(file) && readFileSync(file, 'utf8').endsWith('\n') ? readFileSync(file, 'utf8') : false), timeoutMs, what);
}

/** Quotes a word for sh. */
export const sh = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
