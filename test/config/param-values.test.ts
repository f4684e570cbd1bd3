/**
 * validateParamValue is strict (issue #15): the value that passes is exactly the value the driver
 * receives. No string becomes a number or a boolean, no 0/1 becomes a boolean, enums match
 * exactly; a refusal says what to give instead, in JSON terms (the socket) or TOML (the file).
 */
import { describe, expect, it } from 'vitest';
import { validateParamValue, validateParams } from '../../src/drivers/common/params.js';
import type { ParamDecl } from '../../src/drivers/types.js';
import { isDaqError } from '../../src/errors.js';

const decl = (d: Partial<ParamDecl> & Pick<ParamDecl, 'name' | 'type'>): ParamDecl => ({
  kind: 'setpoint',
  description: '',
  settable: 'running',
  readBack: true,
  ...d,
});

const wavelength = decl({ name: 'wavelength_nm', type: 'number', unit: 'nm', min: 690, max: 1040 });
const integerWl = decl({ name: 'wavelength_nm', type: 'integer', unit: 'nm', min: 400, max: 1100 });
const shutter = decl({ name: 'shutter', type: 'boolean', kind: 'action' });
const filter = decl({ name: 'filter', type: 'enum', values: ['slow', 'medium', 'fast'] });
const mode = decl({ name: 'mode', type: 'enum', values: [1, 2, 3] });
const label = decl({ name: 'label', type: 'string' });

/** The DaqError a validation throws (fails the test if it does not throw one). */
function refusal(fn: () => unknown): { kind: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    if (isDaqError(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('validateParamValue: typed values only', () => {
  it('passes valid values through as the very same value', () => {
    expect(validateParamValue(wavelength, 800, 'laser')).toBe(800);
    expect(validateParamValue(wavelength, 812.5, 'laser')).toBe(812.5);
    expect(validateParamValue(integerWl, 633, 'pm1')).toBe(633);
    expect(validateParamValue(shutter, false, 'laser')).toBe(false);
    expect(validateParamValue(shutter, true, 'laser')).toBe(true);
    expect(validateParamValue(filter, 'slow', 'pm1')).toBe('slow');
    expect(validateParamValue(mode, 2, 'psu')).toBe(2);
    expect(validateParamValue(label, '', 'psu')).toBe('');
  });

  it('refuses a string where a number is declared, with the number to give instead', () => {
    const json = refusal(() => validateParamValue(wavelength, '800', 'laser'));
    expect(json).toMatchObject({ kind: 'invalid_params', details: { param: 'wavelength_nm', value: '800', suggestion: 800 } });
    expect(json.message).toBe('laser: wavelength_nm must be a number between 690 and 1040 nm (got "800"); give 800, not "800"');
    const toml = refusal(() => validateParamValue(wavelength, '800', 'laser', 'toml'));
    expect(toml.message).toBe('laser: wavelength_nm must be a number between 690 and 1040 nm (got "800"); use wavelength_nm = 800');
  });

  it('never suggests a value that would itself be refused', () => {
    const outside = refusal(() => validateParamValue(wavelength, '5000', 'laser', 'toml'));
    expect(outside.kind).toBe('invalid_params');
    expect(outside.details).not.toHaveProperty('suggestion');
    expect(outside.message).toBe('laser: wavelength_nm must be a number between 690 and 1040 nm (got "5000"); numbers are written without quotes');
    const fraction = refusal(() => validateParamValue(integerWl, '800.5', 'pm1'));
    expect(fraction.message).toBe('pm1: wavelength_nm must be an integer between 400 and 1100 nm (got "800.5"); give a JSON number, not a string');
    expect(refusal(() => validateParamValue(integerWl, 'eight hundred', 'pm1')).kind).toBe('invalid_params');
  });

  it('refuses "off", "true", 0 and 1 where a boolean is declared', () => {
    const off = refusal(() => validateParamValue(shutter, 'off', 'laser'));
    expect(off).toMatchObject({ kind: 'invalid_params', details: { suggestion: false } });
    expect(off.message).toBe('laser: shutter must be true or false (got "off"); give true or false, not "off"');
    expect(refusal(() => validateParamValue(shutter, 'off', 'laser', 'toml')).message).toBe(
      'laser: shutter must be true or false (got "off"); use shutter = false',
    );
    expect(refusal(() => validateParamValue(shutter, 'true', 'laser', 'toml')).message).toMatch(/use shutter = true$/);
    expect(refusal(() => validateParamValue(shutter, 0, 'laser', 'toml')).message).toMatch(/\(got 0\); use shutter = false$/);
    expect(refusal(() => validateParamValue(shutter, 1, 'laser')).message).toMatch(/\(got 1\); give true or false, not 1$/);
    // "open"/"closed": which one is true depends on the parameter, so no guess.
    expect(refusal(() => validateParamValue(shutter, 'closed', 'laser', 'toml')).message).toMatch(/use shutter = true or shutter = false$/);
  });

  it('enums match exactly; a case slip is refused with "did you mean"', () => {
    const slow = refusal(() => validateParamValue(filter, 'SLOW', 'pm1'));
    expect(slow).toMatchObject({ kind: 'out_of_range', details: { suggestion: 'slow' } });
    expect(slow.message).toBe('pm1: filter must be one of "slow", "medium", "fast" (got "SLOW"); did you mean "slow"? (values are case-sensitive)');
    expect(refusal(() => validateParamValue(filter, 'SLOW', 'pm1', 'toml')).message).toMatch(/did you mean "slow"\? use filter = "slow"/);
    const turbo = refusal(() => validateParamValue(filter, 'turbo', 'pm1'));
    expect(turbo).toMatchObject({ kind: 'out_of_range', message: 'pm1: filter must be one of "slow", "medium", "fast" (got "turbo")' });
  });

  it('numeric enums take numbers only; the text of one is a type error with the number to give', () => {
    const text = refusal(() => validateParamValue(mode, '2', 'psu', 'toml'));
    expect(text).toMatchObject({ kind: 'invalid_params', details: { suggestion: 2 } });
    expect(text.message).toMatch(/use mode = 2$/);
    expect(refusal(() => validateParamValue(mode, 7, 'psu')).kind).toBe('out_of_range');
  });

  it('strings take strings only', () => {
    expect(refusal(() => validateParamValue(label, 5, 'psu', 'toml')).message).toMatch(/must be a string \(got 5\); use label = "5"$/);
  });

  it('keeps the kinds: out_of_range for a number outside its range, not_settable for a read-only parameter', () => {
    expect(refusal(() => validateParamValue(integerWl, 2000, 'pm1'))).toMatchObject({
      kind: 'out_of_range',
      message: 'pm1: wavelength_nm must be an integer between 400 and 1100 nm (got 2000)',
    });
    expect(refusal(() => validateParamValue(integerWl, Number.NaN, 'pm1')).kind).toBe('invalid_params');
    expect(refusal(() => validateParamValue(integerWl, Number.POSITIVE_INFINITY, 'pm1')).kind).toBe('invalid_params');
    expect(refusal(() => validateParamValue(decl({ name: 'serial', type: 'string', settable: 'never' }), 'x', 'pm1')).kind).toBe('not_settable');
  });

  it('validateParams collects every problem and returns the given values', () => {
    const decls = [wavelength, shutter];
    expect(validateParams(decls, { wavelength_nm: 800, shutter: false }, 'laser')).toEqual({ wavelength_nm: 800, shutter: false });
    const both = refusal(() => validateParams(decls, { wavelength_nm: '800', shutter: 'off' }, 'laser'));
    expect(both.kind).toBe('invalid_params');
    expect(both.message).toContain('give 800, not "800"');
    expect(both.message).toContain('give true or false, not "off"');
  });
});
