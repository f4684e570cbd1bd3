/**
 * modbus_rtu against its built-in simulator through SimTransport (and PortHub for a shared bus):
 * the same driver paths as against pymodbus, plus the faults only a simulator can stage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { modbusRtuDriver } from '../../src/drivers/modbus_rtu/index.js';
import { ModbusRtuSimulator } from '../../src/drivers/modbus_rtu/simulator.js';
import type { ModbusOptions } from '../../src/drivers/modbus_rtu/options.js';
import type { ParamValue } from '../../src/drivers/types.js';
import { QueuedLink } from '../../src/transport/link.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { SimTransport } from '../../src/transport/sim-transport.js';
import { DEFAULT_SERIAL, lineRate } from '../../src/transport/serial-settings.js';
import { MAP, countingLink, makeInstrument } from './modbus-fixtures.js';

const transports: SimTransport[] = [];
let hub: PortHub | undefined;
afterEach(async () => {
  transports.splice(0).forEach((t) => t.dispose());
  await hub?.closeAll();
  hub = undefined;
});

function simConfig(slaveId: number, params: Record<string, ParamValue> = {}, map: object = MAP) {
  const options: ModbusOptions = modbusRtuDriver.optionsSchema.parse({ slave_id: slaveId, ...map });
  return { id: `sim${slaveId}`, params, options };
}

async function onBus(sims: ModbusRtuSimulator[], timeoutMs = 500) {
  const transport = new SimTransport({ pacing: false });
  transports.push(transport);
  sims.forEach((s) => transport.attach(s));
  await transport.open();
  return new QueuedLink(transport, { lineRate: lineRate(DEFAULT_SERIAL), timeoutMs });
}

async function setup(params: Record<string, ParamValue> = {}, now?: () => number) {
  const sim = new ModbusRtuSimulator(simConfig(1, params), now);
  const link = countingLink(await onBus([sim]));
  return { sim, link, instrument: makeInstrument(link, { slave_id: 1, ...MAP }, params) };
}

describe('modbus_rtu against the built-in simulator', () => {
  it('polls every reading with plausible values of the declared types', async () => {
    const { instrument } = await setup({ setpoint: 25 });
    const r = await instrument.poll();
    expect(Object.keys(r).sort()).toEqual(Object.keys(MAP.registers).sort());
    expect(r.f32_big).toBeGreaterThan(22);
    expect(r.f32_big).toBeLessThan(24); // degC: room temperature
    expect(r.scaled).toBeCloseTo(23, 0);
    expect(r.in_scaled).toBeGreaterThan(4.9); // V: around 5
    expect(r.in_scaled).toBeLessThan(5.1);
    expect(r.in_f32_little).toBeGreaterThan(100_000); // Pa: around one atmosphere
    expect(typeof r.door).toBe('boolean');
    expect(typeof r.pump_on).toBe('boolean');
  });

  it('input registers drift with time like a live sensor', async () => {
    let t = 1_000_000;
    const { instrument } = await setup({}, () => t);
    const first = (await instrument.poll()).in_f32_little;
    t += 15_000;
    const later = (await instrument.poll()).in_f32_little;
    expect(later).not.toBe(first);
    expect(Math.abs((later as number) - (first as number))).toBeLessThan(500);
  });

  it('starts controls at their configured params and writes holding registers and coils', async () => {
    const { sim, instrument } = await setup({ setpoint: 25 });
    expect(sim.registers.read('holding', 9, 1)).toEqual([250]);
    await expect(instrument.setParam('setpoint', 42.5)).resolves.toBe(42.5);
    expect(sim.registers.read('holding', 9, 1)).toEqual([425]);
    await expect(instrument.setParam('offset32', -100000)).resolves.toBe(-100000);
    expect(sim.registers.read('holding', 12, 2)).toEqual([0x7960, 0xfffe]);
    await expect(instrument.setParam('pump', true)).resolves.toBe(true);
    expect(sim.registers.read('coil', 0, 1)).toEqual([1]);
  });

  it('restores setpoint controls at init and never writes an action control, even if it has a value', async () => {
    const map = {
      registers: { temp: { function: 'input', address: 0, type: 'int16', scale: 0.1, unit: 'degC' } },
      controls: {
        setpoint: { function: 'holding', address: 0, type: 'int16', scale: 0.1, unit: 'degC' },
        pump: { function: 'coil', address: 0, action: true },
      },
    };
    const sim = new ModbusRtuSimulator(simConfig(1, { setpoint: 18 }, map));
    const link = countingLink(await onBus([sim]));
    const instrument = makeInstrument(link, { slave_id: 1, ...map }, { setpoint: 21.5, pump: true });
    await instrument.init();
    // FC 6 to holding 0, then FC 3 to read it back; no FC 5 (write coil).
    expect(link.sent.map((f) => f[1])).toEqual([6, 3]);
    expect(sim.registers.read('holding', 0, 1)).toEqual([215]);
    expect(sim.registers.read('coil', 0, 1)).toEqual([0]);
    expect(modbusRtuDriver.params(modbusRtuDriver.optionsSchema.parse({ slave_id: 1, ...map })).map((p) => [p.name, p.kind, p.readBack])).toEqual([
      ['setpoint', 'setpoint', true],
      ['pump', 'action', true],
    ]);
  });

  it('with only action controls and no readings, init checks the slave answers by reading, never writing', async () => {
    const map = { controls: { pump: { function: 'coil', address: 0, action: true } } };
    const sim = new ModbusRtuSimulator(simConfig(1, {}, map));
    const link = countingLink(await onBus([sim]));
    await makeInstrument(link, { slave_id: 1, ...map }, { pump: true }).init();
    expect(link.sent.map((f) => f[1])).toEqual([1]);
    expect(sim.registers.read('coil', 0, 1)).toEqual([0]);
  });

  it('writes again even when the slave already holds the value', async () => {
    const { sim, link, instrument } = await setup({ setpoint: 25 });
    await expect(instrument.setParam('setpoint', 25)).resolves.toBe(25);
    await expect(instrument.setParam('setpoint', 25)).resolves.toBe(25);
    expect(link.sent.map((f) => f[1])).toEqual([6, 3, 6, 3]);
    expect(sim.requestsHandled).toBe(4);
  });

  it('reads holding registers and coils back as the slave now holds them (changed behind daqd\'s back)', async () => {
    const { sim, instrument } = await setup({ setpoint: 25 });
    sim.registers.write('holding', 9, [333]);
    sim.registers.write('holding', 12, [0x7960, 0xfffe]);
    sim.registers.write('coil', 0, [1]);
    expect(await instrument.readParams!(['setpoint', 'offset32', 'pump', 'nope'])).toEqual({ setpoint: 33.3, offset32: -100000, pump: true });
  });

  it('sends the declared units with the readings', async () => {
    const { instrument } = await setup();
    await instrument.poll();
    expect(instrument.readingsMeta!()).toEqual({ units: { f32_big: 'degC', scaled: 'degC', in_scaled: 'V', in_f32_little: 'Pa' } });
  });

  it('answers an unmapped address with exception 2, a device_error', async () => {
    const sim = new ModbusRtuSimulator(simConfig(1));
    const instrument = makeInstrument(await onBus([sim]), {
      slave_id: 1,
      registers: { ghost: { function: 'input', address: 4000 } },
    });
    await expect(instrument.poll()).rejects.toMatchObject({
      kind: 'device_error',
      message: expect.stringMatching(/exception 2 \(illegal data address\)/),
    });
  });

  it('rejects an out-of-range value before any byte is sent', async () => {
    const { sim, link, instrument } = await setup({ setpoint: 25 });
    await expect(instrument.setParam('setpoint', -1)).rejects.toMatchObject({ kind: 'out_of_range' });
    await expect(instrument.setParam('pump', 'on')).rejects.toMatchObject({ kind: 'invalid_params' });
    expect(link.sent).toHaveLength(0);
    expect(sim.requestsHandled).toBe(0);
    expect(sim.registers.read('holding', 9, 1)).toEqual([250]);
  });

  it('a garbage reply is a protocol_error, and the next poll works again', async () => {
    const { sim, instrument } = await setup();
    sim.fault = 'garbage';
    await expect(instrument.poll()).rejects.toMatchObject({ kind: 'protocol_error', message: expect.stringMatching(/bad reply/) });
    sim.fault = 'none';
    await expect(instrument.poll()).resolves.toHaveProperty('f32_big');
  });

  it('a reply with a bad CRC is a protocol_error naming the CRC', async () => {
    const { sim, instrument } = await setup();
    sim.fault = 'bad_crc';
    await expect(instrument.poll()).rejects.toMatchObject({ kind: 'protocol_error', message: expect.stringMatching(/CRC mismatch/) });
  });

  it('a silent slave is a timeout naming the instrument and what was asked', async () => {
    const { sim, instrument } = await setup();
    sim.fault = 'silent';
    await expect(instrument.poll()).rejects.toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/^mb1: Modbus slave 1: reading .*read coils.*500 ms/),
    });
  });

  it('two simulated slaves on one bus each answer only their own id', async () => {
    const map = { controls: { sp: { function: 'holding', address: 0 } }, registers: { sp_now: { function: 'holding', address: 0 } } };
    const a = new ModbusRtuSimulator(simConfig(1, { sp: 11 }, map));
    const b = new ModbusRtuSimulator(simConfig(2, { sp: 22 }, map));
    const link = await onBus([a, b]);
    const one = makeInstrument(link, { slave_id: 1, ...map }, {}, 'one');
    const two = makeInstrument(link, { slave_id: 2, ...map }, {}, 'two');
    expect(await Promise.all([one.poll(), two.poll()])).toEqual([{ sp_now: 11 }, { sp_now: 22 }]);
    await two.setParam('sp', 33);
    expect(await Promise.all([one.poll(), two.poll()])).toEqual([{ sp_now: 11 }, { sp_now: 33 }]);
    expect([a.requestsHandled, b.requestsHandled]).toEqual([2, 4]);
  });

  it('shares a "sim:<bus>" port through PortHub, addressed by slave id', async () => {
    hub = new PortHub({ simPacing: false });
    const map = { registers: { level: { function: 'holding', address: 0 } }, controls: { level_set: { function: 'holding', address: 0 } } };
    const leases = await Promise.all(
      [5, 6].map((slave) =>
        hub!.acquire({
          instrumentId: `dev${slave}`,
          port: 'sim:rs485',
          serial: modbusRtuDriver.serial,
          multidrop: modbusRtuDriver.multidrop,
          busAddress: modbusRtuDriver.busAddress!(simConfig(slave).options),
          createSimulator: () => modbusRtuDriver.createSimulator(simConfig(slave, { level_set: slave * 100 }, map)),
        }),
      ),
    );
    const readings = await Promise.all(leases.map((l, i) => makeInstrument(l.link, { slave_id: 5 + i, ...map }, {}, `dev${5 + i}`).poll()));
    expect(readings).toEqual([{ level: 500 }, { level: 600 }]);
    await expect(
      hub.acquire({
        instrumentId: 'clash',
        port: 'sim:rs485',
        serial: modbusRtuDriver.serial,
        multidrop: true,
        busAddress: '5',
        createSimulator: () => modbusRtuDriver.createSimulator(simConfig(5, {}, map)),
      }),
    ).rejects.toMatchObject({ kind: 'port_conflict' });
  });
});
