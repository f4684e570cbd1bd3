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

    it('on init applies a closed shutter before emission and an open shutter after it', async () => {
      hub = new PortHub();
      const { sim } = await connect({ shutterOpen: false }, { emission: true, shutter: true, wavelength_nm: 780 });
      expect(sim.received.slice(1)).toEqual(['WAVELENGTH:780', 'WAVELENGTH?', 'SHUTTER?', 'ON', 'SHUTTER:1', 'SHUTTER?']);
      expect(sim.unsafeEmissionEvents).toBe(0);
    });

    it('fails init as unsafe when the config wants emission but the shutter is open', async () => {
      hub = new PortHub();
      const { sim, ready } = attach({ shutterOpen: true }, { emission: true, shutter: true });
      const err = await failure((await ready).init());
      expect(err.kind).toBe('unsafe');
      expect(sim.received).not.toContain('ON');
    });
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
