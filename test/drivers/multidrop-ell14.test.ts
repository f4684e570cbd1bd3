/**
 * The shared RS-485 bus with real traffic: two ELL14 simulators (addresses 2 and 3) served on ONE
 * end of a socat pty pair, two instruments leasing the other end through PortHub.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ell14Driver } from '../../src/drivers/ell14/index.js';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { Ell14Simulator } from '../../src/drivers/ell14/simulator.js';
import type { DriverInstance } from '../../src/drivers/types.js';
import { PortHub, type PortLease } from '../../src/transport/port-hub.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import type { DaqError } from '../../src/errors.js';
import { startPtyPair, waitFor, type PtyPair } from '../helpers/pty.js';
import { failure } from '../helpers/errors.js';

const log = pino({ level: 'silent' });
let pty: PtyPair;
let hub: PortHub;
let server: SimulatorServer | undefined;
let sims: Record<'2' | '3', Ell14Simulator>;

interface Mount {
  lease: PortLease;
  instrument: DriverInstance;
}

async function mount(id: string, address: string): Promise<Mount> {
  const options = ell14Driver.optionsSchema.parse({ address });
  const lease = await hub.acquire({
    instrumentId: id,
    port: pty.a,
    serial: ell14Driver.serial,
    multidrop: ell14Driver.multidrop,
    busAddress: ell14Driver.busAddress!(options),
  });
  const instrument = ell14Driver.create({ link: lease.link, config: { id, params: {}, options }, log });
  await instrument.init();
  return { lease, instrument };
}

async function serve(): Promise<void> {
  server = await serveSimulator({ path: pty.b, serial: ell14Driver.serial, simulators: [sims['2'], sims['3']] });
}

beforeEach(async () => {
  pty = await startPtyPair();
  sims = {
    '2': new Ell14Simulator({ address: '2', speedDegPerS: 2000 }),
    '3': new Ell14Simulator({ address: '3', speedDegPerS: 2000 }),
  };
  await serve();
  hub = new PortHub({ defaultTimeoutMs: 300 });
});

afterEach(async () => {
  await hub.closeAll();
  await server?.close();
  sims['2'].dispose();
  sims['3'].dispose();
  await pty.dispose();
});

describe('two ELL14 on one RS-485 bus (pty)', () => {
  it('share one open port; interleaved polls and moves land on the right mount', async () => {
    const a = await mount('hwp', '2');
    const b = await mount('qwp', '3');
    expect(a.lease.transport).toBe(b.lease.transport);
    expect(hub.ports()).toEqual([{ port: expect.any(String), instruments: ['hwp', 'qwp'], open: true }]);

    const results = await Promise.all([
      a.instrument.setParam('position_deg', 90),
      b.instrument.poll(),
      b.instrument.setParam('position_deg', 180),
      a.instrument.poll(),
      b.instrument.poll(),
    ]);
    expect(results).toEqual([90, { position_deg: 0 }, 180, { position_deg: 90 }, { position_deg: 180 }]);
    expect(sims['2'].positionDeg).toBe(90);
    expect(sims['3'].positionDeg).toBe(180);
    // Each mount acted only on frames carrying its own address.
    expect(sims['2'].received.every((f) => f.startsWith('2'))).toBe(true);
    expect(sims['3'].received.every((f) => f.startsWith('3'))).toBe(true);
    expect(sims['2'].received).toEqual(['2in', '2ma00008C00', '2gp']);
  });

  it('aborting one mount\'s move stops it while it holds the bus; the other mount\'s queued polls then run', async () => {
    const slow = new Ell14Simulator({ address: '2', speedDegPerS: 90 });
    await server!.close();
    sims['2'].dispose();
    sims['2'] = slow;
    await serve();
    const a = await mount('hwp', '2');
    const b = await mount('qwp', '3');
    const move = failure(a.instrument.setParam('position_deg', 180)); // 2 s at 90 deg/s, holding the bus
    await waitFor(() => slow.isMoving && slow.positionDeg > 5, 3000, 'hwp to be turning');
    const polls = [b.instrument.poll(), b.instrument.poll()]; // queued behind the move
    await a.instrument.abort!();
    const err = await move;
    expect(err.kind).toBe('aborted');
    expect(err.message).toMatch(/^hwp: move to 180 deg aborted at \d+\.\d{3} deg$/);
    expect(slow.isMoving).toBe(false);
    expect(slow.positionDeg).toBeLessThan(180);
    expect(await Promise.all(polls)).toEqual([{ position_deg: 0 }, { position_deg: 0 }]);
    // Each mount acted only on its own frames; st went to hwp alone, after its move.
    expect(slow.received).toEqual(['2in', '2ma00011800', '2st']);
    expect(sims['3'].received).toEqual(['3in', '3gp', '3gp']);
    expect(await a.instrument.poll()).toEqual({ position_deg: slow.positionDeg });
  });

  it('a fault on one mount is that instrument\'s error only; the other keeps working', async () => {
    const a = await mount('hwp', '2');
    const b = await mount('qwp', '3');
    sims['2'].fault = 'silent';
    const [lost, fine] = await Promise.allSettled([a.instrument.poll(), b.instrument.poll()]);
    expect(lost.status === 'rejected' && (lost.reason as DaqError).kind).toBe('timeout');
    expect(lost.status === 'rejected' && (lost.reason as DaqError).message).toMatch(/^hwp: /);
    expect(fine).toEqual({ status: 'fulfilled', value: { position_deg: 0 } });
    sims['2'].fault = 'none';
    sims['2'].failNextMoveWith = 2;
    const moveErr = await failure(a.instrument.setParam('position_deg', 45));
    expect(moveErr.kind).toBe('device_error');
    expect(await b.instrument.setParam('position_deg', 45)).toBe(45);
  });

  it('releasing or re-creating one mount leaves the other polling undisturbed; the port closes with the last', async () => {
    const a = await mount('hwp', '2');
    const b = await mount('qwp', '3');
    let polls = 0;
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        expect(await b.instrument.poll()).toEqual({ position_deg: 0 });
        polls++;
      }
    })();
    try {
      // Edit hwp the way the daemon does: release its lease and acquire a fresh one.
      await a.lease.release();
      const again = await mount('hwp', '2');
      expect(await again.instrument.setParam('position_deg', 30)).toBeCloseTo(30, 2); // 1 pulse = 0.0025 deg
      await again.lease.release();
      const pollsBefore = polls;
      while (polls < pollsBefore + 3) await b.instrument.poll().then(() => polls++);
    } finally {
      stop = true;
    }
    await poller;
    expect(hub.ports()).toEqual([{ port: expect.any(String), instruments: ['qwp'], open: true }]);
    await b.lease.release();
    expect(hub.ports()).toEqual([]);
    // The port can be taken again at once.
    const c = await mount('qwp', '3');
    expect(await c.instrument.poll()).toEqual({ position_deg: 0 });
  });

  it('rejects a second mount with the same address, and a non-multidrop instrument on the bus', async () => {
    await mount('hwp', '2');
    const dup = await failure(mount('other', '2'));
    expect(dup.kind).toBe('port_conflict');
    expect(dup.message).toMatch(/hwp/);
    expect(dup.message).toMatch(/other/);
    expect(dup.message).toMatch(/address 2|2/);
    const laser = await failure(
      hub.acquire({ instrumentId: 'laser', port: pty.a, serial: maitaiDriver.serial, multidrop: false }),
    );
    expect(laser.kind).toBe('port_conflict');
    expect(hub.ports()[0]!.instruments).toEqual(['hwp']);
  });

  it('an unplugged bus fails both mounts; after re-plug both work again', async () => {
    const a = await mount('hwp', '2');
    const b = await mount('qwp', '3');
    await server!.close();
    server = undefined;
    await pty.kill();
    const [ea, eb] = await Promise.all([failure(a.instrument.poll()), failure(b.instrument.poll())]);
    expect(['disconnected', 'port_not_found', 'port_error']).toContain(ea.kind);
    expect(['disconnected', 'port_not_found', 'port_error']).toContain(eb.kind);
    await pty.restart();
    await serve();
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        await a.instrument.init();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await b.instrument.init();
    expect(await b.instrument.setParam('position_deg', 10)).toBeCloseTo(10, 2);
    expect(await a.instrument.poll()).toEqual({ position_deg: 0 });
  });
});
