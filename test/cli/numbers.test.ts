/**
 * One number format per kind of value (src/cli/numbers.ts): measurements in engineering notation
 * with their unit and four significant digits, settings exactly as written, durations in ms/s, and
 * --json durations without float noise.
 */
import { describe, expect, it } from 'vitest';
import { formatMeasured, formatMs, formatQuantity, formatSetting, jsonReplacer } from '../../src/cli/numbers.js';
import { formatReadingValues } from '../../src/cli/format.js';

describe('measurements', () => {
  it('SI units take a prefix: four significant digits, mantissa 1..999.9', () => {
    expect(formatQuantity(4.99e-4, 'W')).toBe('499.0 µW');
    expect(formatQuantity(0.001234, 'A')).toBe('1.234 mA');
    expect(formatQuantity(7.54263005, 'V')).toBe('7.543 V');
    expect(formatQuantity(1e-3, 'W')).toBe('1.000 mW');
    expect(formatQuantity(12_500, 'Hz')).toBe('12.50 kHz');
    expect(formatQuantity(0, 'W')).toBe('0.000 W');
    expect(formatQuantity(-2.5e-9, 'A')).toBe('-2.500 nA');
  });

  it('rounding that carries moves to the next prefix or digit', () => {
    expect(formatQuantity(999.96, 'W')).toBe('1.000 kW');
    expect(formatQuantity(9.9996, 'V')).toBe('10.00 V');
    expect(formatQuantity(0.00099996, 'W')).toBe('1.000 mW');
  });

  it('beyond the prefixes: an exponent', () => {
    expect(formatQuantity(2e-18, 'W')).toBe('2.000e-18 W');
  });

  it('units that take no prefix keep four significant digits as they are', () => {
    expect(formatQuantity(20, 'degC')).toBe('20.00 degC');
    expect(formatQuantity(22.6, 'degC')).toBe('22.60 degC');
    expect(formatQuantity(800, 'nm')).toBe('800.0 nm');
    expect(formatQuantity(1064, 'nm')).toBe('1064 nm');
    expect(formatQuantity(-15.2, 'dBm')).toBe('-15.20 dBm');
    expect(formatQuantity(45, '%')).toBe('45.00 %');
    expect(formatQuantity(0, 'deg')).toBe('0.000 deg');
    expect(formatQuantity(0.5, 'mm')).toBe('0.5000 mm');
    expect(formatQuantity(1.23e-5, 'degC')).toBe('12.30e-6 degC');
  });

  it('without a unit: whole numbers stay whole, fractions four digits, an exponent outside 1e-3..1e6', () => {
    expect(formatQuantity(0.99320950669)).toBe('0.9932');
    expect(formatQuantity(42)).toBe('42');
    expect(formatQuantity(4.99e-4)).toBe('499.0e-6');
    expect(formatQuantity(12_345_678)).toBe('12.35e6');
  });

  it('booleans and text as they are; nothing is "-"', () => {
    expect(formatMeasured(false)).toBe('false');
    expect(formatMeasured('W')).toBe('W');
    expect(formatMeasured(null)).toBe('-');
  });

  it('one format per column: every power reading of a meter looks alike', () => {
    const column = [1e-3, 9.994e-4, 5.0e-4, 1.2e-5].map((v) => formatQuantity(v, 'W'));
    expect(column).toEqual(['1.000 mW', '999.4 µW', '500.0 µW', '12.00 µW']);
    expect(column.every((c) => /^\d{1,3}\.\d+ [µm]W$/.test(c))).toBe(true);
  });
});

describe('reading values', () => {
  it('each value with its unit; a <name>_unit that repeats the unit is left out', () => {
    expect(formatReadingValues({ power: 4.99e-4, power_unit: 'W' }, { power: 'W' })).toBe('power=499.0 µW');
    expect(formatReadingValues({ power: -15.2, power_unit: 'dBm' }, { power: 'dBm' })).toBe('power=-15.20 dBm');
    // The unit field says something else than the declared unit: both shown.
    expect(formatReadingValues({ power: 3, power_unit: 'REL' }, { power: 'W' })).toBe('power=3.000 W power_unit=REL');
    expect(formatReadingValues(null)).toBe('-');
  });
});

describe('settings and durations', () => {
  it('settings exactly as in the config, without float noise', () => {
    expect(formatSetting(800)).toBe('800');
    expect(formatSetting(0.005)).toBe('0.005');
    expect(formatSetting(0.1 + 0.2)).toBe('0.3');
    expect(formatSetting(true)).toBe('true');
  });

  it('durations: three significant digits, seconds from 1000 ms', () => {
    expect(formatMs(2.3249)).toBe('2.32 ms');
    expect(formatMs(11.118575000000419)).toBe('11.1 ms');
    expect(formatMs(231.4)).toBe('231 ms');
    expect(formatMs(1234)).toBe('1.23 s');
  });

  it('--json: durations rounded to 0.01 ms, everything else untouched', () => {
    const result = { persisted: { written: true, bytes: 3942, ms: 11.118575000000419 }, durationMs: 2.324999, timeoutMs: 10000, values: { power: 0.00049912345678 } };
    expect(JSON.parse(JSON.stringify(result, jsonReplacer))).toEqual({
      persisted: { written: true, bytes: 3942, ms: 11.12 },
      durationMs: 2.32,
      timeoutMs: 10000,
      values: { power: 0.00049912345678 },
    });
  });
});
