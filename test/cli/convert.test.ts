/**
 * daqctl turns command-line words into typed values with the parameter's declared type (daqd
 * itself converts nothing, issue #15). A word that fits no reading of the type is a usage error
 * that lists what is accepted.
 */
import { describe, expect, it } from 'vitest';
import { convertSetWords, convertWord, literalAssignments, literalValue, splitAssignment, type ParamType } from '../../src/cli/convert.js';
import { UsageError } from '../../src/cli/format.js';

const shutter: ParamType = { name: 'shutter', type: 'boolean' };
const wavelength: ParamType = { name: 'wavelength_nm', type: 'number', unit: 'nm', min: 690, max: 1040 };
const filter: ParamType = { name: 'filter', type: 'enum', values: ['slow', 'medium', 'fast'] };
const units: ParamType = { name: 'units', type: 'enum', values: ['W', 'dB', 'dBm', 'REL'] };
const mode: ParamType = { name: 'mode', type: 'enum', values: [1, 2, 3] };
const label: ParamType = { name: 'label', type: 'string' };

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a usage error');
}

describe('convertWord (the declared type is known)', () => {
  it('booleans: true/false, on/off, yes/no, 1/0 in any case', () => {
    for (const w of ['true', 'on', 'yes', '1', 'ON', 'Yes', 'TRUE']) expect(convertWord(shutter, w, 'laser')).toBe(true);
    for (const w of ['false', 'off', 'no', '0', 'OFF', 'No']) expect(convertWord(shutter, w, 'laser')).toBe(false);
  });

  it('booleans: any other word is a usage error listing the accepted words; open/closed are refused with why', () => {
    expect(usage(() => convertWord(shutter, 'maybe', 'laser'))).toBe('laser: shutter is true or false: give true/false, on/off, yes/no, 1/0 (got "maybe")');
    expect(usage(() => convertWord(shutter, 'closed', 'laser'))).toMatch(/"open"\/"closed" are not accepted: what they mean depends on the parameter/);
  });

  it('numbers from numeric text only; range checks are left to daqd', () => {
    expect(convertWord(wavelength, '800', 'laser')).toBe(800);
    expect(convertWord(wavelength, '812.5', 'laser')).toBe(812.5);
    expect(convertWord(wavelength, '-1e3', 'laser')).toBe(-1000);
    expect(convertWord(wavelength, '5000', 'laser')).toBe(5000);
    expect(usage(() => convertWord(wavelength, 'eight', 'laser'))).toBe(
      'laser: wavelength_nm is a number between 690 and 1040 nm: give digits, e.g. wavelength_nm=690 (got "eight")',
    );
    expect(() => convertWord(wavelength, '', 'laser')).toThrow(UsageError);
    expect(() => convertWord(wavelength, '0x10', 'laser')).toThrow(UsageError);
  });

  it('enums: any letter case, sent in the declared spelling; numeric enums as numbers', () => {
    expect(convertWord(filter, 'SLOW', 'pm1')).toBe('slow');
    expect(convertWord(units, 'dbm', 'pm1')).toBe('dBm');
    expect(convertWord(units, 'w', 'pm1')).toBe('W');
    expect(convertWord(mode, '2', 'psu')).toBe(2);
    expect(usage(() => convertWord(filter, 'turbo', 'pm1'))).toBe('pm1: filter is one of slow, medium, fast (got "turbo")');
  });

  it('strings as typed', () => {
    expect(convertWord(label, '123', 'psu')).toBe('123');
    expect(convertWord(label, 'off', 'psu')).toBe('off');
  });
});

describe('convertSetWords (daqctl set)', () => {
  const parameters = [shutter, wavelength, filter, label];

  it('converts each word with its parameter, poll_interval_ms as an integer', () => {
    expect(convertSetWords('laser', ['shutter=off', 'wavelength_nm=800', 'filter=Fast', 'label=007', 'poll_interval_ms=250'], parameters)).toEqual({
      shutter: false,
      wavelength_nm: 800,
      filter: 'fast',
      label: '007',
      poll_interval_ms: 250,
    });
    expect(() => convertSetWords('laser', ['poll_interval_ms=often'], parameters)).toThrow(UsageError);
  });

  it('connection settings are typed too (they reconnect the instrument)', () => {
    expect(convertSetWords('pm1', ['enabled=off', 'baud_rate=19200', 'parity=EVEN', 'stop_bits=1.5', 'port=/dev/ttyUSB1', 'timeout_ms=500'], parameters)).toEqual({
      enabled: false,
      baud_rate: 19200,
      parity: 'even',
      stop_bits: 1.5,
      port: '/dev/ttyUSB1',
      timeout_ms: 500,
    });
    expect(() => convertSetWords('pm1', ['data_bits=9'], parameters)).toThrow(UsageError);
  });

  it('an unknown name is sent as a literal (daqd answers with the names it knows)', () => {
    expect(convertSetWords('laser', ['shuter=off', 'x=1'], parameters)).toEqual({ shuter: 'off', x: 1 });
  });

  it('without declared parameters (an older daqd): literals only', () => {
    expect(convertSetWords('pm1', ['wavelength_nm=633', 'attenuator=true', 'filter=fast'])).toEqual({ wavelength_nm: 633, attenuator: true, filter: 'fast' });
  });

  it('a word without "=" is a usage error', () => {
    expect(usage(() => convertSetWords('pm1', ['wavelength_nm'], parameters))).toBe('expected key=value, got "wavelength_nm"');
    expect(() => splitAssignment('=5')).toThrow(UsageError);
    expect(splitAssignment('expr=a=b')).toEqual(['expr', 'a=b']);
  });
});

describe('literalValue (add --param / --set, module settings: the type is not known yet)', () => {
  it('true, false and numeric text are typed; on/off and the rest stay text for daqd to check', () => {
    expect(literalValue('true')).toBe(true);
    expect(literalValue('false')).toBe(false);
    expect(literalValue('1064')).toBe(1064);
    expect(literalValue('5e-3')).toBe(0.005);
    expect(literalValue('off')).toBe('off');
    expect(literalValue('slow')).toBe('slow');
    expect(literalValue('')).toBe('');
  });

  it('a double-quoted word is the text inside the quotes', () => {
    expect(literalValue('"123"')).toBe('123');
    expect(literalValue('"true"')).toBe('true');
    expect(literalValue('"a b"')).toBe('a b');
  });

  it('literalAssignments', () => {
    expect(literalAssignments(['wavelength_nm=1064', 'filter=slow', 'attenuator=false'])).toEqual({ wavelength_nm: 1064, filter: 'slow', attenuator: false });
  });
});
