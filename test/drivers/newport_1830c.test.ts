import { afterEach, describe, expect, it } from 'vitest';
import { driver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { formatPower } from '../../src/drivers/newport_1830c/protocol.js';
import { validateParamValue } from '../../src/drivers/common/params.js';
import type { DriverConfig, ParamValue } from '../../src/drivers/types.js';
import { startRig, type DriverRig, type RigKind } from '../helpers/driver-rig.js';

type Options = Parameters<typeof driver.create>[0]['config']['options'];
let rig: DriverRig<Newport1830cSimulator> | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

function config(params: Record<string, ParamValue> = {}, options: Partial<Options> = {}): DriverConfig<Options> {
  return { id: 'pm1', params, options: driver.optionsSchema.parse({ sim: { power_w: 5e-4 }, ...options }) };
}

const decl = (name: string) => driver.params(config().options).find((p) => p.name === name)!;

describe('newport_1830c protocol', () => {
  it('formats power the way the meter does: sign, mantissa without leading zero, exponent', () => {
    expect(formatPower(7.5e-10, 'W')).toBe('+.7500E-9');
    expect(formatPower(1.234e-3, 'W')).toBe('+.1234E-2');
    expect(formatPower(-15.2449, 'dBm')).toBe('-15.24');
    expect(Number(formatPower(3.3e-7, 'W'))).toBeCloseTo(3.3e-7, 12);
  });

  it('validates values with messages naming instrument, parameter and the allowed range', () => {
    expect(() => validateParamValue(decl('wavelength_nm'), 2000, 'pm1')).toThrow(
      expect.objectContaining({ kind: 'out_of_range', message: 'pm1: wavelength_nm must be an integer between 400 and 1100 nm (got 2000)' }),
    );
    expect(() => validateParamValue(decl('wavelength_nm'), 'eight hundred', 'pm1')).toThrow(expect.objectContaining({ kind: 'invalid_params' }));
    expect(() => validateParamValue(decl('wavelength_nm'), 800.5, 'pm1')).toThrow(expect.objectContaining({ kind: 'invalid_params' }));
    expect(validateParamValue(decl('wavelength_nm'), 800, 'pm1')).toBe(800);
    expect(validateParamValue(decl('attenuator'), true, 'pm1')).toBe(true);
    expect(validateParamValue(decl('units'), 'dBm', 'pm1')).toBe('dBm');
    expect(() => validateParamValue(decl('filter'), 'turbo', 'pm1')).toThrow(
      expect.objectContaining({ kind: 'out_of_range', message: expect.stringContaining('"slow", "medium", "fast"') }),
    );
  });

  it('refuses unknown option keys in the config', () => {
    expect(driver.optionsSchema.safeParse({ check_staus: true }).success).toBe(false);
  });
});

describe.each<RigKind>(['sim', 'pty'])('newport_1830c driver over %s', (kind) => {
  const start = async (params: Record<string, ParamValue> = {}, timeoutMs = 3000) =>
    (rig = await startRig<Options, Newport1830cSimulator>(kind, { definition: driver, config: config(params), timeoutMs }));

  it('identifies the meter and brings it to the configured params', async () => {
    const { driver: d, sim } = await start({ wavelength_nm: 633, attenuator: true, filter: 'medium', units: 'W' });
    await d.init();
    expect(sim.state).toMatchObject({ wavelengthNm: 633, attenuator: true, filter: 'medium', units: 'W' });
    expect(sim.received).toContain('W0633');
  });

  it('refuses to init against something that is not an 1830-C', async () => {
    const { driver: d, sim } = await start();
    sim.control.garbage = 'HELLO';
    await expect(d.init()).rejects.toMatchObject({ kind: 'protocol_error', message: expect.stringMatching(/^pm1: .*Newport 1830-C/) });
  });

  it('polls a plausible power that follows the attenuator', async () => {
    const { driver: d } = await start();
    await d.init();
    const open = await d.poll();
    expect(open.power_unit).toBe('W');
    expect(open.power as number).toBeGreaterThan(4.5e-4);
    expect(open.power as number).toBeLessThan(5.5e-4);
    await d.setParam('attenuator', true);
    const attenuated = (await d.poll()).power as number;
    expect(attenuated).toBeGreaterThan(4.5e-7);
    expect(attenuated).toBeLessThan(5.5e-7);
  });

  it('sets every parameter and confirms it by reading back', async () => {
    const { driver: d, sim } = await start();
    await d.init();
    expect(await d.setParam('wavelength_nm', 1064)).toBe(1064);
    expect(await d.setParam('attenuator', true)).toBe(true);
    expect(await d.setParam('attenuator', false)).toBe(false);
    for (const f of ['fast', 'medium', 'slow']) expect(await d.setParam('filter', f)).toBe(f);
    for (const u of ['dBm', 'dB', 'REL', 'W']) expect(await d.setParam('units', u)).toBe(u);
    expect(sim.state).toMatchObject({ wavelengthNm: 1064, attenuator: false, filter: 'slow', units: 'W' });
    await d.setParam('units', 'dBm');
    const r = await d.poll();
    expect(r.power_unit).toBe('dBm');
    expect(r.power as number).toBeCloseTo(-3.0, 0); // 0.5 mW = -3 dBm
  });

  it('rejects invalid values before any byte is written', async () => {
    const { driver: d, sim } = await start();
    await d.init();
    const before = sim.received.length;
    await expect(d.setParam('wavelength_nm', 2000)).rejects.toMatchObject({ kind: 'out_of_range' });
    await expect(d.setParam('filter', 'turbo')).rejects.toMatchObject({ kind: 'out_of_range' });
    await expect(d.setParam('attenuator', 'maybe')).rejects.toMatchObject({ kind: 'invalid_params' });
    await expect(d.setParam('gain', 3)).rejects.toMatchObject({ kind: 'invalid_params' });
    // Prove the wire is idle: a real query goes through and is the only new line.
    await d.poll();
    expect(sim.received.slice(before)).toEqual(['D?', 'Q?']);
  });

  it('reports a garbage reply as protocol_error quoting it', async () => {
    const { driver: d, sim } = await start();
    await d.init();
    sim.control.garbage = '#@!';
    await expect(d.poll()).rejects.toMatchObject({ kind: 'protocol_error', message: expect.stringContaining('"#@!"') });
  });

  it('reports a silent meter as timeout naming the command', async () => {
    const { driver: d, sim, link } = await start({});
    await d.init();
    sim.control.silent = true;
    link.setDefaultTimeout(150);
    await expect(d.poll()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringContaining('D?') });
    // It recovers as soon as the meter answers again.
    sim.control.silent = false;
    link.setDefaultTimeout(3000);
    expect((await d.poll()).power).toBeGreaterThan(0);
  });

  it('flags a saturated reading (status byte bit 4) instead of failing the poll, and clears the flag once valid', async () => {
    const { driver: d, sim } = await start();
    await d.init();
    expect(await d.poll()).toMatchObject({ power_unit: 'W' });
    expect(d.readingsMeta!()).toEqual({ units: { power: 'W' } });
    // 5 mW on the bare detector: the meter shows its 2 mW ceiling and says saturated in Q?.
    sim.control.powerW = 5e-3;
    expect((await d.poll()).power).toBeCloseTo(2e-3, 6);
    expect(d.readingsMeta!()).toEqual({ units: { power: 'W' }, flags: { power: 'saturated' } });
    await d.setParam('units', 'dBm');
    await d.poll();
    expect(d.readingsMeta!()).toEqual({ units: { power: 'dBm' }, flags: { power: 'saturated' } });
    await d.setParam('units', 'W');
    await d.setParam('attenuator', true);
    expect((await d.poll()).power as number).toBeCloseTo(5e-6, 6);
    expect(d.readingsMeta!()).toEqual({ units: { power: 'W' } });
  });

  it('reports the unit in force after the meter was switched behind daqd\'s back (read back)', async () => {
    const { driver: d, sim } = await start();
    await d.init();
    sim.state.units = 'REL';
    expect(await d.readParams!(['units'])).toEqual({ units: 'REL' });
    expect((await d.poll()).power_unit).toBe('REL');
    expect(d.readingsMeta!()).toEqual({ units: { power: 'REL' } });
  });

  it('reports refused sets as device_error', async () => {
    const { driver: d, sim } = await start();
    await d.init();
    sim.control.refuseSets = true;
    await expect(d.setParam('wavelength_nm', 900)).rejects.toMatchObject({ kind: 'device_error', message: expect.stringContaining('refused') });
    expect(sim.state.wavelengthNm).toBe(800);
  });

  it('sends a set again even when the meter already holds the value', async () => {
    const { driver: d, sim } = await start({ wavelength_nm: 633 });
    await d.init();
    const before = sim.received.length;
    expect(await d.setParam('wavelength_nm', 633)).toBe(633);
    expect(await d.setParam('attenuator', false)).toBe(false);
    expect(sim.received.slice(before)).toEqual(['W0633', 'Q?', 'W?', 'A0', 'Q?', 'A?']);
  });

  it('reads every parameter back from the meter, including changes made at its front panel', async () => {
    const { driver: d, sim } = await start({ wavelength_nm: 800 });
    await d.init();
    Object.assign(sim.state, { wavelengthNm: 1064, attenuator: true, filter: 'fast', units: 'dBm' });
    expect(await d.readParams!(['wavelength_nm', 'attenuator', 'filter', 'units', 'gain'])).toEqual({
      wavelength_nm: 1064,
      attenuator: true,
      filter: 'fast',
      units: 'dBm',
    });
    expect(sim.received.slice(-4)).toEqual(['W?', 'A?', 'F?', 'U?']);
  });

  it('declares every parameter a setpoint that can be read back', () => {
    expect(driver.params(config().options).map((p) => [p.name, p.kind, p.readBack])).toEqual([
      ['wavelength_nm', 'setpoint', true],
      ['attenuator', 'setpoint', true],
      ['filter', 'setpoint', true],
      ['units', 'setpoint', true],
    ]);
  });

  it('fails with disconnected after an unplug and works again after re-plug', async () => {
    const r = await start();
    await r.driver.init();
    await r.unplug();
    const lost = await r.driver.poll().catch((e) => e);
    expect(lost.kind).toBe('disconnected');
    // Reconnect attempts while the device is gone fail the same way, saying why.
    await expect(r.driver.init()).rejects.toMatchObject({ kind: 'disconnected', message: expect.stringContaining('cannot reopen') });
    await r.replug();
    await r.driver.init(); // what the instrument actor does on each reconnect attempt
    expect((await r.driver.poll()).power).toBeGreaterThan(0);
  });
});
