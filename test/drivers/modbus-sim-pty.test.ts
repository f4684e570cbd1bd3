/**
 * The built-in simulator checked by an independent master: modbus-serial's RTU client talks to it
 * over a real socat pty (the simulator served by src/sim/serve.ts), so the simulator's framing,
 * CRC and exception replies are judged by code we did not write. The daqd driver then polls the
 * same served simulator through SerialTransport.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modbusRtuDriver } from '../../src/drivers/modbus_rtu/index.js';
import { ModbusRtuSimulator } from '../../src/drivers/modbus_rtu/simulator.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { QueuedLink } from '../../src/transport/link.js';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { DEFAULT_SERIAL, lineRate } from '../../src/transport/serial-settings.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import { MAP, makeInstrument } from './modbus-fixtures.js';

// modbus-serial is CommonJS whose typings declare an ES default export; load it the CommonJS way
// so the types and the runtime value agree under NodeNext.
const ModbusRTU = createRequire(import.meta.url)('modbus-serial') as typeof import('modbus-serial').default;

let pty: PtyPair;
let served: SimulatorServer;
let sim: ModbusRtuSimulator;

beforeAll(async () => {
  pty = await startPtyPair();
  sim = new ModbusRtuSimulator({ id: 'sim', params: { setpoint: 20, pump: true }, options: modbusRtuDriver.optionsSchema.parse({ slave_id: 7, ...MAP }) });
  served = await serveSimulator({ path: pty.b, simulators: [sim] });
}, 10_000);

afterAll(async () => {
  await served?.close();
  sim?.dispose();
  await pty?.dispose();
});

describe('the modbus_rtu simulator over a pty', () => {
  it('answers modbus-serial reads, writes and exceptions as a Modbus slave should', async () => {
    const client = new ModbusRTU();
    await client.connectRTUBuffered(pty.a, { baudRate: 9600 });
    try {
      client.setID(7);
      client.setTimeout(1000);
      expect((await client.readHoldingRegisters(9, 1)).data).toEqual([200]);
      await client.writeRegister(9, 314);
      expect((await client.readHoldingRegisters(9, 1)).data).toEqual([314]);
      await client.writeRegisters(12, [0x7960, 0xfffe]);
      expect(sim.registers.read('holding', 12, 2)).toEqual([0x7960, 0xfffe]);
      expect((await client.readCoils(0, 2)).data.slice(0, 2)).toEqual([true, false]);
      await client.writeCoil(0, false);
      expect((await client.readCoils(0, 1)).data[0]).toBe(false);
      const temp = (await client.readHoldingRegisters(4, 2)).buffer.readFloatBE(0);
      expect(temp).toBeGreaterThan(22);
      expect(temp).toBeLessThan(24);
      await expect(client.readInputRegisters(4000, 1)).rejects.toMatchObject({ modbusCode: 2 });
    } finally {
      await new Promise<void>((resolve) => client.close(() => resolve()));
    }
  });

  it('is polled by the daqd driver through the serial stack', async () => {
    const transport = new SerialTransport(pty.a, DEFAULT_SERIAL);
    await transport.open();
    try {
      const link = new QueuedLink(transport, { lineRate: lineRate(DEFAULT_SERIAL), timeoutMs: 1000 });
      const instrument = makeInstrument(link, { slave_id: 7, ...MAP });
      await expect(instrument.setParam('setpoint', 55.5)).resolves.toBe(55.5);
      const readings = await instrument.poll();
      expect(readings.f32_big).toBeCloseTo(23, 0);
      expect(Object.keys(readings)).toHaveLength(Object.keys(MAP.registers).length);
    } finally {
      await transport.close();
    }
  });
});
