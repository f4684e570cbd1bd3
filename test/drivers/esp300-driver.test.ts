/**
 * The ESP300 driver against its simulator in-process, through the real PortHub, SimTransport
 * (paced at 19200 baud) and QueuedLink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { esp300Driver } from '../../src/drivers/esp300/index.js';
import { Esp300Simulator, type Esp300SimulatorOptions } from '../../src/drivers/esp300/simulator.js';
import type { DriverInstance, ParamValue } from '../../src/drivers/types.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { failure } from '../helpers/errors.js';
import { waitFor } from '../helpers/pty.js';

const log = pino({ level: 'silent' });
let hub: PortHub;
afterEach(async () => hub?.closeAll());

async function connect(
  options: Record<string, unknown> = {},
  simOptions: Esp300SimulatorOptions = {},
  params: Record<string, ParamValue> = {},
): Promise<{ sim: Esp300Simulator; instrument: DriverInstance }> {
  hub ??= new PortHub();
  const parsed = esp300Driver.optionsSchema.parse(options);
  const sim = new Esp300Simulator({ axes: parsed.axes, ...simOptions });
  const lease = await hub.acquire({
    instrumentId: 'stage',
    port: 'sim',
    serial: esp300Driver.serial,
    multidrop: false,
    createSimulator: () => sim,
  });
  const instrument = esp300Driver.create({ link: lease.link, config: { id: 'stage', params, options: parsed }, log });
  await instrument.init();
  return { sim, instrument };
}

describe('esp300 driver (in-process simulator)', () => {
  it('identifies the controller, turns motors on and polls position and motion per axis', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ axes: [1, 2] });
    expect(sim.received.slice(0, 2)).toEqual(['VE?', 'TB?']);
    expect(sim.received).toContain('1MO');
    expect(sim.received).toContain('2MO');
    expect(await instrument.poll()).toEqual({
      axis1_position: 0,
      axis1_moving: false,
      axis2_position: 0,
      axis2_moving: false,
    });
  });

  it('a position set moves the stage in real time, waits for motion done, and returns the confirmed position', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ axes: [1] }, {}, { axis1_velocity: 20 });
    const started = Date.now();
    const moved = instrument.setParam('axis1_position', 2.5); // 125 ms at 20 mm/s
    expect(await moved).toBe(2.5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(sim.received).toContain('1PA2.500000');
    // It really waited on the controller: MD? was asked more than once while the stage moved.
    expect(sim.received.filter((c) => c === '1MD?').length).toBeGreaterThan(1);
    expect(sim.positionOf(1)).toBe(2.5);
    expect(await instrument.poll()).toEqual({ axis1_position: 2.5, axis1_moving: false });
  });

  it('restores the configured velocity and acceleration on init and never moves a stage', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ axes: [1] }, { instantMoves: true }, { axis1_velocity: 3, axis1_acceleration: 12 });
    expect(sim.received).toEqual(['VE?', 'TB?', '1MO', 'TB?', '1SN?', '1VA3.000000', 'TB?', '1VA?', '1AC12.000000', 'TB?', '1AC?']);
    expect((await instrument.poll()).axis1_position).toBe(0);
  });

  it('does not move at init even when handed a position (an action)', async () => {
    hub = new PortHub();
    const { sim } = await connect({ axes: [1] }, { instantMoves: true }, { axis1_velocity: 3, axis1_position: -4 });
    expect(sim.received.some((c) => /PA/.test(c))).toBe(false);
    expect(sim.positionOf(1)).toBe(0);
  });

  it('sends a set again even when the controller already holds the value (a move to where the stage is, too)', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ axes: [1] }, {}, { axis1_velocity: 5 });
    const before = sim.received.length;
    expect(await instrument.setParam('axis1_velocity', 5)).toBe(5);
    expect(await instrument.setParam('axis1_position', 0)).toBe(0);
    const sent = sim.received.slice(before);
    expect(sent.slice(0, 3)).toEqual(['1VA5.000000', 'TB?', '1VA?']);
    expect(sent).toContain('1PA0.000000');
  });

  it('reads position, velocity and acceleration back from the controller, front panel changes included', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ axes: [1, 2] });
    sim.frontPanel(2, { velocity: 7.5, acceleration: 30, position: 12.25 });
    expect(await instrument.readParams!(['axis2_position', 'axis2_velocity', 'axis2_acceleration', 'axis1_velocity', 'axis3_velocity', 'nope'])).toEqual({
      axis2_position: 12.25,
      axis2_velocity: 7.5,
      axis2_acceleration: 30,
      axis1_velocity: 5,
    });
  });

  it('reports the unit the controller is set to (SN?) with the position readings', async () => {
    hub = new PortHub();
    const sim = new Esp300Simulator({ axes: [1, 2] });
    sim.frontPanel(2, { unitCode: 7 }); // a rotary stage, in degrees
    const lease = await hub.acquire({ instrumentId: 'stage', port: 'sim', serial: esp300Driver.serial, multidrop: false, createSimulator: () => sim });
    const instrument = esp300Driver.create({ link: lease.link, config: { id: 'stage', params: {}, options: esp300Driver.optionsSchema.parse({ axes: [1, 2] }) }, log });
    await instrument.init();
    expect(instrument.readingsMeta!()).toEqual({ units: { axis2_position: 'deg' } });
  });

  it('declares positions actions and velocity/acceleration setpoints, all read back', () => {
    expect(esp300Driver.params(esp300Driver.optionsSchema.parse({ axes: [1] })).map((p) => [p.name, p.kind, p.readBack])).toEqual([
      ['axis1_position', 'action', true],
      ['axis1_velocity', 'setpoint', true],
      ['axis1_acceleration', 'setpoint', true],
    ]);
  });

  describe('abort', () => {
    it('abort() stops the moving axis with ST ahead of queued traffic; the set rejects with aborted, saying where it stopped', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ axes: [1, 2] }, {}, { axis1_velocity: 5 });
      const move = failure(instrument.setParam('axis1_position', 20)); // 4 s at 5 mm/s
      await waitFor(() => sim.isMoving(1) && sim.positionOf(1) > 0.2, 3000, 'the stage to be on its way');
      const polls = [instrument.poll(), instrument.poll()];
      const before = sim.received.length;
      await instrument.abort!();
      const err = await move;
      expect(err.kind).toBe('aborted');
      expect(err.message).toMatch(/^stage: move of axis 1 to 20 mm aborted at \d+(\.\d+)? mm$/);
      const stoppedAt = Number(/aborted at ([\d.]+)/.exec(err.message)![1]);
      expect(stoppedAt).toBeGreaterThan(0.2);
      expect(stoppedAt).toBeLessThan(20);
      expect(sim.isMoving(1)).toBe(false);
      expect(sim.positionOf(1)).toBeCloseTo(stoppedAt, 5);
      // The stops went out before the queued polls (at most the exchange already on the wire came first).
      const after = sim.received.slice(before);
      expect(after.indexOf('1ST')).toBeLessThanOrEqual(1);
      expect(after.indexOf('2ST')).toBe(after.indexOf('1ST') + 1);
      await Promise.all(polls);
      const after2 = await instrument.poll();
      expect(after2.axis1_moving).toBe(false);
      expect(after2.axis1_position).toBeCloseTo(stoppedAt, 5);
    });

    it('the set\'s signal alone stops the axis too (the driver sends ST itself)', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ axes: [1] }, {}, { axis1_velocity: 5 });
      const controller = new AbortController();
      const move = failure(instrument.setParam('axis1_position', -15, controller.signal));
      await waitFor(() => sim.positionOf(1) < -0.2, 3000, 'the stage to be on its way');
      controller.abort();
      const err = await move;
      expect(err.kind).toBe('aborted');
      expect(err.message).toMatch(/^stage: move of axis 1 to -15 mm aborted at -\d+(\.\d+)? mm$/);
      expect(sim.received).toContain('1ST');
      expect(sim.isMoving(1)).toBe(false);
      expect(sim.positionOf(1)).toBeGreaterThan(-15);
    });

    it('a set whose signal has already fired sends nothing and rejects with aborted', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ axes: [1] });
      const before = sim.received.length;
      const err = await failure(instrument.setParam('axis1_position', 5, AbortSignal.abort()));
      expect(err.kind).toBe('aborted');
      expect(err.message).toMatch(/before it started/);
      expect(sim.received.length).toBe(before);
    });

    it('abort() on an idle controller stops nothing and does not fail', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ axes: [1, 3] });
      await instrument.abort!();
      expect(sim.received.slice(-2)).toEqual(['1ST', '3ST']);
      expect(await instrument.poll()).toMatchObject({ axis1_position: 0, axis1_moving: false });
    });
  });

  it('reads back velocity and acceleration after setting them', async () => {
    hub = new PortHub();
    const { instrument } = await connect();
    expect(await instrument.setParam('axis1_velocity', 7.25)).toBe(7.25);
    expect(await instrument.setParam('axis1_acceleration', 40)).toBe(40);
  });

  it('turns a controller refusal (TB? error) into device_error with the code and raw report', async () => {
    hub = new PortHub();
    const { instrument } = await connect({}, { maxVelocity: 25 });
    const err = await failure(instrument.setParam('axis1_velocity', 30));
    expect(err.kind).toBe('device_error');
    expect(err.message).toMatch(/^stage: .*AXIS-1 MAXIMUM VELOCITY EXCEEDED \(error 110\)/);
    expect(err.details).toMatchObject({ errors: [{ code: 110, raw: expect.stringMatching(/^110, \d+, AXIS-1 MAXIMUM/) }] });
    // The controller kept its previous velocity, and the driver still works.
    expect(await instrument.setParam('axis1_velocity', 10)).toBe(10);
  });

  it('reports a move past the software limit as device_error without waiting for motion', async () => {
    hub = new PortHub();
    const { instrument } = await connect({}, { travel: 50 });
    const err = await failure(instrument.setParam('axis1_position', 80));
    expect(err.kind).toBe('device_error');
    expect(err.message).toMatch(/POSITIVE SOFTWARE LIMIT/);
  });

  it('gives up on a move that takes far longer than distance/velocity, stops the axis, and says so', async () => {
    hub = new PortHub();
    // Simulated time crawls at 1/100 of real time: the stage cannot arrive within the budget.
    const { sim, instrument } = await connect(
      { move_timeout_factor: 1, move_timeout_margin_s: 0.2 },
      { timeScale: 0.01, maxAcceleration: 1000 },
      { axis1_velocity: 20, axis1_acceleration: 400 },
    );
    const err = await failure(instrument.setParam('axis1_position', 2));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/axis 1 was still moving .* the axis was stopped/);
    expect(sim.received.at(-1)).toBe('1ST');
    expect(sim.isMoving(1)).toBe(false);
  });

  it('turns a garbage reply into protocol_error with the raw reply, and silence into timeout', async () => {
    hub = new PortHub({ defaultTimeoutMs: 150 });
    const { sim, instrument } = await connect();
    sim.fault = 'garbage';
    const bad = await failure(instrument.poll());
    expect(bad.kind).toBe('protocol_error');
    expect(bad.details).toMatchObject({ command: '1TP?', raw: '#\u00ff?!' });
    sim.fault = 'silent';
    const quiet = await failure(instrument.poll());
    expect(quiet.kind).toBe('timeout');
    expect(quiet.message).toMatch(/1TP\?/);
    sim.fault = 'none';
    expect((await instrument.poll()).axis1_position).toBe(0);
  });

  it('rejects a device that is not an ESP300', async () => {
    hub = new PortHub();
    const sim = new Esp300Simulator();
    sim.fault = 'garbage';
    const lease = await hub.acquire({ instrumentId: 'stage', port: 'sim', serial: esp300Driver.serial, multidrop: false, createSimulator: () => sim });
    const instrument = esp300Driver.create({
      link: lease.link,
      config: { id: 'stage', params: {}, options: esp300Driver.optionsSchema.parse({}) },
      log,
    });
    const err = await failure(instrument.init());
    expect(err.kind).toBe('protocol_error');
    expect(err.message).toMatch(/does not identify as an ESP300/);
  });

  it('stops every axis on close', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ axes: [1, 3] });
    await instrument.close!();
    expect(sim.received.slice(-2)).toEqual(['1ST', '3ST']);
  });
});

describe('esp300 options', () => {
  it('rejects axes outside 1-3, duplicates and unknown keys', () => {
    expect(esp300Driver.optionsSchema.safeParse({ axes: [4] }).success).toBe(false);
    expect(esp300Driver.optionsSchema.safeParse({ axes: [1, 1] }).success).toBe(false);
    expect(esp300Driver.optionsSchema.safeParse({ axis: [1] }).success).toBe(false);
    expect(esp300Driver.params(esp300Driver.optionsSchema.parse({ axes: [2] })).map((p) => p.name)).toEqual([
      'axis2_position',
      'axis2_velocity',
      'axis2_acceleration',
    ]);
  });
});
