import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { driver } from '../../src/drivers/scpi/index.js';
import type { ScpiOptions } from '../../src/drivers/scpi/options.js';
import { ScpiSimulator } from '../../src/drivers/scpi/simulator.js';
import { getDriver, drivers } from '../../src/drivers/registry.js';
import type { DriverConfig, ParamValue } from '../../src/drivers/types.js';
import { startRig, type DriverRig, type RigKind } from '../helpers/driver-rig.js';

// A bench power supply described the way a user would in config/default.toml.
const TOML = `
[instruments.psu]
driver = "scpi"
port = "sim"
idn_contains = "PSU-3000"
sim = { idn = "ACME,PSU-3000,1234,2.1", values = { voltage = 5.0, current = 0.25 } }
channels.voltage = { query = "MEAS:VOLT:DC?", unit = "V" }
channels.current = { query = "MEAS:CURR?", unit = "A" }
channels.mode = { query = "SYST:MODE?", type = "string" }
controls.volt = { command = "VOLT {value}", query = "VOLT?", type = "number", min = 0, max = 30, unit = "V" }
controls.steps = { command = "STEP {value}", query = "STEP?", type = "integer", min = 1, max = 10 }
controls.output = { command = "OUTP {value}", query = "OUTP?", type = "boolean", format = "ON/OFF" }
controls.beep = { command = "SYST:BEEP {value}", type = "boolean" }
controls.range = { command = "RANG {value}", query = "RANG?", type = "enum", values = ["LOW", "HIGH"] }
controls.trigger = { command = "TRIG {value}", query = "TRIG?", type = "boolean", action = true }

[instruments.psu.params]
volt = 12.5
output = true
`;

function psuOptions(extra: Record<string, unknown> = {}): ScpiOptions {
  const table = (parseToml(TOML) as any).instruments.psu;
  const { driver: _d, port: _p, params: _params, ...options } = table;
  return driver.optionsSchema.parse({ ...options, ...extra });
}
function psuConfig(params?: Record<string, ParamValue>, extra: Record<string, unknown> = {}): DriverConfig<ScpiOptions> {
  const table = (parseToml(TOML) as any).instruments.psu;
  return { id: 'psu', params: params ?? table.params, options: psuOptions(extra) };
}

let rig: DriverRig<ScpiSimulator> | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

describe('scpi driver definition', () => {
  it('derives params and readings from the config', () => {
    const o = psuOptions();
    expect(driver.params(o).map((p) => [p.name, p.type, p.kind, p.readBack])).toEqual([
      ['volt', 'number', 'setpoint', true],
      ['steps', 'integer', 'setpoint', true],
      ['output', 'boolean', 'setpoint', true],
      ['beep', 'boolean', 'setpoint', false],
      ['range', 'enum', 'setpoint', true],
      ['trigger', 'boolean', 'action', true],
    ]);
    expect(driver.readings(o).map((r) => [r.name, r.unit])).toEqual([
      ['voltage', 'V'],
      ['current', 'A'],
      ['mode', undefined],
    ]);
  });

  it('refuses bad control definitions with the key that is wrong', () => {
    const noPlaceholder = driver.optionsSchema.safeParse({ controls: { v: { command: 'VOLT 5' } } });
    expect(noPlaceholder.success).toBe(false);
    expect(JSON.stringify(noPlaceholder.error?.issues)).toContain('{value}');
    const enumWithoutValues = driver.optionsSchema.safeParse({ controls: { r: { command: 'R {value}', type: 'enum' } } });
    expect(enumWithoutValues.success).toBe(false);
    expect(driver.optionsSchema.safeParse({ chanels: {} }).success).toBe(false);
  });

  it('is in the registry, and unknown names list the known ones', () => {
    expect(getDriver('scpi')).toBe(driver);
    expect(drivers.has('newport_1830c')).toBe(true);
    expect(() => getDriver('keithley')).toThrow(expect.objectContaining({ kind: 'unknown_driver', message: expect.stringContaining('scpi') }));
  });
});

describe.each<RigKind>(['sim', 'pty'])('scpi driver over %s', (kind) => {
  const start = async (params?: Record<string, ParamValue>, extra: Record<string, unknown> = {}, timeoutMs = 3000) =>
    (rig = await startRig<ScpiOptions, ScpiSimulator>(kind, { definition: driver, config: psuConfig(params, extra), timeoutMs }));

  it('checks *IDN?, clears old errors, and applies the configured params', async () => {
    const { driver: d, sim } = await start();
    sim.pushError(-300, 'Device-specific error'); // left over from before we connected
    await d.init();
    expect(sim.stored).toMatchObject({ volt: 12.5, output: true });
    expect(sim.received).toEqual(['*IDN?', 'SYST:ERR?', 'SYST:ERR?', 'VOLT 12.5', 'SYST:ERR?', 'VOLT?', 'OUTP ON', 'SYST:ERR?', 'OUTP?']);
  });

  it('refuses the wrong instrument', async () => {
    const { driver: d } = await start(undefined, { idn_contains: 'DMM-7510' });
    await expect(d.init()).rejects.toMatchObject({ kind: 'protocol_error', message: expect.stringContaining('ACME,PSU-3000') });
  });

  it('polls every channel with the right types', async () => {
    const { driver: d } = await start({});
    await d.init();
    const r = await d.poll();
    expect(r.voltage as number).toBeCloseTo(5.0, 1);
    expect(r.current as number).toBeCloseTo(0.25, 2);
    expect(r.mode).toBe('mode');
  });

  it('sets every control type and reads it back', async () => {
    const { driver: d, sim } = await start({});
    await d.init();
    expect(await d.setParam('volt', 3.3)).toBe(3.3);
    expect(await d.setParam('volt', 7)).toBe(7);
    expect(await d.setParam('steps', 4)).toBe(4);
    expect(await d.setParam('output', true)).toBe(true);
    expect(await d.setParam('output', false)).toBe(false);
    expect(await d.setParam('beep', true)).toBe(true); // no query: the sent value stands
    expect(await d.setParam('range', 'HIGH')).toBe('HIGH');
    expect(await d.setParam('trigger', true)).toBe(true);
    expect(sim.stored).toEqual({ volt: 7, steps: 4, output: false, beep: true, range: 'HIGH', trigger: true });
    expect(sim.received).toContain('OUTP OFF');
    expect(sim.received).toContain('SYST:BEEP 1');
  });

  it('rejects invalid values before any byte is written', async () => {
    const { driver: d, sim } = await start({});
    await d.init();
    const before = sim.received.length;
    await expect(d.setParam('volt', 31)).rejects.toMatchObject({
      kind: 'out_of_range',
      message: 'psu: volt must be a number between 0 and 30 V (got 31)',
    });
    await expect(d.setParam('steps', 2.5)).rejects.toMatchObject({ kind: 'invalid_params' });
    await expect(d.setParam('range', 'MEDIUM')).rejects.toMatchObject({ kind: 'out_of_range' });
    await expect(d.setParam('output', 'perhaps')).rejects.toMatchObject({ kind: 'invalid_params' });
    await expect(d.setParam('frequency', 50)).rejects.toMatchObject({ kind: 'invalid_params', message: expect.stringContaining('volt, steps') });
    expect(sim.received.length).toBe(before);
  });

  it('turns a device error after a set into device_error with the device text', async () => {
    // The device's own limit is tighter than the config's: only SYST:ERR? can tell.
    const { driver: d, sim } = await start({});
    await d.init();
    sim.pushError(-222, 'Data out of range');
    await expect(d.setParam('volt', 10)).rejects.toMatchObject({
      kind: 'device_error',
      message: 'psu: device refused "VOLT 10": -222,"Data out of range"',
    });
  });

  it('reports garbage as protocol_error and silence as timeout', async () => {
    const { driver: d, sim, link } = await start({}, {});
    await d.init();
    sim.control.garbage = 'NaN?!';
    await expect(d.poll()).rejects.toMatchObject({ kind: 'protocol_error', message: expect.stringContaining('MEAS:VOLT:DC?') });
    sim.control.garbage = undefined;
    sim.control.silent = true;
    link.setDefaultTimeout(150);
    await expect(d.poll()).rejects.toMatchObject({ kind: 'timeout', message: expect.stringContaining('MEAS:VOLT:DC?') });
    sim.control.silent = false;
    link.setDefaultTimeout(3000);
    expect((await d.poll()).voltage).toBeGreaterThan(0);
  });

  it('restores only setpoints at init: an action control in params is never sent', async () => {
    const { driver: d, sim } = await start({ volt: 12.5, trigger: true }, { check_errors: false });
    await d.init();
    expect(sim.received).toEqual(['*IDN?', 'VOLT 12.5', 'VOLT?']);
    expect(sim.stored.trigger).toBe(false);
  });

  it('sends a set again even when the device already holds the value', async () => {
    const { driver: d, sim } = await start({ volt: 12.5 }, { check_errors: false });
    await d.init();
    const before = sim.received.length;
    expect(await d.setParam('volt', 12.5)).toBe(12.5);
    expect(await d.setParam('beep', false)).toBe(false);
    await d.readParams!(['volt']); // answered only after the device has taken the line before it
    expect(sim.received.slice(before)).toEqual(['VOLT 12.5', 'VOLT?', 'SYST:BEEP 0', 'VOLT?']);
  });

  it('reads back controls with a query, as the device now holds them; others are left out', async () => {
    const { driver: d, sim } = await start({ volt: 12.5 });
    await d.init();
    // Changed at the front panel, behind daqd's back.
    Object.assign(sim.stored, { volt: 4.2, output: true, range: 'HIGH', steps: 9 });
    expect(await d.readParams!(['volt', 'steps', 'output', 'range', 'beep', 'nope'])).toEqual({ volt: 4.2, steps: 9, output: true, range: 'HIGH' });
  });

  it('sends declared units with the readings and flags SCPI overflow (9.9E37) and not-a-number (9.91E37)', async () => {
    const { driver: d, sim } = await start({});
    await d.init();
    await d.poll();
    expect(d.readingsMeta!()).toEqual({ units: { voltage: 'V', current: 'A' } });
    sim.control.values.voltage = 9.9e37;
    sim.control.values.current = -9.9e37;
    const r = await d.poll();
    expect(r.voltage).toBe(9.9e37);
    expect(d.readingsMeta!()).toEqual({ units: { voltage: 'V', current: 'A' }, flags: { voltage: 'over_range', current: 'over_range' } });
    sim.control.values.current = 9.91e37;
    sim.control.values.voltage = 5;
    await d.poll();
    expect(d.readingsMeta!()).toEqual({ units: { voltage: 'V', current: 'A' }, flags: { current: 'invalid' } });
    sim.control.values.current = 0.25;
    await d.poll();
    expect(d.readingsMeta!()).toEqual({ units: { voltage: 'V', current: 'A' } });
  });

  it('fails with disconnected after an unplug and works again after re-plug', async () => {
    const r = await start({});
    await r.driver.init();
    await r.unplug();
    const lost = await r.driver.poll().catch((e) => e);
    expect(lost.kind).toBe('disconnected');
    await r.replug();
    await r.driver.init();
    expect((await r.driver.poll()).voltage).toBeGreaterThan(0);
  });
});

describe('scpi simulator', () => {
  it('queues -113 for an unknown header and does not answer it', () => {
    const sim = new ScpiSimulator(psuOptions());
    const out: string[] = [];
    sim.onSend((b) => out.push(b.toString()));
    sim.receive(Buffer.from('FOO:BAR?\nSYST:ERR?\nSYST:ERR?\n'));
    expect(out).toEqual(['-113,"Undefined header"\n', '0,"No error"\n']);
  });
});
