/**
 * Commands through a real daqd child process: bad input is refused with a clear, typed error and
 * loses nothing (other instruments keep polling without a gap, the file is untouched); sets are
 * validated, written and confirmed; a poll interval change applies at the next cycle without a
 * burst; concurrent mutations from several clients run one at a time, in arrival order, none lost.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { RawClient } from './daemon-raw-client.js';
import type { RpcError } from '../../src/client/client.js';

const CONFIG = `# integration test bench
[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm1.params]
wavelength_nm = 800 # the laser's line

[instruments.bystander]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 30
`;

type Event = { method: string; params: any };

function readingsOf(events: Event[], instrument: string): { seq: number; t: number }[] {
  return events
    .filter((e) => e.method === 'reading' && e.params.instrument === instrument)
    .map((e) => ({ seq: e.params.seq as number, t: Date.parse(e.params.ts as string) }));
}

function gapsIn(seqs: number[]): number[] {
  return seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function refusal(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (err) {
    return err as RpcError;
  }
  throw new Error('daqd accepted a request it should have refused');
}

describe('daqd commands: bad input is refused clearly and loses nothing', () => {
  let daqd: DaemonHandle;
  let bystander: EventRecorder;
  let fileBefore: string;

  beforeAll(async () => {
    daqd = await startDaemon({ config: CONFIG });
    bystander = await EventRecorder.subscribe(daqd, { types: ['reading'], instruments: ['bystander'] });
    await bystander.waitFor((e) => e.method === 'reading', 5000, 'a bystander reading');
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'pm1' })).state === 'ready', 5000, 'pm1 ready');
    fileBefore = readFileSync(daqd.configPath, 'utf8');
  });
  afterAll(async () => {
    bystander?.close();
    await daqd?.dispose();
  });

  const add = (id: string, config: Record<string, unknown>) => daqd.call('instrument.add', { id, config });

  it('unknown driver -> unknown_driver, naming the instrument and the known drivers', async () => {
    const e = await refusal(add('lamp', { driver: 'newport_9999', port: 'sim' }));
    expect(e.kind).toBe('unknown_driver');
    expect(e.message).toContain('lamp');
    expect(e.message).toContain('"newport_9999"');
    expect(e.message).toContain('newport_1830c');
  });

  it('duplicate id -> already_exists', async () => {
    const e = await refusal(add('pm1', { driver: 'newport_1830c', port: 'sim' }));
    expect(e.kind).toBe('already_exists');
    expect(e.message).toMatch(/"pm1" already exists/);
  });

  it('invalid id -> invalid_params showing the id', async () => {
    const e = await refusal(add('pm 3!', { driver: 'newport_1830c', port: 'sim' }));
    expect(e.kind).toBe('invalid_params');
    expect(e.message).toContain('"pm 3!"');
    expect(e.message).toMatch(/letters, digits/);
  });

  it('a serial port that does not exist is accepted and retried, as in the file; wait says at once that it did not connect', async () => {
    const r = await daqd.call('instrument.add', { id: 'pm3', config: { driver: 'newport_1830c', port: '/dev/ttyUSB-daqd-test-missing' }, persist: false, wait: true, timeoutMs: 5000 });
    expect(r.state).toBe('error');
    expect(r.error.kind).toBe('port_not_found');
    expect(r.error.message).toContain('/dev/ttyUSB-daqd-test-missing');
    await daqd.call('instrument.remove', { id: 'pm3', persist: false });
  });

  it('a port that is not a serial device (a file, /dev/zero) -> validation_failed saying why, as in the file', async () => {
    for (const port of ['/etc/hostname', '/dev/zero']) {
      const e = await refusal(add('pm3', { driver: 'newport_1830c', port }));
      expect(e.kind).toBe('validation_failed');
      expect(e.message).toMatch(/not a serial port/);
    }
  });

  it('add with a bad parameter -> out_of_range naming the instrument, the value and the range (as set does)', async () => {
    const e = await refusal(add('pm3', { driver: 'newport_1830c', port: 'sim', params: { wavelength_nm: 5000 } }));
    expect(e.kind).toBe('out_of_range');
    expect(e.message).toMatch(/^pm3: wavelength_nm must be an integer between 400 and 1100 nm \(got 5000\)/);
  });

  it('add with a typo in a key -> validation_failed naming the key path', async () => {
    const e = await refusal(add('pm3', { driver: 'newport_1830c', port: 'sim', poll_intervall_ms: 100 }));
    expect(e.kind).toBe('validation_failed');
    expect(e.message).toContain('instruments.pm3.poll_intervall_ms');
  });

  it('set: wrong type -> invalid_params; out of range -> out_of_range; unknown name -> invalid_params', async () => {
    const type = await refusal(daqd.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 'red' } }));
    expect(type.kind).toBe('invalid_params');
    expect(type.message).toMatch(/^pm1: wavelength_nm must be an integer .*\(got "red"\)/);
    const range = await refusal(daqd.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 1101 } }));
    expect(range.kind).toBe('out_of_range');
    expect(range.message).toMatch(/^pm1: wavelength_nm .* 400 and 1100 nm \(got 1101\)/);
    const enumRange = await refusal(daqd.call('instrument.set', { id: 'pm1', params: { filter: 'ultra' } }));
    expect(enumRange.kind).toBe('out_of_range');
    const unknown = await refusal(daqd.call('instrument.set', { id: 'pm1', params: { gain: 2 } }));
    expect(unknown.kind).toBe('invalid_params');
    expect(unknown.message).toMatch(/pm1: driver newport_1830c has no parameter "gain" \(settable: wavelength_nm/);
    const tooFast = await refusal(daqd.call('instrument.set', { id: 'pm1', params: { poll_interval_ms: 1 } }));
    expect(tooFast.kind).toBe('invalid_params');
    const missing = await refusal(daqd.call('instrument.set', { id: 'pm9', params: { wavelength_nm: 600 } }));
    expect(missing.kind).toBe('not_found');
    expect(missing.message).toContain('"pm9"');
  });

  it('none of that changed anything: same instruments, same values, same file; the bystander never missed a poll', async () => {
    const list = (await daqd.call('instrument.list')).instruments;
    expect(list.map((i: any) => i.id).sort()).toEqual(['bystander', 'pm1']);
    expect(list.every((i: any) => i.state === 'ready')).toBe(true);
    expect((await daqd.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(800);
    expect(readFileSync(daqd.configPath, 'utf8')).toBe(fileBefore);
    const n = bystander.events.length;
    await bystander.waitFor(() => bystander.events.length >= n + 5, 5000, 'more bystander readings');
    const seqs = readingsOf(bystander.events, 'bystander').map((r) => r.seq);
    expect(gapsIn(seqs)).toEqual([]);
    expect(daqd.proc.exitCode).toBeNull();
  });

  it('set validates, writes, confirms: the result and instrument.get hold the device value; the file keeps its comment', async () => {
    const r = await daqd.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 633, attenuator: true, filter: 'fast' } });
    expect(r.params).toEqual({ wavelength_nm: 633, attenuator: true, filter: 'fast' });
    expect(r.persisted.written).toBe(true);
    const got = await daqd.call('instrument.get', { id: 'pm1' });
    expect(got.params).toMatchObject({ wavelength_nm: 633, attenuator: true, filter: 'fast' });
    const file = readFileSync(daqd.configPath, 'utf8');
    expect(file).toMatch(/wavelength_nm = 633 # the laser's line/);
    expect(file).toMatch(/attenuator = true/);
  });
});

describe('daqd commands: poll interval changes and concurrent sets', () => {
  let daqd: DaemonHandle;

  beforeAll(async () => {
    daqd = await startDaemon({
      config: CONFIG.replace('enable_persistence = true', 'enable_persistence = false').replace('poll_interval_ms = 50', 'poll_interval_ms = 200'),
    });
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  it('poll_interval_ms applies at the next cycle, no restart, no burst (gaps between reading timestamps)', async () => {
    // command.applied comes on the same stream as the readings, so it marks exactly which
    // readings were emitted before and after each change.
    const rec = await EventRecorder.subscribe(daqd, { types: ['reading', 'instrument.state', 'command.applied'], instruments: ['pm1'] });
    const segment = (k: number) => {
      const marks = rec.events.flatMap((e, i) => (e.method === 'command.applied' ? [i] : []));
      const from = k === 0 ? 0 : marks[k - 1];
      if (from === undefined) return [];
      return readingsOf(rec.events.slice(from, marks[k] ?? rec.events.length), 'pm1');
    };
    try {
      await rec.waitFor(() => segment(0).length >= 7, 5000, '7 readings at 200 ms');
      const r = await daqd.call('instrument.set', { id: 'pm1', params: { poll_interval_ms: 50 } });
      expect(r.poll_interval_ms).toBe(50);
      const setAt = Date.now();
      await rec.waitFor(() => segment(1).length >= 16, 5000, '16 readings at 50 ms');
      await daqd.call('instrument.set', { id: 'pm1', params: { poll_interval_ms: 300 } });
      await rec.waitFor(() => segment(2).length >= 6, 5000, '6 readings at 300 ms');
      const [before, fastRun, slowRun] = [segment(0), segment(1), segment(2)];

      const gaps = (rs: { t: number }[]) => rs.slice(1).map((x, i) => x.t - rs[i]!.t);
      // Before: steady at 200 ms.
      expect(median(gaps(before))).toBeGreaterThanOrEqual(180);
      expect(median(gaps(before))).toBeLessThanOrEqual(260);
      // The change: the first new reading comes no later than the old cycle would have (plus
      // slack for a loaded machine; a change that waited for a restart would never come).
      expect(fastRun[0]!.t - before.at(-1)!.t).toBeLessThanOrEqual(200 + 250);
      // After: 50 ms. A timestamp is taken when a poll ends, so one gap can be short by the
      // jitter in poll duration; a burst (polls back to back to catch up) shows as too many
      // readings in a window instead: at 50 ms, any 300 ms holds 7 (8 allowed for load jitter).
      const fast = gaps(fastRun);
      expect(median(fast)).toBeGreaterThanOrEqual(40);
      expect(median(fast)).toBeLessThanOrEqual(90);
      const fastTimes = fastRun.map((x) => x.t);
      const densest = Math.max(...fastTimes.map((t) => fastTimes.filter((u) => u >= t && u < t + 300).length));
      expect(densest).toBeLessThanOrEqual(8);
      expect(fastRun.filter((x) => x.t <= setAt + 500).length).toBeLessThanOrEqual(500 / 50 + 2);
      // Longer again: once applied, no gap near the old 50 ms (the first reading after the change
      // may be a poll already in flight; from it on, every gap is the new interval, less at most
      // one poll's duration, which is long on a loaded machine).
      const slow = gaps(slowRun);
      expect(Math.min(...slow)).toBeGreaterThanOrEqual(200);
      expect(median(slow)).toBeGreaterThanOrEqual(280);
      expect(median(slow)).toBeLessThanOrEqual(400);
      // Same instrument, never reconnected, no reading missed.
      const all = readingsOf(rec.events, 'pm1');
      expect(gapsIn(all.map((x) => x.seq))).toEqual([]);
      const firstReading = rec.events.findIndex((e) => e.method === 'reading');
      expect(rec.events.slice(firstReading).filter((e) => e.method === 'instrument.state')).toEqual([]);
      expect((await daqd.call('instrument.get', { id: 'pm1' })).pollIntervalMs).toBe(300);
    } finally {
      rec.close();
    }
  });

  it('50 sets fired at once from 5 clients: all answered, one at a time in arrival order, the last queued wins', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(daqd.socketPath)));
    try {
      const base = (await daqd.call('daemon.status')).queue;
      const submitted = base.completed + base.pending;
      // 49 sets spread over five connections, written back to back without waiting.
      const sent = new Map<string, number>();
      for (let k = 0; k < 49; k++) {
        const c = k % 5;
        const wavelength = 500 + k;
        sent.set(`${c}-${k}`, wavelength);
        clients[c]!.request(`${c}-${k}`, 'instrument.set', { id: 'pm1', params: { wavelength_nm: wavelength }, persist: false });
      }
      // Once daqd has queued all 49, a 50th from a sixth client is certainly the last in line.
      await waitUntil(
        async () => {
          const q = (await daqd.call('daemon.status')).queue;
          return q.completed + q.pending >= submitted + 49;
        },
        10_000,
        'daqd to queue the 49 sets',
      );
      clients[5]!.request('last', 'instrument.set', { id: 'pm1', params: { wavelength_nm: 1064 }, persist: false });

      const last = await clients[5]!.response('last', 15_000);
      expect(last.result.params).toEqual({ wavelength_nm: 1064 });
      for (const [id, wavelength] of sent) {
        const r = await clients[Number(id.split('-')[0])]!.response(id, 15_000);
        expect(r.error).toBeUndefined();
        expect(r.result.params).toEqual({ wavelength_nm: wavelength });
      }
      // A FIFO queue answers each connection's requests in the order it sent them.
      for (let c = 0; c < 5; c++) {
        const order = clients[c]!.messages.map((m) => Number(String(m.id).split('-')[1]));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
      expect((await daqd.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(1064);
      const q = (await daqd.call('daemon.status')).queue;
      expect(q.completed).toBe(submitted + 50);
    } finally {
      clients.forEach((c) => c.close());
    }
  });
});
