/**
 * The ESP300 driver over a real pseudo-terminal: the simulator is served on one end of a socat
 * pair, the driver talks through PortHub -> SerialTransport (serialport) on the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { esp300Driver } from '../../src/drivers/esp300/index.js';
import { Esp300Simulator } from '../../src/drivers/esp300/simulator.js';
import type { DriverInstance } from '../../src/drivers/types.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import { failure } from '../helpers/errors.js';

const log = pino({ level: 'silent' });
let pty: PtyPair;
let hub: PortHub;
let server: SimulatorServer | undefined;
let sim: Esp300Simulator;
let instrument: DriverInstance;

async function serve(): Promise<void> {
  server = await serveSimulator({ path: pty.b, serial: esp300Driver.serial, simulators: [sim] });
}

beforeEach(async () => {
  pty = await startPtyPair();
  sim = new Esp300Simulator({ axes: [1, 2] });
  await serve();
  hub = new PortHub({ defaultTimeoutMs: 300 });
  const options = esp300Driver.optionsSchema.parse({ axes: [1, 2] });
  const lease = await hub.acquire({ instrumentId: 'stage', port: pty.a, serial: esp300Driver.serial, multidrop: false });
  instrument = esp300Driver.create({ link: lease.link, config: { id: 'stage', params: { axis1_velocity: 20 }, options }, log });
  await instrument.init();
});

afterEach(async () => {
  await hub.closeAll();
  await server?.close();
  sim.dispose();
  await pty.dispose();
});

/** Retries `attempt` until it resolves (the instrument's reconnect loop does the same). */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

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

  it('unplug (socat killed) fails the next exchange as disconnected; after re-plug it works again', async () => {
    await instrument.setParam('axis1_position', 1);
    await server!.close();
    server = undefined;
    await pty.kill();
    const lost = await failure(instrument.poll());
    expect(['disconnected', 'port_not_found', 'port_error']).toContain(lost.kind);
    expect(lost.message).toMatch(/^stage: /);

    await pty.restart();
    await serve();
    // The simulated controller kept its state across the cable pull, like the real box would.
    await eventually(() => instrument.init(), 3000);
    expect(await instrument.poll()).toMatchObject({ axis1_position: 1, axis1_moving: false });
  });
});
