import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { isDaqError } from '../../src/errors.js';
import type { ConfigIssue } from '../../src/config/issues.js';

function issuesOf(text: string): ConfigIssue[] {
  try {
    loadConfigText(text, 'lab.toml');
  } catch (err) {
    if (isDaqError(err, 'validation_failed')) return err.details!.issues as ConfigIssue[];
    throw err;
  }
  return [];
}

const PM = `[instruments.pm1]\ndriver = "newport_1830c"\nport = "sim"\n`;

describe('config validation', () => {
  it('accepts the shipped config', () => {
    const text = readFileSync(new URL('../../config/default.toml', import.meta.url), 'utf8');
    const loaded = loadConfigText(text, 'config/default.toml');
    expect(Object.keys(loaded.model.instruments ?? {}).length).toBeGreaterThan(5);
    expect(loaded.specs.get('hwp')?.port).toBe('sim:rs485');
  });

  it('reports a TOML syntax error with its line', () => {
    expect(issuesOf(`${PM}\n[instruments.pm1.params]\nwavelength_nm = \n`)).toEqual([
      expect.objectContaining({ line: 6, message: expect.stringMatching(/TOML syntax error/) }),
    ]);
  });

  it('reports every problem at once, each with key path and line', () => {
    const text = [
      '[instruments.pm1]', // 1
      'driver = "newport_1830c"',
      'port = "sim"',
      'poll_intervall_ms = 100', // 4: typo
      '',
      '[instruments.pm1.params]', // 6
      'wavelength_nm = 5000', // 7: out of range
      'atenuator = true', // 8: unknown param
      '',
      '[instruments.x]', // 10
      'driver = "nope"', // 11: unknown driver
      'port = "sim"',
    ].join('\n');
    const issues = issuesOf(text);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath['instruments.pm1.poll_intervall_ms']?.line).toBe(4);
    expect(byPath['instruments.pm1.params.wavelength_nm']).toMatchObject({ line: 7, message: expect.stringMatching(/between 400 and 1100/) });
    expect(byPath['instruments.pm1.params.atenuator']).toMatchObject({ line: 8, message: expect.stringMatching(/no parameter "atenuator".*attenuator/) });
    expect(byPath['instruments.x.driver']).toMatchObject({ line: 11, message: expect.stringMatching(/unknown driver "nope" \(known: .*newport_1830c/) });
  });

  it('refuses invalid ids and wrong types', () => {
    const issues = issuesOf(`[instruments."pm 1"]\ndriver = "newport_1830c"\nport = "sim"\n\n[instruments.pm2]\ndriver = "newport_1830c"\nport = 5\n`);
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['instruments.pm 1']));
    const port = issuesOf(`[instruments.pm2]\ndriver = "newport_1830c"\nport = 5\n`);
    expect(port[0]).toMatchObject({ path: 'instruments.pm2.port', line: 3 });
  });

  it('refuses two non-multidrop instruments on one port, and two bus devices at one address', () => {
    const clash = issuesOf(`${PM}\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "sim:bench"\n\n[instruments.pm3]\ndriver = "newport_1830c"\nport = "sim:bench"\n`);
    expect(clash).toEqual([expect.objectContaining({ path: 'instruments.pm3.port', line: 11 })]);
    const sameAddress = issuesOf(
      `[instruments.a]\ndriver = "ell14"\nport = "sim:bus"\naddress = "2"\n\n[instruments.b]\ndriver = "ell14"\nport = "sim:bus"\naddress = "2"\n`,
    );
    expect(sameAddress).toEqual([expect.objectContaining({ path: 'instruments.b.port', message: expect.stringMatching(/address/) })]);
  });

  it('checks module types, roles and capabilities', () => {
    const text = `${PM}\n[modules.watch]\ntype = "monitor"\nreading = "temperature"\nhigh = 1\n\n[modules.watch.roles]\nsource = "pm1"\n`;
    expect(issuesOf(text)).toEqual([expect.objectContaining({ path: 'modules.watch.roles.source', line: 11, message: expect.stringMatching(/provides no reading "temperature"/) })]);
    const missing = issuesOf(`${PM}\n[modules.watch]\ntype = "monitor"\nreading = "power"\nhigh = 1\n\n[modules.watch.roles]\nsource = "gone"\n`);
    expect(missing[0]?.message).toMatch(/instrument "gone" does not exist/);
  });

  it('checks an interlock value against the actuator parameter', () => {
    const text = `[instruments.laser]\ndriver = "maitai"\nport = "sim"\n${PM}\n[modules.guard]\ntype = "interlock"\nreading = "power"\nabove = 1\nparameter = "shutter"\nvalue = "closed"\n\n[modules.guard.roles]\nsensor = "pm1"\nactuator = "laser"\n`;
    expect(issuesOf(text)).toEqual([expect.objectContaining({ path: 'modules.guard.roles.actuator', message: expect.stringMatching(/cannot take "closed" for "shutter"/) })]);
  });
});

describe('config/daqd.schema.json', () => {
  it('is generated from the current schemas (run `npm run schema` after changing them)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../config/daqd.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('describes every driver with its parameters', () => {
    const variants = configJsonSchema().properties.instruments.additionalProperties.oneOf as any[];
    const pm = variants.find((v) => v.title === 'newport_1830c');
    expect(pm.properties.params.properties.wavelength_nm).toMatchObject({ type: 'integer', minimum: 400, maximum: 1100 });
    expect(variants.map((v) => v.title).sort()).toEqual(['ell14', 'esp300', 'maitai', 'modbus_rtu', 'newport_1830c', 'scpi']);
  });
});
