/**
 * Hostile and careless use of daqd's sockets and files through real daqd child processes (issue
 * #16): subscribers that hang up or stop reading, a --socket path that is not a socket, and a
 * permissive umask. Ids and nested JSON: hostile-input.test.ts.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaqClient } from '../../src/client/client.js';
import { DAQD_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { RawClient } from './daemon-raw-client.js';
import { NO_FILE_CHANGES, STACK_LINE, fdCount, meters, responses, runDaqd } from './hostile-input-helpers.js';

describe('subscribers that hang up or stop reading', () => {
  let daqd: DaemonHandle;
  const ids = ['pm1', 'pm2', 'pm3', 'pm4'];

  beforeAll(async () => {
    // Fast polls so a non-reading subscriber's buffers fill in a few seconds; a short heartbeat so
    // the stall check (4 intervals) runs within a test's timeout.
    daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(ids, 10, 'baud_rate = 115200\ncheck_status = false\n'), args: ['--heartbeat-ms', '250'] });
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  /** daemon.status once only the caller's own connection is left (nothing else connected). */
  async function settled(): Promise<any> {
    return waitUntil(
      async () => {
        const s = await daqd.call('daemon.status');
        return s.clients.connections === 1 && s.clients.subscribers === 0 ? s : undefined;
      },
      10_000,
      'daqd to count only the status connection',
    );
  }

  it('50 clients subscribe with a quiet filter and end: 0 subscribers, fds back to where they started', async () => {
    await settled();
    const fdsBefore = fdCount(daqd.proc.pid!);
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawClient.connect(daqd.socketPath)));
    await Promise.all(
      clients.map(async (c) => {
        c.request(1, 'events.subscribe', { types: ['module.alarm'], instruments: ['pm1'] });
        expect((await c.response(1)).result.subscribed).toBe(true);
      }),
    );
    expect((await daqd.call('daemon.status')).clients.subscribers).toBe(50);
    for (const c of clients) c.socket.end();
    const s = await settled();
    expect(s.clients.queuedEvents).toBe(0);
    // daqd ends its side too: each client sees the close.
    await waitUntil(() => clients.every((c) => c.isClosed), 10_000, 'daqd to close the 50 connections');
    await waitUntil(() => Math.abs(fdCount(daqd.proc.pid!) - fdsBefore) <= Math.max(1, fdsBefore * 0.1), 10_000, `daqd's fd count back to ${fdsBefore}`);
  });

  it('a half-open subscriber (end while events keep coming for it, reading nothing) is cleaned up', async () => {
    await settled();
    const fdsBefore = fdCount(daqd.proc.pid!);
    const half = await RawClient.connect(daqd.socketPath);
    half.request(1, 'events.subscribe', {});
    await half.response(1);
    await half.waitFor((m) => m.method === 'reading', 5000, 'readings to flow');
    half.socket.pause();
    half.socket.end();
    const s = await settled();
    expect(s.clients.queuedEvents).toBe(0);
    await waitUntil(() => Math.abs(fdCount(daqd.proc.pid!) - fdsBefore) <= Math.max(1, fdsBefore * 0.1), 10_000, `daqd's fd count back to ${fdsBefore}`);
    half.close();
  });

  it('a subscriber that stops reading for good (no FIN) is closed once its output has not moved for 4 heartbeat intervals', async () => {
    await settled();
    const fdsBefore = fdCount(daqd.proc.pid!);
    const frozen = await RawClient.connect(daqd.socketPath);
    frozen.request(1, 'events.subscribe', {});
    await frozen.response(1);
    const warnings = () => daqd.output().split('closing a client connection that read nothing').length - 1;
    const warnedBefore = warnings();
    frozen.socket.pause();
    await waitUntil(() => warnings() > warnedBefore, 20_000, 'daqd to close the connection that reads nothing');
    await settled();
    await waitUntil(() => Math.abs(fdCount(daqd.proc.pid!) - fdsBefore) <= Math.max(1, fdsBefore * 0.1), 10_000, `daqd's fd count back to ${fdsBefore}`);
    frozen.close();
  });

  it('a subscriber on a quiet filter gets daemon.heartbeat; a reading one stays connected', async () => {
    const quiet = await RawClient.connect(daqd.socketPath);
    quiet.request(1, 'events.subscribe', { types: ['module.alarm'] });
    await quiet.response(1);
    const hb = await quiet.waitFor((m) => m.method === 'daemon.heartbeat', 5000, 'a heartbeat');
    expect(hb.params.intervalMs).toBe(250);
    expect(Number.isNaN(Date.parse(hb.params.at))).toBe(false);
    // Many intervals later it is still connected and answering.
    const count = quiet.messages.filter((m) => m.method === 'daemon.heartbeat').length;
    await quiet.waitFor(() => quiet.messages.filter((m) => m.method === 'daemon.heartbeat').length >= count + 6, 5000, 'more heartbeats');
    quiet.request(2, 'daemon.status');
    expect((await quiet.response(2)).result.clients.subscribers).toBe(1);
    quiet.close();
  });

  it('a client that sends requests and ends gets every answer, then daqd closes', async () => {
    const c = await RawClient.connect(daqd.socketPath);
    c.request(1, 'events.subscribe', {});
    for (let i = 2; i <= 20; i++) c.request(i, 'instrument.get', { id: 'pm1' });
    c.socket.end();
    await waitUntil(() => c.isClosed, 10_000, 'daqd to close after answering');
    const answered = new Set(responses(c.messages).map((m) => m.id));
    for (let i = 1; i <= 20; i++) expect(answered.has(i), `answer ${i}`).toBe(true);
    await settled();
  });
});

describe.concurrent('--socket at a path that is not a socket', () => {
  let dir: string;
  // These tests run side by side, and daqd allows one daqd per config file: each its own file, or
  // one would be refused for the other's lock instead of for its socket path.
  const configFor = (name: string): string => {
    const file = join(dir, `${name}.toml`);
    writeFileSync(file, NO_FILE_CHANGES + meters(['pm1'], 500));
    return file;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-sockpath-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a regular file: exit 1 naming the path and the type; the file is untouched', async () => {
    const file = join(dir, 'precious.txt');
    writeFileSync(file, 'lab notebook\n');
    const r = await runDaqd(['--config', configFor('file'), '--state-dir', join(dir, 'st1'), '--socket', file], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the socket path ${file} is a regular file, not a socket`);
    expect(r.out).not.toMatch(STACK_LINE);
    expect(readFileSync(file, 'utf8')).toBe('lab notebook\n');
  });

  it('a directory: refused, left alone', async () => {
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    writeFileSync(join(sub, 'inside'), 'x');
    const r = await runDaqd(['--config', configFor('dir'), '--state-dir', join(dir, 'st2'), '--socket', sub], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the socket path ${sub} is a directory, not a socket`);
    expect(existsSync(join(sub, 'inside'))).toBe(true);
  });

  it('a stale socket file (its process died) is replaced', async () => {
    const home = join(dir, 'stale');
    mkdirSync(join(home, 'state'), { recursive: true });
    const path = join(home, 'state', 'daqd.sock');
    // A process that binds the socket and dies without unlinking it.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      child.once('exit', resolve);
    });
    expect(code).toBeNull();
    expect(statSync(path).isSocket()).toBe(true);
    const daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(['pm1'], 500), dir: home });
    try {
      expect((await daqd.call('daemon.status')).pid).toBe(daqd.proc.pid);
      expect(statSync(path).mode & 0o777).toBe(0o660);
    } finally {
      await daqd.dispose();
    }
  });
});

describe('permissions under umask 000', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-umask-'));
    writeFileSync(join(dir, 'c.toml'), NO_FILE_CHANGES + meters(['pm1'], 500));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts daqd under `umask 000` and waits until it answers; the caller kills it. */
  async function startUnderUmask0(args: string[], socketPath: string): Promise<{ kill: () => Promise<void>; output: () => string }> {
    const child = spawn('sh', ['-c', `umask 000; exec "${process.execPath}" "${DAQD_BIN}" "$@"`, 'sh', '--config', join(dir, 'c.toml'), ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => child.once('close', resolve));
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`daqd exited early:\n${out}`);
        try {
          const c = await DaqClient.connect(socketPath);
          await c.call('daemon.status');
          c.close();
          return true;
        } catch {
          return false;
        }
      },
      15_000,
      'daqd to answer',
    );
    return {
      output: () => out,
      kill: async () => {
        child.kill('SIGKILL');
        await exited;
      },
    };
  }

  it('the socket is 0660 from the moment it exists; the state dir is created 0750', async () => {
    const sockDir = join(dir, 'sockdir');
    mkdirSync(sockDir);
    const socketPath = join(sockDir, 'daqd.sock');
    const seen: number[] = [];
    // Every time the directory changes, look at the socket's mode at once.
    const watcher = watch(sockDir, () => {
      try {
        seen.push(statSync(socketPath).mode & 0o777);
      } catch {
        /* not there (yet, or any more) */
      }
    });
    const daqd = await startUnderUmask0(['--state-dir', join(dir, 'state'), '--socket', socketPath], socketPath);
    try {
      seen.push(statSync(socketPath).mode & 0o777);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.map((m) => m.toString(8))).toEqual(seen.map(() => '660'));
      expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o750);
    } finally {
      watcher.close();
      await daqd.kill();
    }
  });

  it('the default socket inside a state dir daqd creates: 0660 in 0750', async () => {
    const state = join(dir, 'state-default');
    const daqd = await startUnderUmask0(['--state-dir', state], join(state, 'daqd.sock'));
    try {
      expect(statSync(state).mode & 0o777).toBe(0o750);
      expect(statSync(join(state, 'daqd.sock')).mode & 0o777).toBe(0o660);
    } finally {
      await daqd.kill();
    }
  });

  // With the socket inside it, a world-writable directory is refused (issue #20: test/integration/service-socket.test.ts).
  it('an existing world-writable state dir (the socket elsewhere): daqd runs and warns', async () => {
    const state = join(dir, 'state-open');
    mkdirSync(state);
    chmodSync(state, 0o777);
    const socketPath = join(dir, 'sock-closed', 'daqd.sock');
    const daqd = await startUnderUmask0(['--state-dir', state, '--socket', socketPath], socketPath);
    try {
      expect(daqd.output()).toMatch(/state directory .* is world-writable \(mode 777\)/);
    } finally {
      await daqd.kill();
    }
  });
});
