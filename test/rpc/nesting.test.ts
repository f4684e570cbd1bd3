/** The bracket-depth scan that keeps deep frames away from JSON.parse and everything after it. */
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, nestingExceeds } from '../../src/rpc/nesting.js';
import { mulberry32 } from '../helpers/prng.js';

/** The true nesting depth of a parsed JSON value (a scalar is 0, `[]` is 1). */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0);
}

/** Random JSON text of about the given depth, with strings full of brackets, quotes and escapes. */
function randomJson(rand: () => number, depth: number): string {
  const nastyStrings = ['[', ']', '{', '}', '\\"[', '\\\\', '\\\\"', '[[[[', '}}"', 'a"b'];
  const scalar = () => {
    const r = rand();
    if (r < 0.3) return JSON.stringify(nastyStrings[Math.floor(rand() * nastyStrings.length)]!.replace(/\\\\/g, '\\').replace(/\\"/g, '"'));
    if (r < 0.6) return String(Math.floor(rand() * 1000));
    return r < 0.8 ? 'true' : 'null';
  };
  if (depth === 0) return scalar();
  const n = 1 + Math.floor(rand() * 3);
  const deepAt = Math.floor(rand() * n);
  // One child carries the depth; its siblings stay shallow, so the text grows linearly with depth.
  const parts = Array.from({ length: n }, (_, i) => randomJson(rand, i === deepAt ? depth - 1 : Math.floor(rand() * Math.min(depth, 3))));
  if (rand() < 0.5) return `[${parts.join(',')}]`;
  return `{${parts.map((p, i) => `${JSON.stringify(`k${i}[{"`)}:${p}`).join(',')}}`;
}

describe('nestingExceeds', () => {
  it('counts levels of arrays and objects; a top-level object is level 1', () => {
    const at = (d: number) => '['.repeat(d) + ']'.repeat(d);
    expect(nestingExceeds(at(MAX_NESTING_DEPTH))).toBe(false);
    expect(nestingExceeds(at(MAX_NESTING_DEPTH + 1))).toBe(true);
    expect(nestingExceeds('{"a":'.repeat(65) + '1' + '}'.repeat(65))).toBe(true);
    expect(nestingExceeds('['.repeat(100_000))).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x', params: { s: '['.repeat(1000) + '\\"' + '{'.repeat(1000) } });
    expect(nestingExceeds(inString)).toBe(false);
    expect(nestingExceeds(JSON.stringify(['"[', '\\', '['.repeat(200)]))).toBe(false);
  });

  it('property: for valid JSON the verdict is exactly "depth > max" (seeded)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = mulberry32(seed);
      const text = randomJson(rand, Math.floor(rand() * 90));
      const depth = depthOf(JSON.parse(text));
      expect(nestingExceeds(text), `seed ${seed}, depth ${depth}`).toBe(depth > MAX_NESTING_DEPTH);
      expect(nestingExceeds(text, 5), `seed ${seed}, depth ${depth}, max 5`).toBe(depth > 5);
    }
  });
});
