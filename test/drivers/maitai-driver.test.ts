/**
 * The MaiTai driver against its simulator in-process, through the real PortHub, SimTransport
 * (paced at 9600 baud) and QueuedLink. The safety rule gets most of the attention.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator, type MaiTaiSimulatorOptions } from '../../src/drivers/maitai/simulator.js';
import type { DriverInstance, ParamValue } from '../../src/drivers/types.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { failure } from '../helpers/errors.js';

const log = pino({ level: 'silent' });
let hub: PortHub;
afterEach(async () => hub?.closeAll());

function attach(simOptions: MaiTaiSimulatorOptions = {}, params: Record<string, ParamValue> = {}, options: Record<string, unknown> = {}) {
  hub ??= new PortHub();
  const sim = new MaiTaiSimulator(simOptions);
  const ready = hub
    .acquire({ instrumentId: 'laser', port: 'sim', serial: maitaiDriver.serial, multidrop: false, createSimulator: () => sim })
    .then((lease) =>
      maitaiDriver.create({
        link: lease.link,
        config: { id: 'laser', params, options: maitaiDriver.optionsSchema.parse({ reply_timeout_ms: 200, ...options }) },
        log,
      }),
    );
  return { sim, ready };
}

async function connect(simOptions: MaiTaiSimulatorOptions = {}, params: Record<string, ParamValue> = {}) {
  const { sim, ready } = attach(simOptions, params);
  const instrument: DriverInstance = await ready;
  await instrument.init();
  return { sim, instrument };
}

describe('maitai driver (in-process simulator)', () => {
  it('identifies the laser and polls power, wavelength and shutter', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ wavelengthNm: 820 });
    expect(sim.received[0]).toBe('*IDN?');
    expect(await instrument.poll()).toEqual({ power_w: 0, wavelength_nm: 820, shutter: false });
  });

  it('sets the wavelength and confirms it; a wavelength the laser ignores is a device_error', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect();
    expect(await instrument.setParam('wavelength_nm', 920)).toBe(920);
    expect(sim.received).toContain('WAVELENGTH:920');
    // The core validates the 690-1040 range first; this reaches the laser only if it is bypassed.
    const err = await failure(instrument.setParam('wavelength_nm', 1100));
    expect(err.kind).toBe('device_error');
    expect(err.message).toMatch(/did not take wavelength 1100 nm; it reports 920 nm/);
  });

  it('reports power in W whatever unit the laser prints, and percent separately', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ emission: true, powerFormat: 'mW' });
    expect((await instrument.poll()).power_w).toBe(3);
    sim.powerFormat = '%';
    const readings = await instrument.poll();
    expect(readings.power_percent).toBe(100);
    expect(readings.power_w).toBeUndefined();
  });

  describe('safety rule: emission on only behind a confirmed closed shutter', () => {
    it('refuses ON while the shutter is open, and never sends it', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ shutterOpen: true });
      const err = await failure(instrument.setParam('emission', true));
      expect(err.kind).toBe('unsafe');
      expect(err.message).toMatch(/^laser: refusing to switch emission on while the shutter is open; close the shutter/);
      expect(sim.received).not.toContain('ON');
      expect(sim.emission).toBe(false);
    });

    it('treats an unreadable shutter (garbage or no reply) as open', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect();
      sim.fault = 'garbage';
      const garbled = await failure(instrument.setParam('emission', true));
      expect(garbled.kind).toBe('unsafe');
      expect(garbled.message).toMatch(/shutter is unknown \(could not read the shutter: .*unexpected reply to SHUTTER\?/);
      sim.fault = 'silent';
      const silent = await failure(instrument.setParam('emission', true));
      expect(silent.kind).toBe('unsafe');
      expect(silent.message).toMatch(/shutter is unknown .*no reply to SHUTTER\?/);
      expect(sim.received).not.toContain('ON');
    });

    it('allows ON once the shutter is closed and confirmed, then the shutter can open', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ shutterOpen: true });
      await failure(instrument.setParam('emission', true));
      expect(await instrument.setParam('shutter', false)).toBe(false);
      expect(await instrument.setParam('emission', true)).toBe(true);
      expect(sim.emission).toBe(true);
      expect(await instrument.setParam('shutter', true)).toBe(true);
      const readings = await instrument.poll();
      expect(readings).toMatchObject({ shutter: true, emission: true });
      expect(readings.power_w).toBeGreaterThan(2);
      expect(sim.unsafeEmissionEvents).toBe(0);
      expect(await instrument.setParam('emission', false)).toBe(false);
      expect(sim.emission).toBe(false);
    });

    it('switching emission off is always sent, whatever the shutter', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ shutterOpen: true, emission: true });
      expect(await instrument.setParam('emission', false)).toBe(false);
      expect(sim.received.at(-1)).toBe('OFF');
      expect(sim.emission).toBe(false);
    });
  });

  describe('start-up restores setpoints only', () => {
    it('init sets the wavelength and sends nothing to the shutter or emission', async () => {
      hub = new PortHub();
      const { sim } = await connect({ shutterOpen: false }, { wavelength_nm: 780 });
      expect(sim.received).toEqual(['*IDN?', 'WAVELENGTH:780', 'WAVELENGTH?']);
    });

    it('never performs an action at init, even if handed one: an open shutter and emission stay as they are', async () => {
      hub = new PortHub();
      const { sim, instrument } = await connect({ shutterOpen: true, emission: false }, { wavelength_nm: 900, shutter: false, emission: true });
      expect(sim.received).toEqual(['*IDN?', 'WAVELENGTH:900', 'WAVELENGTH?']);
      expect(sim.received.some((l) => /^(SHUTTER:|ON$|OFF$)/.test(l))).toBe(false);
      expect([sim.shutterOpen, sim.emission]).toEqual([true, false]);
      // The shutter is reported as the laser has it; emission is unknown after a connect (not reported).
      expect(await instrument.poll()).toEqual({ power_w: 0, wavelength_nm: 900, shutter: true });
    });
  });

  it('sends a set again even when the laser is already in that state', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ wavelengthNm: 800, shutterOpen: false });
    const before = sim.received.length;
    expect(await instrument.setParam('wavelength_nm', 800)).toBe(800);
    expect(await instrument.setParam('shutter', false)).toBe(false);
    expect(sim.received.slice(before)).toEqual(['WAVELENGTH:800', 'WAVELENGTH?', 'SHUTTER:0', 'SHUTTER?']);
  });

  it('reads the wavelength and shutter back as the laser has them (front panel changes included); emission is left out', async () => {
    hub = new PortHub();
    const { sim, instrument } = await connect({ wavelengthNm: 800 });
    sim.wavelengthNm = 920;
    sim.shutterOpen = true;
    expect(await instrument.readParams!(['wavelength_nm', 'shutter', 'emission', 'nope'])).toEqual({ wavelength_nm: 920, shutter: true });
    expect(sim.received.slice(-2)).toEqual(['WAVELENGTH?', 'SHUTTER?']);
  });

  it('declares the wavelength a setpoint and the shutter and emission actions; emission cannot be read back', () => {
    expect(maitaiDriver.params(maitaiDriver.optionsSchema.parse({})).map((p) => [p.name, p.kind, p.readBack])).toEqual([
      ['wavelength_nm', 'setpoint', true],
      ['shutter', 'action', true],
      ['emission', 'action', false],
    ]);
  });

  it('refuses a device that does not identify as a MaiTai', async () => {
    hub = new PortHub();
    const { sim, ready } = attach();
    sim.fault = 'garbage';
    const err = await failure((await ready).init());
    expect(err.kind).toBe('protocol_error');
    expect(err.message).toMatch(/does not identify as a MaiTai/);
  });
});
