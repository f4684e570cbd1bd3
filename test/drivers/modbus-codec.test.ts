/**
 * The modbus_rtu building blocks on their own: CRC against the spec's worked example and against
 * modbus-serial's independent implementation, reply framing, value encodings, read grouping, and
 * the options schema's messages.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc16, withCrc } from '../../src/drivers/modbus_rtu/crc16.js';
import { modbusRtuDriver } from '../../src/drivers/modbus_rtu/index.js';
import { decodeReply, encodeRequest, replyMatcher, type MasterRequest } from '../../src/drivers/modbus_rtu/protocol.js';
import { planReads } from '../../src/drivers/modbus_rtu/read-plan.js';
import { readingPoints } from '../../src/drivers/modbus_rtu/options.js';
import { rawFromValue, rawToWords, wordsToRaw } from '../../src/drivers/modbus_rtu/values.js';
import { ModbusRtuSimulator } from '../../src/drivers/modbus_rtu/simulator.js';

const require = createRequire(import.meta.url);
const referenceCrc = require('modbus-serial/utils/crc16') as (buf: Buffer) => number;
const bytes = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('CRC-16', () => {
  it('matches the Modbus over Serial Line spec example (read holding registers of slave 0x11)', () => {
    expect(withCrc(bytes('11 03 00 6B 00 03'))).toEqual(bytes('11 03 00 6B 00 03 76 87'));
  });

  it('agrees with modbus-serial on arbitrary data', () => {
    let seed = 7;
    for (let n = 1; n < 200; n += 7) {
      const data = Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) & 0xff)));
      expect(crc16(data)).toBe(referenceCrc(data));
    }
  });
});

describe('reply framing', () => {
  const read: MasterRequest = { op: 'read', slave: 1, fc: 3, address: 0, count: 2 };
  const match = replyMatcher(read);

  it('waits for the whole reply, then cuts exactly that many bytes', () => {
    const reply = withCrc(bytes('01 03 04 00 01 00 02'));
    expect(match(reply.subarray(0, 6))).toBeNull();
    expect(match(Buffer.concat([reply, bytes('ff')]))).toEqual({ frame: reply, consumed: reply.length });
    expect(decodeReply(read, reply)).toEqual({ ok: true, words: [1, 2], bits: [] });
  });

  it('recognises a 5-byte exception reply', () => {
    const reply = withCrc(bytes('01 83 02'));
    expect(match(reply)?.frame).toEqual(reply);
    expect(decodeReply(read, reply)).toMatchObject({ ok: false, problem: 'exception', code: 2, name: 'illegal data address' });
  });

  it('hands back bytes that cannot start the reply at once, as garbage', () => {
    expect(match(bytes('7e 13'))).toEqual({ frame: bytes('7e 13'), consumed: 2 });
    expect(match(bytes('01 03 09'))).not.toBeNull(); // wrong byte count: no point waiting for it
    expect(decodeReply(read, bytes('7e 13'))).toMatchObject({ ok: false, problem: 'garbage' });
  });

  it('unpacks coils least significant bit first', () => {
    const req: MasterRequest = { op: 'read', slave: 2, fc: 1, address: 0, count: 10 };
    expect(decodeReply(req, withCrc(bytes('02 01 02 05 02')))).toMatchObject({
      ok: true,
      bits: [true, false, true, false, false, false, false, false, false, true],
    });
  });

  it('encodes the write requests as the spec lays them out', () => {
    expect(encodeRequest({ op: 'writeCoil', slave: 1, address: 0xac, value: true }).subarray(0, 6)).toEqual(bytes('01 05 00 ac ff 00'));
    expect(encodeRequest({ op: 'writeRegisters', slave: 1, address: 1, values: [0x0a, 0x0102] }).subarray(0, 11)).toEqual(
      bytes('01 10 00 01 00 02 04 00 0a 01 02'),
    );
  });
});

describe('register values', () => {
  it('decodes every type and word order', () => {
    expect(wordsToRaw([0xfb2e], 'int16', 'big')).toBe(-1234);
    expect(wordsToRaw([0xf8a4, 0x32eb], 'int32', 'big')).toBe(-123456789);
    expect(wordsToRaw([0x32eb, 0xf8a4], 'int32', 'little')).toBe(-123456789);
    expect(wordsToRaw([0xee6b, 0x2800], 'uint32', 'big')).toBe(4000000000);
    expect(wordsToRaw([0x4049, 0x0fdb], 'float32', 'big')).toBe(3.141593);
  });

  it('round-trips through encode and decode', () => {
    for (const [value, type] of [[-32768, 'int16'], [65535, 'uint16'], [-5, 'int32'], [0xffffffff, 'uint32'], [-1.25, 'float32']] as const) {
      for (const order of ['big', 'little'] as const) expect(wordsToRaw(rawToWords(value, type, order), type, order)).toBe(value);
    }
  });

  it('refuses values a register type cannot hold, saying why', () => {
    expect(rawFromValue(70000, 'uint16', 1)).toEqual({ error: expect.stringMatching(/uint16 range 0\.\.65535/) });
    expect(rawFromValue(42.5, 'uint16', 0.1)).toEqual({ raw: 425 });
  });
});

describe('read planning', () => {
  const points = (registers: object) => readingPoints(modbusRtuDriver.optionsSchema.parse({ slave_id: 1, registers }));

  it('merges touching points per table and splits at gaps', () => {
    const plan = planReads(
      points({
        a: { function: 'holding', address: 0, type: 'float32' },
        b: { function: 'holding', address: 2 },
        c: { function: 'holding', address: 4 },
        d: { function: 'input', address: 2 },
      }),
    );
    expect(plan.map((b) => [b.fc, b.address, b.count])).toEqual([[3, 0, 3], [3, 4, 1], [4, 2, 1]]);
  });

  it('keeps each request within 125 registers', () => {
    const many = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`r${i}`, { function: 'input', address: i }]));
    expect(planReads(points(many)).map((b) => b.count)).toEqual([125, 5]);
  });
});

describe('options', () => {
  const parse = (o: object) => modbusRtuDriver.optionsSchema.safeParse(o);
  const messages = (o: object) => {
    const r = parse(o);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts the documented shape and derives params and readings', () => {
    const options = modbusRtuDriver.optionsSchema.parse({
      slave_id: 3,
      registers: { t: { function: 'input', address: 0, type: 'float32', unit: 'degC' }, alarm: { function: 'discrete', address: 4 } },
      controls: { sp: { function: 'holding', address: 10, type: 'int16', scale: 0.1, min: -20, max: 80, unit: 'degC' }, run: { function: 'coil', address: 0 } },
    });
    expect(modbusRtuDriver.busAddress!(options)).toBe('3');
    expect(modbusRtuDriver.params(options)).toEqual([
      expect.objectContaining({ name: 'sp', type: 'number', min: -20, max: 80, unit: 'degC', settable: 'running' }),
      expect.objectContaining({ name: 'run', type: 'boolean', settable: 'running' }),
    ]);
    expect(modbusRtuDriver.readings(options).map((r) => [r.name, r.type])).toEqual([['t', 'number'], ['alarm', 'boolean']]);
  });

  it('derives a control range from its type when none is given', () => {
    const options = modbusRtuDriver.optionsSchema.parse({ slave_id: 1, controls: { x: { function: 'holding', address: 0, type: 'int16' } } });
    expect(modbusRtuDriver.params(options)[0]).toMatchObject({ type: 'integer', min: -32768, max: 32767 });
  });

  it('names the key for each mistake', () => {
    expect(messages({ slave_id: 0 })).toEqual([expect.stringMatching(/^slave_id: /)]);
    expect(messages({ slave_id: 1, registers: { t: { function: 'holding', address: 0, type: 'bool' } } })).toEqual([
      expect.stringMatching(/^registers\.t\.type: .*holds a number/),
    ]);
    expect(messages({ slave_id: 1, registers: { t: { function: 'coil', address: 0, type: 'int16' } } })).toEqual([
      expect.stringMatching(/^registers\.t\.type: .*one bit/),
    ]);
    expect(messages({ slave_id: 1, controls: { t: { function: 'holding', address: 65535, type: 'float32' } } })).toEqual([
      expect.stringMatching(/^controls\.t\.address: .*past the last address/),
    ]);
    expect(messages({ slave_id: 1, controls: { t: { function: 'holding', address: 0, min: 5, max: 1 } } })).toEqual([
      expect.stringMatching(/^controls\.t\.min: min \(5\) is above max \(1\)/),
    ]);
    expect(messages({ slave_id: 1, registers: { t: { function: 'holding', adress: 0 } } }).join('\n')).toMatch(/adress/);
  });
});

describe('simulator at the byte level', () => {
  const config = { id: 's', params: {}, options: modbusRtuDriver.optionsSchema.parse({ slave_id: 1, registers: { a: { function: 'holding', address: 0 } } }) };

  async function exchange(request: Buffer, chunks = 1): Promise<Buffer | undefined> {
    const sim = new ModbusRtuSimulator(config);
    const sent: Buffer[] = [];
    sim.onSend((d) => sent.push(d));
    const size = Math.ceil(request.length / chunks);
    for (let i = 0; i < request.length; i += size) sim.receive(request.subarray(i, i + size));
    // The simulator queues its reply with setImmediate while receiving; immediates run in order,
    // so once ours has run, any reply has been sent.
    await new Promise((r) => setImmediate(r));
    sim.dispose();
    return sent[0];
  }

  it('reassembles a request split across writes', async () => {
    const reply = await exchange(withCrc(bytes('01 03 00 00 00 01')), 3);
    expect(reply?.subarray(0, 3)).toEqual(bytes('01 03 02'));
  });

  it('ignores a request with a bad CRC and requests for other slaves', async () => {
    const bad = withCrc(bytes('01 03 00 00 00 01'));
    bad[7]! ^= 1;
    expect(await exchange(bad)).toBeUndefined();
    expect(await exchange(withCrc(bytes('02 03 00 00 00 01')))).toBeUndefined();
  });

  it('answers an unsupported function with exception 1', async () => {
    expect(await exchange(withCrc(bytes('01 2b 0e 01 00')))).toEqual(withCrc(bytes('01 ab 01')));
  });
});
