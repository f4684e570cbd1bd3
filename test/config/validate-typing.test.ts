/**
 * The config file is typed as written (issue #15): `shutter = "off"` is an error with its line and
 * a hint in TOML syntax, never a value turned into false somewhere later. What passes is what the
 * driver gets: the specs carry the validated values.
 */
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/issues.js';
import { validateConfig } from '../../src/config/validate.js';
import { isDaqError } from '../../src/errors.js';

function issuesOf(text: string): ConfigIssue[] {
  try {
    loadConfigText(text, 'lab.toml');
  } catch (err) {
    if (isDaqError(err, 'validation_failed')) return err.details!.issues as ConfigIssue[];
    throw err;
  }
  return [];
}

const LASER = (params: string, extra = '') => `[instruments.laser]
driver = "maitai"
port = "sim"
${extra}
[instruments.laser.params]
${params}
`;

describe('config values are typed as written', () => {
  it('shutter = "off": refused at its line with "use shutter = false"', () => {
    expect(issuesOf(LASER('wavelength_nm = 800\nshutter = "off"'))).toEqual([
      {
        path: 'instruments.laser.params.shutter',
        line: 7,
        message: 'laser: shutter must be true or false (got "off"); use shutter = false',
      },
    ]);
  });

  it('wavelength_nm = "800": refused at its line with "use wavelength_nm = 800"', () => {
    expect(issuesOf(LASER('wavelength_nm = "800"'))).toEqual([
      {
        path: 'instruments.laser.params.wavelength_nm',
        line: 6,
        message: 'laser: wavelength_nm must be a number between 690 and 1040 nm (got "800"); use wavelength_nm = 800',
      },
    ]);
  });

  it('enum values match exactly: filter = "SLOW" -> did you mean "slow"?', () => {
    const [issue] = issuesOf('[instruments.pm1]\ndriver = "newport_1830c"\nport = "sim"\n\n[instruments.pm1.params]\nfilter = "SLOW"\n');
    expect(issue).toMatchObject({ path: 'instruments.pm1.params.filter', line: 6 });
    expect(issue!.message).toContain('did you mean "slow"? use filter = "slow"');
  });

  it('common keys take numbers and booleans only, with the same kind of hint', () => {
    const issues = issuesOf(LASER('shutter = false', 'poll_interval_ms = "500"\nenabled = "false"\ndata_bits = "8"\nparity = "None"'));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath['instruments.laser.poll_interval_ms']).toMatchObject({
      line: 4,
      message: 'expected a number, not the string "500"; use poll_interval_ms = 500',
    });
    expect(byPath['instruments.laser.enabled']).toMatchObject({ line: 5, message: 'expected true or false, not the string "false"; use enabled = false' });
    expect(byPath['instruments.laser.data_bits']).toMatchObject({ line: 6, message: 'expected one of 5, 6, 7, 8 (got "8"); use data_bits = 8' });
    expect(byPath['instruments.laser.parity']?.message).toMatch(/\(got "None"\); did you mean "none"\? use parity = "none"/);
  });

  it('without source text (a socket edit) the hints are in JSON terms', () => {
    const model = parse(LASER('shutter = "off"\nwavelength_nm = "800"', 'poll_interval_ms = "500"'));
    const schema = validateConfig(model).issues;
    expect(schema).toEqual([{ path: 'instruments.laser.poll_interval_ms', message: 'expected a number, not the string "500"; give 500, not "500"' }]);
    delete (model.instruments as any).laser.poll_interval_ms;
    const params = validateConfig(model).issues.map((i) => i.message);
    expect(params).toEqual([
      'laser: shutter must be true or false (got "off"); give true or false, not "off"',
      'laser: wavelength_nm must be a number between 690 and 1040 nm (got "800"); give 800, not "800"',
    ]);
  });

  it('the spec carries exactly the values that passed', () => {
    const { specs, issues } = validateConfig(parse(LASER('wavelength_nm = 812.5\nshutter = false')), '');
    expect(issues).toEqual([]);
    const params = specs.get('laser')!.params;
    expect(params).toEqual({ wavelength_nm: 812.5, shutter: false });
    expect(typeof params.shutter).toBe('boolean');
  });

  it('an instrument or module called __proto__ is refused (zod records skip that key)', () => {
    const issues = issuesOf('[instruments.__proto__]\ndriver = "newport_1830c"\nport = "sim"\n');
    expect(issues).toContainEqual(expect.objectContaining({ path: 'instruments.__proto__', line: 1, message: expect.stringMatching(/cannot be an id/) }));
    const json = validateConfig(JSON.parse('{"modules":{"__proto__":{"type":"monitor"}}}')).issues;
    expect(json).toContainEqual(expect.objectContaining({ path: 'modules.__proto__' }));
  });

  it('a role naming a built-in object key is not taken for an existing instrument', () => {
    const text = `${LASER('shutter = false')}\n[modules.guard]\ntype = "interlock"\nreading = "power"\nabove = 1\nparameter = "shutter"\nvalue = false\n\n[modules.guard.roles]\nsensor = "toString"\nactuator = "laser"\n`;
    const issues = issuesOf(text);
    expect(issues.some((i) => i.path === 'modules.guard.roles.sensor')).toBe(true);
  });
});
