/**
 * The ELL14 driver against its simulator in-process, through the real PortHub, SimTransport
 * (paced at 9600 baud) and QueuedLink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ell14Driver } from '../../src/drivers/ell14/index.js';
import { Ell14Simulator, type Ell14SimulatorOptions } from '../../src/drivers/ell14/simulator.js';
import type { DriverInstance, ParamValue } from '../../src/drivers/types.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { failure } from '../helpers/errors.js';
import { waitFor } from '../helpers/pty.js';

const log = pino({ level: 'silent' });
let hub: PortHub;
afterEach(async () => hub?.closeAll());

async function connect(simOptions: Ell14SimulatorOptions = {}, params: Record<string, ParamValue> = {}, options: Record<string, unknown> = {}) {
  hub ??= new PortHub({ defaultTimeoutMs: 300 });
  const parsed = ell14Driver.optionsSchema.parse({ address: '2', ...options });
  const sim = new Ell14Simulator({ address: parsed.address, speedDegPerS: 2000, ...simOptions });
  const lease = await hub.acquire({
    instrumentId: 'hwp',
    port: 'sim:rs485',
    serial: ell14Driver.serial,
    multidrop: true,
    busAddress: ell14Driver.busAddress!(parsed),
    createSimulator: () => sim,
  });
  const instrument: DriverInstance = ell14Driver.create({ link: lease.link, config: { id: 'hwp', params, options: parsed }, log });
  return { sim, instrument };
}

describe('ell14 driver (in-process simulator)', () => {
  it('reads the info block on init and polls the angle in degrees', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect();
    await instrument.init();
    expect(sim.received).toEqual(['2in']);
    expect(await instrument.poll()).toEqual({ position_deg: 0 });
  });

  it('never turns the mount at init, even when handed an angle (an action)', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect({}, { position_deg: 10 });
    await instrument.init();
    expect(sim.received).toEqual(['2in']);
    expect(sim.positionDeg).toBe(0);
  });

  it('moves to an angle, waiting for the PO reply, and returns the angle reached', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect();
    await instrument.init();
    expect(await instrument.setParam('position_deg', 10)).toBeCloseTo(10, 2);
    expect(sim.received).toEqual(['2in', '2ma00000F8E']); // 10 deg = 3982.2 -> 3982 pulses = 0xF8E
    expect(await instrument.setParam('position_deg', 45)).toBe(45);
    expect(sim.received.at(-1)).toBe('2ma00004600');
    expect(sim.positionDeg).toBe(45);
    expect(await instrument.poll()).toEqual({ position_deg: 45 });
  });

  it('sends a move again even to the angle the mount is at', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect();
    await instrument.init();
    expect(await instrument.setParam('position_deg', 0)).toBe(0);
    expect(await instrument.setParam('position_deg', 0)).toBe(0);
    expect(sim.received).toEqual(['2in', '2ma00000000', '2ma00000000']);
  });

  it('reads the angle back with gp, including a turn made behind daqd\'s back', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect();
    await instrument.init();
    sim.frontPanelMoveTo(90);
    expect(await instrument.readParams!(['position_deg', 'nope'])).toEqual({ position_deg: 90 });
    expect(sim.received.at(-1)).toBe('2gp');
    expect(await instrument.readParams!(['nope'])).toEqual({});
  });

  it('declares the angle an action that is read back', () => {
    expect(ell14Driver.params(ell14Driver.optionsSchema.parse({ address: '2' })).map((p) => [p.name, p.kind, p.readBack])).toEqual([
      ['position_deg', 'action', true],
    ]);
  });

  describe('abort', () => {
    it('abort() interjects st while the move waits for its reply; the mount stops and the set rejects with aborted', async () => {
      hub = new PortHub({ defaultTimeoutMs: 300 });
      const { sim, instrument } = await connect({ speedDegPerS: 90 });
      await instrument.init();
      const move = failure(instrument.setParam('position_deg', 180)); // 2 s at 90 deg/s
      await waitFor(() => sim.isMoving && sim.positionDeg > 5, 3000, 'the mount to be turning');
      await instrument.abort!();
      const err = await move;
      expect(err.kind).toBe('aborted');
      expect(err.message).toMatch(/^hwp: move to 180 deg aborted at \d+\.\d{3} deg$/);
      const stoppedAt = sim.positionDeg;
      expect(stoppedAt).toBeGreaterThan(5);
      expect(stoppedAt).toBeLessThan(180);
      expect(err.details).toMatchObject({ target: 180, stoppedAt });
      expect(sim.isMoving).toBe(false);
      expect(sim.received).toEqual(['2in', '2ma00011800', '2st']); // 180 deg = 71680 pulses
      expect(await instrument.poll()).toEqual({ position_deg: stoppedAt });
    });

    it('the set\'s signal alone stops the mount too', async () => {
      hub = new PortHub({ defaultTimeoutMs: 300 });
      const { sim, instrument } = await connect({ speedDegPerS: 90 });
      await instrument.init();
      const controller = new AbortController();
      const move = failure(instrument.setParam('position_deg', 180, controller.signal));
      await waitFor(() => sim.positionDeg > 5, 3000, 'the mount to be turning');
      controller.abort();
      expect((await move).kind).toBe('aborted');
      expect(sim.isMoving).toBe(false);
      expect(sim.received.at(-1)).toBe('2st');
    });

    it('works with firmware that answers the stopped move with GS00: the position is then asked with gp', async () => {
      hub = new PortHub({ defaultTimeoutMs: 300 });
      const { sim, instrument } = await connect({ speedDegPerS: 90, stopReply: 'status' });
      await instrument.init();
      const move = failure(instrument.setParam('position_deg', 180));
      await waitFor(() => sim.positionDeg > 5, 3000, 'the mount to be turning');
      await instrument.abort!();
      const err = await move;
      expect(err.kind).toBe('aborted');
      expect(err.details).toMatchObject({ stoppedAt: sim.positionDeg });
      expect(sim.received.slice(-2)).toEqual(['2st', '2gp']);
    });

    it('abort() on an idle mount sends nothing; a set whose signal already fired sends nothing either', async () => {
      hub = new PortHub({ defaultTimeoutMs: 300 });
      const { sim, instrument } = await connect();
      await instrument.init();
      await instrument.abort!();
      expect((await failure(instrument.setParam('position_deg', 30, AbortSignal.abort()))).kind).toBe('aborted');
      expect(await instrument.poll()).toEqual({ position_deg: 0 });
      expect(sim.received).toEqual(['2in', '2gp']);
    });
  });

  it('turns a GS status after a move into device_error naming the status', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect();
    await instrument.init();
    sim.failNextMoveWith = 2;
    const err = await failure(instrument.setParam('position_deg', 90));
    expect(err.kind).toBe('device_error');
    expect(err.message).toMatch(/^hwp: the mount at address 2 reported status 2 \(mechanical time out\)/);
    expect(err.details).toMatchObject({ raw: '2GS02', status: 2 });
    sim.failNextMoveWith = 13;
    expect((await failure(instrument.setParam('position_deg', 90))).message).toMatch(/over current/);
  });

  it('turns garbage into protocol_error with the raw reply, and silence into timeout', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect();
    await instrument.init();
    sim.fault = 'garbage';
    const bad = await failure(instrument.poll());
    expect(bad.kind).toBe('protocol_error');
    expect(bad.details).toMatchObject({ raw: '2#\u00ff!' });
    sim.fault = 'silent';
    const quiet = await failure(instrument.poll());
    expect(quiet.kind).toBe('timeout');
    expect(quiet.message).toMatch(/2gp/);
    sim.fault = 'none';
    expect(await instrument.poll()).toEqual({ position_deg: 0 });
  });

  it('times a lost move out after move_timeout_ms', async () => {
    hub = new PortHub({ defaultTimeoutMs: 300 });
    const { sim, instrument } = await connect({ speedDegPerS: 1 }, {}, { move_timeout_ms: 200 });
    await instrument.init();
    const err = await failure(instrument.setParam('position_deg', 180));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/2ma/);
    expect(sim.isMoving).toBe(true);
  });
});
