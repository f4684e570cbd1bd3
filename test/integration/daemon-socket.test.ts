/**
 * The command socket as a client sees it, through a real daqd child process: framing and protocol
 * errors on one connection that keeps working, many clients at once, out-of-order responses matched
 * by id, a stalled subscriber that cannot stall anyone else, socket file mode, stale and live sockets.
 */
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAQD_BIN, EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { runNode } from '../helpers/run.js';
import { RawClient } from './daemon-raw-client.js';

const NO_FILE_CHANGES = `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false
`;

function meters(ids: string[], pollMs: number, extra = ''): string {
  return ids
    .map((id) => `[instruments.${id}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = ${pollMs}\n${extra}`)
    .join('\n');
}

/** Readings of one instrument, in arrival order, must have consecutive seq numbers. */
function seqGaps(events: { method: string; params: any }[], instrument: string): number[] {
  const seqs = events.filter((e) => e.method === 'reading' && e.params.instrument === instrument).map((e) => e.params.seq as number);
  const gaps: number[] = [];
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1]! + 1) gaps.push(seqs[i]!);
  return gaps;
}

describe('daqd socket: protocol errors leave the connection and the daemon working', () => {
  let daqd: DaemonHandle;
  let raw: RawClient;

  beforeAll(async () => {
    daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(['pm1', 'pm2'], 50) });
    raw = await RawClient.connect(daqd.socketPath);
    await waitUntil(async () => (await daqd.call('instrument.list')).instruments.every((i: any) => i.state === 'ready'), 5000, 'both meters ready');
  });
  afterAll(async () => {
    raw?.close();
    await daqd?.dispose();
  });

  async function expectNextRequestWorks(id: number): Promise<void> {
    raw.request(id, 'instrument.get', { id: 'pm1' });
    const ok = await raw.response(id);
    expect(ok.error).toBeUndefined();
    expect(ok.result.id).toBe('pm1');
  }

  it('the socket file has mode 0660', () => {
    expect(statSync(daqd.socketPath).mode & 0o777).toBe(0o660);
  });

  it('invalid JSON gets parse_error (id null), then the same connection answers', async () => {
    raw.write('{"jsonrpc":"2.0","method":"daemon.status",\n');
    const err = await raw.waitFor((m) => m.error?.data.kind === 'parse_error', 5000, 'a parse error');
    expect(err.id).toBeNull();
    expect(err.error!.code).toBe(-32700);
    expect(err.error!.message).toMatch(/JSON/);
    await expectNextRequestWorks(101);
  });

  it('a line over 1 MiB is discarded with parse_error; a 900 KiB request line is fine', async () => {
    const before = raw.messages.length;
    raw.write('x'.repeat(1024 * 1024 + 4096) + 'still the same line' + '\n');
    const err = await raw.waitFor((m) => raw.messages.indexOf(m) >= before && m.error?.data.kind === 'parse_error', 5000, 'the line-too-long error');
    expect(err.error!.message).toMatch(/longer than 1048576 bytes/);
    await expectNextRequestWorks(102);
    // Big but legal: unknown top-level members are ignored, so this is a plain status request.
    raw.write(JSON.stringify({ jsonrpc: '2.0', id: 103, method: 'daemon.status', padding: 'p'.repeat(900 * 1024) }) + '\n');
    const ok = await raw.response(103);
    expect(ok.result.instruments.total).toBe(2);
  });

  it('an unknown method gets method_not_found naming it', async () => {
    raw.request(104, 'instrument.frobnicate', { id: 'pm1' });
    const r = await raw.response(104);
    expect(r.error).toMatchObject({ code: -32601, data: { kind: 'method_not_found' } });
    expect(r.error!.message).toContain('instrument.frobnicate');
    await expectNextRequestWorks(105);
  });

  it('wrong params get invalid_params naming the field', async () => {
    raw.request(106, 'instrument.get', { id: 42 });
    const r = await raw.response(106);
    expect(r.error).toMatchObject({ code: -32602, data: { kind: 'invalid_params' } });
    expect(r.error!.message).toMatch(/instrument\.get: id/);
    raw.request(107, 'instrument.set', { id: 'pm1', params: { wavelength_nm: [1, 2] } });
    expect((await raw.response(107)).error!.data.kind).toBe('invalid_params');
    await expectNextRequestWorks(108);
  });

  it('a JSON object that is not JSON-RPC 2.0 gets invalid_request (with its id when it has one)', async () => {
    raw.write('{"hello":"daqd","id":109}\n');
    const r = await raw.response(109);
    expect(r.error).toMatchObject({ code: -32600, data: { kind: 'invalid_request' } });
    raw.write('{"jsonrpc":"1.0","method":"daemon.status","id":110}\n');
    expect((await raw.response(110)).error!.data.kind).toBe('invalid_request');
    raw.write('[]\n');
    await raw.waitFor((m) => m.id === null && m.error?.data.kind === 'invalid_request', 5000, 'the empty-batch error');
    await expectNextRequestWorks(111);
  });

  it('a notification (no id) gets no response, even when it fails', async () => {
    raw.write('{"jsonrpc":"2.0","method":"no.such.method"}\n');
    raw.request(112, 'daemon.status');
    await raw.response(112);
    expect(raw.messages.filter((m) => m.error?.message?.includes('no.such.method'))).toHaveLength(0);
  });

  it('after all that the daemon still polls and runs', async () => {
    expect(raw.isClosed).toBe(false);
    const a = (await daqd.call('instrument.get', { id: 'pm2' })).lastReading.seq;
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'pm2' })).lastReading.seq > a + 2, 5000, 'pm2 to keep polling');
    expect(daqd.proc.exitCode).toBeNull();
  });

  it('responses come in completion order, matched by id: a status overtakes a set queued before it', async () => {
    raw.request('set', 'instrument.set', { id: 'pm1', params: { wavelength_nm: 633 } });
    raw.request('status', 'daemon.status');
    await raw.response('set');
    const setIndex = raw.messages.findIndex((m) => m.id === 'set');
    const statusIndex = raw.messages.findIndex((m) => m.id === 'status');
    expect(statusIndex).toBeGreaterThanOrEqual(0);
    expect(statusIndex).toBeLessThan(setIndex);
    expect(raw.messages[setIndex]!.result.params).toEqual({ wavelength_nm: 633 });
  });

  it('20 clients at once, 10 requests each, every answer matched to its own request', async () => {
    const ids = ['pm1', 'pm2'];
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(daqd.socketPath)));
    try {
      clients.forEach((c, ci) => {
        for (let k = 0; k < 10; k++) {
          const id = `${ci}-${k}`;
          if (k % 3 === 2) c.request(id, 'daemon.status');
          else c.request(id, 'instrument.get', { id: ids[(ci + k) % 2] });
        }
      });
      await Promise.all(
        clients.map(async (c, ci) => {
          for (let k = 0; k < 10; k++) {
            const r = await c.response(`${ci}-${k}`);
            expect(r.error).toBeUndefined();
            if (k % 3 === 2) expect(r.result.instruments.total).toBe(2);
            else expect(r.result.id).toBe(ids[(ci + k) % 2]);
          }
          expect(c.messages).toHaveLength(10);
        }),
      );
    } finally {
      clients.forEach((c) => c.close());
    }
  });
  it('a client that sends requests but never reads the answers is paused, not buffered; it gets every answer once it reads', async () => {
    const greedy = await RawClient.connect(daqd.socketPath);
    try {
      greedy.socket.pause();
      const n = 3000; // ~5 MB of daemon.status answers
      greedy.write(Array.from({ length: n }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: 'daemon.status' })).join('\n') + '\n');
      await waitUntil(async () => (await daqd.call('daemon.status')).clients.stalledClients === 1, 10_000, 'daqd to stop reading the greedy client');
      const t0 = performance.now();
      expect((await daqd.call('instrument.get', { id: 'pm1' })).state).toBe('ready');
      expect(performance.now() - t0).toBeLessThan(1000);
      greedy.socket.resume();
      await waitUntil(() => greedy.messages.length >= n, 20_000, `all ${n} answers`);
      expect(new Set(greedy.messages.map((m) => m.id)).size).toBe(n);
      expect(greedy.messages.every((m) => m.result?.instruments?.total === 2)).toBe(true);
      expect((await daqd.call('daemon.status')).clients.stalledClients).toBe(0);
    } finally {
      greedy.close();
    }
  });
});

describe('daqd socket: a subscriber that never reads cannot stall the daemon', () => {
  const ids = Array.from({ length: 16 }, (_, i) => `m${i}`);
  let daqd: DaemonHandle;

  beforeAll(async () => {
    // Many fast, cheap polls so the stalled client's buffers fill within a few seconds.
    daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(ids, 10, 'baud_rate = 115200\ncheck_status = false\n') });
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  it('others keep getting answers and every reading; drops are counted and reported when it drains', async () => {
    const healthy = await EventRecorder.subscribe(daqd, { types: ['reading'] });
    const stalled = await RawClient.connect(daqd.socketPath);
    stalled.request(1, 'events.subscribe', {});
    await stalled.response(1);
    stalled.socket.pause(); // from here on it reads nothing

    const statusMs: number[] = [];
    const status = await waitUntil(
      async () => {
        const t0 = performance.now();
        const s = await daqd.call('daemon.status');
        statusMs.push(performance.now() - t0);
        return s.clients.droppedEvents > 0 ? s : undefined;
      },
      20_000,
      'daqd to start dropping events for the stalled subscriber',
    );
    expect(status.clients.queuedEvents).toBe(1000);
    expect(status.clients.subscribers).toBe(2);

    // Meanwhile: quick answers, and the healthy subscriber missed nothing.
    // Generous for a loaded CI machine: a stalled daemon would not answer at all.
    expect(Math.max(...statusMs)).toBeLessThan(1000);
    for (const id of ids) expect(seqGaps(healthy.events, id)).toEqual([]);
    const count = healthy.events.length;
    await healthy.waitFor(() => healthy.events.length > count + 200, 5000, 'readings to keep coming');

    stalled.socket.resume();
    const dropped = await stalled.waitFor((m) => m.method === 'events.dropped', 15_000, 'the events.dropped notification');
    expect(dropped.params.count).toBeGreaterThan(0);
    expect(dropped.params.total).toBeGreaterThanOrEqual(dropped.params.count);
    // The stalled client's connection still works once it reads again.
    stalled.request(2, 'daemon.status');
    expect((await stalled.response(2, 10_000)).result.clients.droppedEvents).toBeGreaterThanOrEqual(dropped.params.count);
    stalled.close();
    healthy.close();
  });
});

describe('daqd socket file at start-up', () => {
  const config = NO_FILE_CHANGES + meters(['pm1'], 50);

  it('a stale socket file (daqd killed with SIGKILL) is replaced', async () => {
    const first = await startDaemon({ config });
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(existsSync(first.socketPath)).toBe(true);
    const second = await startDaemon({ config, dir: first.dir });
    try {
      expect((await second.call('daemon.status')).pid).toBe(second.proc.pid);
      expect(statSync(second.socketPath).mode & 0o777).toBe(0o660);
    } finally {
      await second.dispose();
      await first.dispose();
    }
  });

  it('a live socket makes a second daqd exit 1 with a clear message; the first keeps running', async () => {
    const first = await startDaemon({ config });
    try {
      const seqBefore = (await first.call('instrument.get', { id: 'pm1' })).lastReading?.seq ?? 0;
      // Another config file and state dir (one daqd per config is refused earlier: instance.test.ts), the same socket.
      const otherConfig = `${first.dir}/other.toml`;
      copyFileSync(first.configPath, otherConfig);
      const { code, out } = await runNode(DAQD_BIN, ['--config', otherConfig, '--socket', first.socketPath, '--state-dir', `${first.dir}/state2`]);
      expect(code).toBe(1);
      expect(out).toContain(`another daqd is already listening on ${first.socketPath}`);
      expect(out).not.toMatch(/^\s+at /m);
      // The first daqd still owns its socket and keeps polling.
      expect(existsSync(first.socketPath)).toBe(true);
      const s = await first.call('daemon.status');
      expect(s.pid).toBe(first.proc.pid);
      await waitUntil(async () => (await first.call('instrument.get', { id: 'pm1' })).lastReading.seq > seqBefore + 2, 5000, 'the first daqd to keep polling');
    } finally {
      await first.dispose();
    }
  });
});
