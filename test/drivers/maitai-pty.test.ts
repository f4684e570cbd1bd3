/**
 * The MaiTai driver over a real pseudo-terminal: simulator served on one end of a socat pair,
 * PortHub -> SerialTransport on the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import type { DriverInstance } from '../../src/drivers/types.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import { failure } from '../helpers/errors.js';

const log = pino({ level: 'silent' });
let pty: PtyPair;
let hub: PortHub;
let server: SimulatorServer | undefined;
let sim: MaiTaiSimulator;
let instrument: DriverInstance;

async function serve(): Promise<void> {
  server = await serveSimulator({ path: pty.b, serial: maitaiDriver.serial, simulators: [sim] });
}

beforeEach(async () => {
  pty = await startPtyPair();
  sim = new MaiTaiSimulator({ shutterOpen: true });
  await serve();
  hub = new PortHub();
  const lease = await hub.acquire({ instrumentId: 'laser', port: pty.a, serial: maitaiDriver.serial, multidrop: false });
  const options = maitaiDriver.optionsSchema.parse({ reply_timeout_ms: 300 });
  instrument = maitaiDriver.create({ link: lease.link, config: { id: 'laser', params: {}, options }, log });
  await instrument.init();
});

afterEach(async () => {
  await hub.closeAll();
  await server?.close();
  sim.dispose();
  await pty.dispose();
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
    await server!.close();
    server = undefined;
    await pty.kill();
    expect(['disconnected', 'port_not_found', 'port_error']).toContain((await failure(instrument.poll())).kind);
    await pty.restart();
    await serve();
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        await instrument.init();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    expect((await instrument.poll()).shutter).toBe(true);
  });
});
