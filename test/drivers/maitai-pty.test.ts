/**
 * The MaiTai driver over a real pseudo-terminal: simulator served on one end of a socat pair,
 * PortHub -> SerialTransport on the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import type { DriverInstance } from '../../src/drivers/types.js';
import { startPtyInstrument, type PtyInstrument } from '../helpers/pty-instrument.js';
import { failure } from '../helpers/errors.js';

let rig: PtyInstrument;
let sim: MaiTaiSimulator;
let instrument: DriverInstance;

beforeEach(async () => {
  sim = new MaiTaiSimulator({ shutterOpen: true });
  rig = await startPtyInstrument({ driver: maitaiDriver, sim, id: 'laser', options: { reply_timeout_ms: 300 } });
  instrument = rig.instrument;
});

afterEach(async () => {
  await rig.dispose();
});

describe('maitai over a pty', () => {
  it('enforces the shutter rule end to end, then tunes and reads power', async () => {
    expect(await instrument.poll()).toEqual({ power_w: 0, wavelength_nm: 800, shutter: true });
    expect((await failure(instrument.setParam('emission', true))).kind).toBe('unsafe');
    expect(await instrument.setParam('shutter', false)).toBe(false);
    expect(await instrument.setParam('emission', true)).toBe(true);
    expect(await instrument.setParam('wavelength_nm', 1000)).toBe(1000);
    await instrument.setParam('shutter', true);
    const readings = await instrument.poll();
    expect(readings).toMatchObject({ wavelength_nm: 1000, shutter: true, emission: true });
    expect(readings.power_w).toBeCloseTo(2.25, 2);
    expect(sim.unsafeEmissionEvents).toBe(0);
    // Exactly the bytes of the protocol went over the wire (CR LF after each command).
    expect(sim.received).toContain('WAVELENGTH:1000');
  });

  it('garbage and silence become protocol_error and timeout, with the raw reply kept', async () => {
    sim.fault = 'garbage';
    const bad = await failure(instrument.poll());
    expect(bad.kind).toBe('protocol_error');
    expect(bad.details).toMatchObject({ command: 'POWER?', raw: '\u00ff#?' });
    sim.fault = 'silent';
    expect((await failure(instrument.poll())).kind).toBe('timeout');
    sim.fault = 'none';
    expect((await instrument.poll()).wavelength_nm).toBe(800);
  });

  it('survives an unplug and re-plug', async () => {
    await rig.unplug();
    expect(['disconnected', 'port_not_found', 'port_error']).toContain((await failure(instrument.poll())).kind);
    await rig.replug();
    expect((await instrument.poll()).shutter).toBe(true);
  });
});
