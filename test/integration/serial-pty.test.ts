/**
 * daqd's real serial transport over socat pty pairs: the device simulator runs in this test process
 * on one end (serveSimulator), the daemon opens the other (`port = "<pty path>"`). Covers polling and
 * sets on the wire, reads that stay fast while a set waits on a silent device, unplug and re-plug
 * with a bystander that never misses a poll, and ports closed on remove and on SIGTERM.
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { DEFAULT_SERIAL } from '../../src/transport/serial-settings.js';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import type { RpcError } from '../../src/client/client.js';

const TIMEOUT_MS = 1500;
const STEADY_MS = 40;

function config(ptyPath: string): string {
  return `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[instruments.probe]
driver = "newport_1830c"
port = "${ptyPath}"
baud_rate = 9600
poll_interval_ms = 50
timeout_ms = ${TIMEOUT_MS}

[instruments.steady]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = ${STEADY_MS}
`;
}

/** How many of the daemon's open file descriptors point at this pty (through its symlink). */
function fdsOn(pid: number, ptyLink: string): number {
  const target = realpathSync(ptyLink);
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

type Event = { method: string; params: any };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const readings = (events: Event[], id: string) => events.filter((e) => e.method === 'reading' && e.params.instrument === id);
const states = (events: Event[], id: string) => events.filter((e) => e.method === 'instrument.state' && e.params.instrument === id).map((e) => e.params.state as string);

describe('daqd on a serial port (socat pty pair)', () => {
  let pty: PtyPair;
  let sim: Newport1830cSimulator;
  let server: SimulatorServer | undefined;
  let daqd: DaemonHandle;

  beforeAll(async () => {
    pty = await startPtyPair();
    sim = new Newport1830cSimulator({ noise: 0 });
    server = await serveSimulator({ path: pty.b, simulators: [sim] });
    daqd = await startDaemon({ config: config(pty.a) });
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'probe' })).lastReading, 10_000, 'probe to poll over the pty');
  });
  afterAll(async () => {
    await daqd?.dispose();
    await server?.close();
    await pty?.dispose();
  });

  it('polls and sets over the wire: the simulator on the far end holds the confirmed value', async () => {
    const r = await daqd.call('instrument.set', { id: 'probe', params: { wavelength_nm: 1064, filter: 'fast' } });
    expect(r.params).toEqual({ wavelength_nm: 1064, filter: 'fast' });
    expect(sim.state.wavelengthNm).toBe(1064);
    expect(sim.state.filter).toBe('fast');
    expect(sim.received).toContain('W1064');
    const got = await daqd.call('instrument.get', { id: 'probe' });
    expect(got).toMatchObject({ state: 'ready', port: pty.a, params: { wavelength_nm: 1064, filter: 'fast' } });
    expect(fdsOn(daqd.proc.pid!, pty.a)).toBe(1);
  });

  it('reads answer in well under the timeout while a set waits on a silent device', async () => {
    sim.control.silent = true;
    const client = await daqd.client();
    try {
      const t0 = Date.now();
      const set = client.call('instrument.set', { id: 'probe', params: { wavelength_nm: 700 } }).then(
        () => null,
        (e: RpcError) => e,
      );
      const readMs: number[] = [];
      let pending = true;
      void set.then(() => (pending = false));
      while (pending) {
        const s = performance.now();
        const [status, list] = await Promise.all([daqd.call('daemon.status'), daqd.call('instrument.list')]);
        readMs.push(performance.now() - s);
        expect(status.instruments.total).toBe(2);
        expect(list.instruments).toHaveLength(2);
      }
      const err = await set;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(err?.kind).toBe('timeout');
      expect(err?.message).toContain('probe');
      expect(readMs.length).toBeGreaterThanOrEqual(3);
      // Generous for a loaded CI machine, still a fraction of the time the set is stuck for.
      expect(median(readMs)).toBeLessThan(TIMEOUT_MS / 5);
      expect(Math.max(...readMs)).toBeLessThan(TIMEOUT_MS / 2);
    } finally {
      client.close();
      sim.control.silent = false;
    }
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'probe' })).state === 'ready', 10_000, 'probe to be ready again');
  });

  it('unplug -> probe goes to error; re-plug -> ready by itself; steady never misses a poll', async () => {
    const rec = await EventRecorder.subscribe(daqd, { types: ['reading', 'instrument.state'] });
    try {
      await rec.waitFor(() => readings(rec.events, 'steady').length >= 3 && readings(rec.events, 'probe').length >= 3, 10_000, 'steady and probe readings');
      const unplugged = rec.events.length;
      await pty.kill();
      await server?.close();
      server = undefined;
      const lost = await rec.waitFor(
        (e) => rec.events.indexOf(e) >= unplugged && e.method === 'instrument.state' && e.params.instrument === 'probe' && e.params.state === 'error',
        10_000,
        'probe -> error',
      );
      expect(lost.params.error.message).toContain('probe');
      expect((await daqd.call('instrument.get', { id: 'probe' })).state).not.toBe('ready');

      await pty.restart();
      server = await serveSimulator({ path: pty.b, simulators: [sim] });
      const mark = rec.events.length;
      await rec.waitFor((e) => rec.events.indexOf(e) >= mark && e.method === 'instrument.state' && e.params.instrument === 'probe' && e.params.state === 'ready', 15_000, 'probe -> ready after re-plug');
      await rec.waitFor((e) => rec.events.indexOf(e) > mark && e.method === 'reading' && e.params.instrument === 'probe', 5000, 'a probe reading after re-plug');
      const probeStates = states(rec.events.slice(unplugged), 'probe');
      expect(probeStates).toContain('error');
      expect(probeStates.at(-1)).toBe('ready');
      // The device kept its state and daqd put its configured values back on connect.
      expect(sim.state.wavelengthNm).toBe(1064);
      expect(fdsOn(daqd.proc.pid!, pty.a)).toBe(1); // the dead port's descriptor was closed, not leaked

      const steadyNow = readings(rec.events, 'steady').length;
      await rec.waitFor(() => readings(rec.events, 'steady').length >= steadyNow + 5, 5000, 'more steady readings');
      const steady = readings(rec.events, 'steady');
      const seqs = steady.map((e) => e.params.seq as number);
      expect(seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1)).toEqual([]);
      const times = steady.map((e) => Date.parse(e.params.ts));
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // At its interval throughout: no stall while the other port died and came back. A stall
      // behind the dead port would last its reply timeout (1500 ms); the bound leaves room for a
      // loaded CI machine's scheduling jitter and still catches that.
      expect(Math.max(...gaps)).toBeLessThan(Math.min(STEADY_MS * 10, TIMEOUT_MS / 3));
      expect(states(rec.events, 'steady')).toEqual([]);
    } finally {
      rec.close();
    }
  });

  it('instrument.remove closes the serial port', async () => {
    expect(fdsOn(daqd.proc.pid!, pty.a)).toBe(1);
    await daqd.call('instrument.remove', { id: 'probe' });
    expect(fdsOn(daqd.proc.pid!, pty.a)).toBe(0);
  });

  it('SIGTERM with a serial instrument open: exit 0 within 5 s, and the port is free to open again', async () => {
    await daqd.call('instrument.add', { id: 'probe2', config: { driver: 'newport_1830c', port: pty.a, poll_interval_ms: 20 } });
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'probe2' })).lastReading, 10_000, 'probe2 to poll');
    expect(fdsOn(daqd.proc.pid!, pty.a)).toBe(1);
    const t0 = Date.now();
    expect(await daqd.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    // Our own program on the same end, talking to the same simulator.
    const host = new SerialTransport(pty.a, DEFAULT_SERIAL);
    await host.open();
    try {
      let got = '';
      host.onData((chunk) => (got += chunk.toString('latin1')));
      await host.write(Buffer.from('W?\n'));
      await waitUntil(() => got.includes('\n'), 2000, 'the simulator to answer W?');
      expect(got.trim()).toBe('1064');
    } finally {
      await host.close();
    }
  });
});
