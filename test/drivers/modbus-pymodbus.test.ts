/**
 * modbus_rtu against an independent implementation: pymodbus 3.0's RTU serial server on the far
 * end of a real socat pty pair, reached through SerialTransport and QueuedLink.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueuedLink } from '../../src/transport/link.js';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { DEFAULT_SERIAL, lineRate } from '../../src/transport/serial-settings.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import { startPymodbusServer, type PymodbusServer } from '../helpers/pymodbus.js';
import { COILS, DISCRETE, EXPECTED_READINGS, HOLDING, INPUT, MAP, countingLink, makeInstrument } from './modbus-fixtures.js';

let pty: PtyPair;
let server: PymodbusServer;
let transport: SerialTransport;
let link: QueuedLink;

const SLAVE_2_HOLDING = [777, 0x4049, 0x0fdb]; // 777, then pi as float32

beforeAll(async () => {
  pty = await startPtyPair();
  server = await startPymodbusServer(pty.b, [
    { id: 1, holding: HOLDING, input: INPUT, coils: COILS, discrete: DISCRETE },
    { id: 2, holding: SLAVE_2_HOLDING },
  ]);
  transport = new SerialTransport(pty.a, DEFAULT_SERIAL);
  await transport.open();
  // Generous: the whole suite runs in parallel on 2 cores, and only the silent-slave test waits it out.
  link = new QueuedLink(transport, { lineRate: lineRate(DEFAULT_SERIAL), timeoutMs: 1000 });
}, 20_000);

afterAll(async () => {
  await transport?.close();
  await server?.stop();
  await pty?.dispose();
});

describe('modbus_rtu against pymodbus over a pty', () => {
  it('reads holding and input registers of every type and word order, coils and discrete inputs', async () => {
    const counted = countingLink(link);
    const instrument = makeInstrument(counted, { slave_id: 1, ...MAP });
    expect(await instrument.poll()).toEqual(EXPECTED_READINGS);
    // Contiguous points are read together; holding 9 is a control, not a reading, so the holding
    // registers take two requests (0..8 and 10..13) and every other table one.
    const requests = counted.sent.map((f) => [f[1], f.readUInt16BE(2), f.readUInt16BE(4)]);
    expect(requests).toEqual([[1, 1, 1], [2, 0, 1], [3, 0, 9], [3, 10, 4], [4, 0, 5]]);
  });

  it('writes a holding register and pymodbus holds the new value; the set returns the read-back', async () => {
    const instrument = makeInstrument(link, { slave_id: 1, ...MAP });
    await expect(instrument.setParam('setpoint', 42.5)).resolves.toBe(42.5);
    expect((await server.dump())[1]!.holding[9]).toBe(425);
  });

  it('writes a 32-bit little-endian control as two registers, low word first', async () => {
    const instrument = makeInstrument(link, { slave_id: 1, ...MAP });
    await expect(instrument.setParam('offset32', -100000)).resolves.toBe(-100000);
    // -100000 = 0xFFFE7960
    expect((await server.dump())[1]!.holding.slice(12, 14)).toEqual([0x7960, 0xfffe]);
    await instrument.setParam('offset32', -2);
  });

  it('writes a coil and pymodbus holds it', async () => {
    const instrument = makeInstrument(link, { slave_id: 1, ...MAP });
    await expect(instrument.setParam('pump', true)).resolves.toBe(true);
    expect((await server.dump())[1]!.coils[0]).toBe(true);
    await expect(instrument.setParam('pump', false)).resolves.toBe(false);
    expect((await server.dump())[1]!.coils[0]).toBe(false);
  });

  it('init brings the device to the configured params', async () => {
    const instrument = makeInstrument(link, { slave_id: 1, ...MAP }, { setpoint: 31.4 });
    await instrument.init();
    expect((await server.dump())[1]!.holding[9]).toBe(314);
  });

  it('an unmapped address is a device_error naming Modbus exception 2', async () => {
    const instrument = makeInstrument(link, {
      slave_id: 1,
      registers: { ghost: { function: 'holding', address: 100, type: 'uint16' } },
    });
    const err = await instrument.poll().catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: 'device_error',
      message: expect.stringMatching(/^mb1: Modbus slave 1 refused reading 'ghost'.*exception 2 \(illegal data address\)/),
      details: expect.objectContaining({ exceptionCode: 2, address: 100 }),
    });
  });

  it('rejects an out-of-range value before any byte is sent', async () => {
    const counted = countingLink(link);
    const instrument = makeInstrument(counted, { slave_id: 1, ...MAP });
    const before = (await server.dump())[1]!.holding[9];
    const err = await instrument.setParam('setpoint', 150).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'out_of_range', message: expect.stringMatching(/'setpoint'.*0\.\.100 degC/) });
    await expect(instrument.setParam('offset32', 2 ** 31)).rejects.toMatchObject({ kind: 'out_of_range' });
    expect(counted.sent).toHaveLength(0);
    expect((await server.dump())[1]!.holding[9]).toBe(before);
  });

  it('a slave that does not answer is a timeout', async () => {
    const instrument = makeInstrument(link, { slave_id: 9, registers: { x: { function: 'holding', address: 0 } } });
    const err = await instrument.poll().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/^mb1: Modbus slave 9: reading 'x'/) });
  });

  it('two slaves share the port, each polled at its own id', async () => {
    const one = makeInstrument(link, { slave_id: 1, registers: { v: { function: 'holding', address: 1 } } }, {}, 'one');
    const two = makeInstrument(
      link,
      { slave_id: 2, registers: { v: { function: 'holding', address: 0 }, pi: { function: 'holding', address: 1, type: 'float32' } } },
      {},
      'two',
    );
    const results = await Promise.all([one.poll(), two.poll(), one.poll(), two.poll()]);
    expect(results).toEqual([{ v: 51234 }, { v: 777, pi: 3.141593 }, { v: 51234 }, { v: 777, pi: 3.141593 }]);
  });
});

describe('the pymodbus test helper', () => {
  it('names the package to install when pymodbus cannot be imported', async () => {
    const { requirePymodbus } = await import('../helpers/pymodbus.js');
    expect(() => requirePymodbus('/nonexistent/python3')).toThrow(/apt-get install -y python3-pymodbus/);
  });
});
