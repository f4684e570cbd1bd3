/**
 * systemd's side of the service protocol for tests: a real AF_UNIX datagram socket held by
 * /usr/bin/python3 (notify-listener.py) that records every sd_notify message with its arrival time
 * (CLOCK_MONOTONIC, the clock of MONOTONIC_USEC), and a daqd child started under it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DaqClient } from '../../src/client/client.js';
import { waitUntil } from '../helpers/daemon.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DAQD_BIN = join(ROOT, 'bin/daqd.js');
const LISTENER = join(import.meta.dirname, 'notify-listener.py');

export interface NotifyMessage {
  /** CLOCK_MONOTONIC at receipt, microseconds. */
  t: number;
  pid: number | null;
  fields: Record<string, string>;
  probe?: any;
}

export const monoUsec = () => Number(process.hrtime.bigint() / 1000n);

export class NotifyListener {
  readonly messages: NotifyMessage[] = [];
  private constructor(readonly path: string, private readonly proc: ChildProcess) {}

  /** Binds `path`; with `probeSocket`, asks daqd's socket for daemon.status the moment READY=1 arrives. */
  static async start(path: string, probeSocket?: string): Promise<NotifyListener> {
    const proc = spawn('/usr/bin/python3', [LISTENER, path, ...(probeSocket ? [probeSocket] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    const l = new NotifyListener(path, proc);
    let listening!: () => void;
    const ready = new Promise<void>((r) => (listening = r));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line === 'LISTENING') return listening();
      const m = JSON.parse(line) as NotifyMessage;
      if (m.fields.BARRIER === undefined) l.messages.push(m);
    });
    await ready;
    return l;
  }

  /** Messages carrying `field`. */
  with(field: string): NotifyMessage[] {
    return this.messages.filter((m) => m.fields[field] !== undefined);
  }

  waitFor(predicate: (m: NotifyMessage, index: number) => boolean, timeoutMs = 15_000, what = 'a notify message'): Promise<NotifyMessage> {
    return waitUntil(() => this.messages.find(predicate), timeoutMs, what);
  }

  close(): void {
    this.proc.kill('SIGKILL');
  }
}

export interface ServiceDaemon {
  dir: string;
  configPath: string;
  socketPath: string;
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  call<T = any>(method: string, params?: unknown): Promise<T>;
  kill(): Promise<void>;
}

export const METER = (id: string, poll = 200) => `
[instruments.${id}]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = ${poll}
`;

/** A temp project (config/default.toml, .daq) for a daqd under systemd's variables. */
export function project(config: string): { dir: string; configPath: string; socketPath: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-svc-'));
  mkdirSync(join(dir, 'config'));
  const configPath = join(dir, 'config', 'default.toml');
  writeFileSync(configPath, config);
  return { dir, configPath, socketPath: join(dir, '.daq', 'daqd.sock'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts daqd (does not wait for anything). */
export function spawnDaqd(p: { dir: string; configPath: string; socketPath: string }, env: Record<string, string | undefined>, args: string[] = [], bin = DAQD_BIN): ServiceDaemon {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'JOURNAL_STREAM', 'LISTEN_FDS', 'LISTEN_PID', 'DAQD_SOCKET', 'DAQD_STATE_DIR', 'DAQD_CONFIG']) delete fullEnv[k];
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  else fullEnv[k] = v;
  const proc = spawn(process.execPath, [bin, '--config', p.configPath, ...args], { cwd: p.dir, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((r) => proc.once('close', (c) => r((code = c))));
  return {
    ...p,
    proc,
    output: () => out,
    exited,
    async call(method, params) {
      const c = await DaqClient.connect(p.socketPath);
      try {
        return await c.call(method, params);
      } finally {
        c.close();
      }
    },
    async kill() {
      if (code === undefined) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
