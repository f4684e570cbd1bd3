/**
 * Reading names a config gives (Modbus registers, SCPI channels) may not be a recorded file's own
 * columns: time, seq, flags. A register named `time` made a file with two `time` columns, and an
 * export that took the register's value for the timestamp.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';

const modbus = (name: string) => ({ instruments: { plc: { driver: 'modbus_rtu', port: 'sim', slave_id: 1, registers: { [name]: { function: 'holding', address: 0 } } } } });
const scpi = (name: string) => ({ instruments: { dmm: { driver: 'scpi', port: 'tcp://127.0.0.1:5025', channels: { [name]: { query: 'MEAS?' } } } } });
const messages = (config: unknown) => validateConfig(config as never).issues.map((i) => `${i.path}: ${i.message}`);

describe('reading names that are recorder columns', () => {
  for (const name of ['time', 'seq', 'flags']) {
    it(`"${name}" is refused for a Modbus register and an SCPI channel, with the way out`, () => {
      expect(messages(modbus(name)).join('\n')).toMatch(/time, seq and flags are columns of every recorded file .*name the register something else/);
      expect(messages(scpi(name)).join('\n')).toMatch(/name the channel something else/);
    });
  }

  it('names that only contain them are fine', () => {
    expect(messages(modbus('time_s'))).toEqual([]);
    expect(messages(scpi('flags2'))).toEqual([]);
  });
});
