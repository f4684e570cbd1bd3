/** Error-message helpers: bounded and never throwing, whatever a client sends. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findProtoKey, paramsProblem, pathText, preview } from '../../src/rpc/describe.js';

function deepArray(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('preview', () => {
  it('quotes small values as JSON', () => {
    expect(preview('pm1')).toBe('"pm1"');
    expect(preview({ id: 42, ok: true, v: null })).toBe('{"id":42,"ok":true,"v":null}');
  });

  it('is bounded for huge strings, wide arrays and a 100,000-deep array (where JSON.stringify overflows)', () => {
    const deep = deepArray(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    for (const v of [deep, 'x'.repeat(1 << 20), Array.from({ length: 100_000 }, (_, i) => i), { ['k'.repeat(1 << 16)]: 1 }]) {
      const text = preview(v);
      expect(text.length).toBeLessThanOrEqual(60);
      expect(text.endsWith('...')).toBe(true);
    }
  });
});

describe('paramsProblem', () => {
  it('names the method, the field and the value sent', () => {
    const r = z.object({ id: z.string() }).strict().safeParse({ id: 42 }, { reportInput: true });
    expect(paramsProblem('instrument.get', r.error!.issues)).toMatch(/^instrument\.get: id: .*\(got 42\)$/);
  });

  it('stays one bounded line for deep, huge and newline-laden input', () => {
    const schema = z.object({ id: z.string() }).strict();
    const bad = { id: deepArray(100_000), ['evil\nkey'.repeat(10_000)]: 1 };
    const r = schema.safeParse(bad, { reportInput: true });
    const text = paramsProblem('instrument.get', r.error!.issues);
    expect(text).not.toContain('\n');
    expect(text.length).toBeLessThan(1000);
  });

  it('falls back to a generic sentence when an issue cannot be described', () => {
    const hostile = { code: 'custom', message: 'x', get path(): PropertyKey[] { throw new Error('boom'); } };
    expect(paramsProblem('instrument.get', [hostile])).toBe("instrument.get: the params do not match the method's schema (see docs/protocol.md)");
  });
});

describe('pathText and findProtoKey', () => {
  it('quotes keys that are not plain names', () => {
    expect(pathText(['config', 'params', 0, 'a b'])).toBe('config.params.0."a b"');
  });

  it('finds an own "__proto__" key at any depth, and nothing in ordinary params', () => {
    expect(findProtoKey(JSON.parse('{"id":"pm1","config":{"params":{"__proto__":{"x":1}}}}'), 64)).toEqual(['config', 'params', '__proto__']);
    expect(findProtoKey(JSON.parse('[{"a":[{"__proto__":1}]}]'), 64)).toEqual([0, 'a', 0, '__proto__']);
    expect(findProtoKey({ id: 'pm1', params: { wavelength_nm: 800, constructor: 1 } }, 64)).toBeUndefined();
    expect(findProtoKey(Array.from({ length: 100_000 }, (_, i) => i), 64)).toBeUndefined();
  });
});
