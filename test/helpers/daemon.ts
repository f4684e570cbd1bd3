/**
 * Starts a real daqd child process on a temp config and talks to it over its real Unix socket.
 * Ready = the socket accepts a request (as the contract defines it); no fixed sleeps anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DaqClient } from '../../src/client/client.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const DAQD_BIN = join(ROOT, 'bin/daqd.js');
export const DAQCTL_BIN = join(ROOT, 'bin/daqctl.js');

export interface DaemonHandle {
  dir: string;
  configPath: string;
  socketPath: string;
  proc: ChildProcess;
  /** Everything the daemon wrote to stdout and stderr so far. */
  output(): string;
  client(): Promise<DaqClient>;
  /** One call on a fresh connection. */
  call<T = any>(method: string, params?: unknown): Promise<T>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** Config text; written to <dir>/config/default.toml. */
  config: string;
  /** Reuse a directory (restart tests). */
  dir?: string;
  env?: Record<string, string>;
  args?: string[];
  readyTimeoutMs?: number;
}

export async function waitUntil<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startDaemon(options: StartOptions): Promise<DaemonHandle> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'daqd-it-'));
  const configPath = join(dir, 'default.toml');
  const socketPath = join(dir, 'state', 'daqd.sock');
  if (options.config !== undefined && !options.dir) writeFileSync(configPath, options.config);
  else if (options.config !== undefined) writeFileSync(configPath, options.config);
  const proc = spawn(process.execPath, [DAQD_BIN, '--config', configPath, '--state-dir', join(dir, 'state'), ...(options.args ?? [])], {
    cwd: dir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d.toString()));
  proc.stderr!.on('data', (d) => (out += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((res) => proc.once('close', (code) => res((exitCode = code))));

  const handle: DaemonHandle = {
    dir,
    configPath,
    socketPath,
    proc,
    output: () => out,
    client: () => DaqClient.connect(socketPath),
    async call(method, params) {
      const c = await DaqClient.connect(socketPath);
      try {
        return await c.call(method, params);
      } catch (err) {
        // daqd went away mid-call: say how it ended and what it logged last, or the test only
        // sees "closed the connection".
        if (err instanceof Error && /closed the connection/.test(err.message)) {
          const how = exitCode !== undefined ? `daqd exited with ${exitCode}` : `daqd still running (pid ${proc.pid})`;
          err.message += ` (${how}; last output:\n${out.slice(-3000)})`;
        }
        throw err;
      } finally {
        c.close();
      }
    },
    async stop(signal = 'SIGTERM') {
      if (exitCode !== undefined) return exitCode;
      proc.kill(signal);
      return exited;
    },
    exited,
    async dispose() {
      if (exitCode === undefined) {
        proc.kill('SIGKILL');
        await exited;
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };

  await waitUntil(
    async () => {
      if (exitCode !== undefined) throw new Error(`daqd exited with ${exitCode} before it was ready:\n${out}`);
      try {
        await handle.call('daemon.status');
        return true;
      } catch {
        return false;
      }
    },
    options.readyTimeoutMs ?? 15_000,
    `daqd to accept requests on ${socketPath}`,
  );
  return handle;
}

/** Collects notifications on a subscribed connection and lets a test wait for one. */
export class EventRecorder {
  readonly events: { method: string; params: any }[] = [];
  private constructor(readonly client: DaqClient) {
    client.onNotification((method, params) => this.events.push({ method, params }));
  }

  static async subscribe(handle: DaemonHandle, filter: object = {}): Promise<EventRecorder> {
    const client = await handle.client();
    const rec = new EventRecorder(client);
    await client.call('events.subscribe', filter);
    return rec;
  }

  waitFor(predicate: (e: { method: string; params: any }) => boolean, timeoutMs = 10_000, what = 'an event'): Promise<{ method: string; params: any }> {
    return waitUntil(() => this.events.find(predicate), timeoutMs, what);
  }

  close(): void {
    this.client.close();
  }
}
