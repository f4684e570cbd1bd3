/** The id rule and the method table: no name of Object.prototype is ever an id or a method. */
import { describe, expect, it } from 'vitest';
import { configSchema, idProblem, idSchema } from '../../src/config/schema.js';
import { methods } from '../../src/rpc/methods/index.js';

const BUILT_INS = Object.getOwnPropertyNames(Object.prototype);

describe('idSchema', () => {
  it('accepts 1 to 64 letters, digits, "_" and "-"', () => {
    for (const id of ['pm1', 'a', 'PM_ref-2', 'x'.repeat(64), '0']) expect(idSchema.safeParse(id).success, id).toBe(true);
  });

  it('refuses empty, too long and other characters, naming the rule', () => {
    for (const id of ['', 'x'.repeat(65), 'pm 1', 'pm.1', 'pm/1', 'é', 'a\nb']) {
      const r = idSchema.safeParse(id);
      expect(r.success, JSON.stringify(id)).toBe(false);
      expect(r.error!.issues[0]!.message).toMatch(/ids are 1 to 64 letters, digits, "_" or "-"/);
    }
  });

  it('refuses every name of Object.prototype (computed, not listed), naming it and the rule', () => {
    expect(BUILT_INS).toEqual(expect.arrayContaining(['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', '__defineGetter__']));
    for (const name of BUILT_INS) {
      const r = idSchema.safeParse(name);
      expect(r.success, name).toBe(false);
      expect(r.error!.issues).toHaveLength(1);
      expect(r.error!.issues[0]!.message).toContain(`"${name}" is a built-in name of JavaScript objects`);
      expect(idProblem(name)).toBe(r.error!.issues[0]!.message);
    }
  });

  it('refuses a built-in name as an instrument or module table in the config schema', () => {
    const r = configSchema.safeParse({ instruments: { constructor: { driver: 'newport_1830c', port: 'sim' } }, modules: { toString: { type: 'monitor' } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['instruments.constructor', 'modules.toString']));
  });
});

describe('the socket method table', () => {
  it('is a Map: no built-in name resolves to anything', () => {
    for (const name of BUILT_INS) expect(methods.get(name), name).toBeUndefined();
    expect(methods.get('daemon.status')).toBeDefined();
  });
});
