/**
 * The ESP300 driver over a real pseudo-terminal: the simulator is served on one end of a socat
 * pair, the driver talks through PortHub -> SerialTransport (serialport) on the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { esp300Driver } from '../../src/drivers/esp300/index.js';
import { Esp300Simulator } from '../../src/drivers/esp300/simulator.js';
import type { DriverInstance } from '../../src/drivers/types.js';
import { startPtyInstrument, type PtyInstrument } from '../helpers/pty-instrument.js';
import { failure } from '../helpers/errors.js';
import { waitFor } from '../helpers/pty.js';

let rig: PtyInstrument;
let sim: Esp300Simulator;
let instrument: DriverInstance;

beforeEach(async () => {
  sim = new Esp300Simulator({ axes: [1, 2] });
  rig = await startPtyInstrument({ driver: esp300Driver, sim, id: 'stage', options: { axes: [1, 2] }, params: { axis1_velocity: 20 }, timeoutMs: 300 });
  instrument = rig.instrument;
});

afterEach(async () => {
  await rig.dispose();
});

describe('esp300 over a pty', () => {
  it('polls, moves in real time, and reports controller errors', async () => {
    expect(await instrument.poll()).toEqual({ axis1_position: 0, axis1_moving: false, axis2_position: 0, axis2_moving: false });
    expect(await instrument.setParam('axis1_position', 2)).toBe(2);
    expect(sim.received.filter((c) => c === '1MD?').length).toBeGreaterThan(1);
    const err = await failure(instrument.setParam('axis2_velocity', 99));
    expect(err.kind).toBe('device_error');
    expect(err.message).toMatch(/AXIS-2 MAXIMUM VELOCITY EXCEEDED/);
  });

  it('garbage and silence become protocol_error and timeout; the next poll works again', async () => {
    sim.fault = 'garbage';
    expect((await failure(instrument.poll())).kind).toBe('protocol_error');
    sim.fault = 'silent';
    expect((await failure(instrument.poll())).kind).toBe('timeout');
    sim.fault = 'none';
    expect((await instrument.poll()).axis1_position).toBe(0);
  });

  it('abort during a move: ST goes out at once, the axis stops part way and the set rejects with aborted', async () => {
    await instrument.setParam('axis2_velocity', 5);
    const move = failure(instrument.setParam('axis2_position', 20)); // 4 s at 5 mm/s
    await waitFor(() => sim.isMoving(2) && sim.positionOf(2) > 0.2, 3000, 'axis 2 to be on its way');
    await instrument.abort!();
    const err = await move;
    expect(err.kind).toBe('aborted');
    expect(err.message).toMatch(/^stage: move of axis 2 to 20 mm aborted at \d+(\.\d+)? mm$/);
    expect(sim.received).toContain('2ST');
    expect(sim.isMoving(2)).toBe(false);
    const stoppedAt = sim.positionOf(2);
    expect(stoppedAt).toBeGreaterThan(0.2);
    expect(stoppedAt).toBeLessThan(20);
    expect((await instrument.readParams!(['axis2_position'])).axis2_position).toBeCloseTo(stoppedAt, 5);
  });

  it('init restores velocity only: no move command goes over the wire', async () => {
    expect(sim.received.some((c) => /PA/.test(c))).toBe(false);
    expect(sim.received).toContain('1VA20.000000');
  });

  it('unplug (socat killed) fails the next exchange as disconnected; after re-plug it works again', async () => {
    await instrument.setParam('axis1_position', 1);
    await rig.unplug();
    const lost = await failure(instrument.poll());
    expect(['disconnected', 'port_not_found', 'port_error']).toContain(lost.kind);
    expect(lost.message).toMatch(/^stage: /);

    // The simulated controller kept its state across the cable pull, like the real box would.
    await rig.replug();
    expect(await instrument.poll()).toMatchObject({ axis1_position: 1, axis1_moving: false });
  });
});
