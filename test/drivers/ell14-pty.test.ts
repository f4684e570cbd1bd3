/** The ELL14 driver over a real pseudo-terminal, one mount on the bus. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ell14Driver } from '../../src/drivers/ell14/index.js';
import { Ell14Simulator } from '../../src/drivers/ell14/simulator.js';
import type { DriverInstance } from '../../src/drivers/types.js';
import { startPtyInstrument, type PtyInstrument } from '../helpers/pty-instrument.js';
import { failure } from '../helpers/errors.js';
import { waitFor } from '../helpers/pty.js';

let rig: PtyInstrument;
let sim: Ell14Simulator;
let instrument: DriverInstance;

beforeEach(async () => {
  sim = new Ell14Simulator({ address: 'C', speedDegPerS: 3000 });
  rig = await startPtyInstrument({ driver: ell14Driver, sim, id: 'polariser', options: { address: 'c' }, timeoutMs: 300 });
  instrument = rig.instrument;
});

afterEach(async () => {
  await rig.dispose();
});

describe('ell14 over a pty', () => {
  it('moves and polls in degrees; status codes become device_error', async () => {
    expect(await instrument.setParam('position_deg', 270)).toBe(270);
    expect(await instrument.poll()).toEqual({ position_deg: 270 });
    expect(sim.received.at(-2)).toBe('Cma0001A400'); // 270 deg = 107520 pulses = 0x1A400
    sim.failNextMoveWith = 2;
    const err = await failure(instrument.setParam('position_deg', 0));
    expect(err.kind).toBe('device_error');
    expect(err.details).toMatchObject({ raw: 'CGS02', status: 2 });
  });

  it('abort during a move: st is interjected over the serial port, the mount stops and the set rejects with aborted', async () => {
    const slow = new Ell14Simulator({ address: 'C', speedDegPerS: 90 });
    await rig.dispose();
    sim = slow;
    rig = await startPtyInstrument({ driver: ell14Driver, sim, id: 'polariser', options: { address: 'c' }, timeoutMs: 300 });
    instrument = rig.instrument;
    const move = failure(instrument.setParam('position_deg', 270)); // 3 s at 90 deg/s
    await waitFor(() => slow.isMoving && slow.positionDeg > 5, 3000, 'the mount to be turning');
    await instrument.abort!();
    const err = await move;
    expect(err.kind).toBe('aborted');
    expect(err.message).toMatch(/^polariser: move to 270 deg aborted at \d+\.\d{3} deg$/);
    expect(slow.isMoving).toBe(false);
    expect(slow.received.slice(-2)).toEqual(['Cma0001A400', 'Cst']);
    const stoppedAt = slow.positionDeg;
    expect(stoppedAt).toBeGreaterThan(5);
    expect(stoppedAt).toBeLessThan(270);
    expect(await instrument.readParams!(['position_deg'])).toEqual({ position_deg: stoppedAt });
  });

  it('garbage and silence become protocol_error and timeout', async () => {
    sim.fault = 'garbage';
    expect((await failure(instrument.poll())).kind).toBe('protocol_error');
    sim.fault = 'silent';
    expect((await failure(instrument.poll())).kind).toBe('timeout');
    sim.fault = 'none';
    expect(await instrument.poll()).toEqual({ position_deg: 0 });
  });
});
