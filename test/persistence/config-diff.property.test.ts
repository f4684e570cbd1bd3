/**
 * diffConfig runs over the whole model on every persisted change, so it is written for speed; this
 * checks it against the plain recursive walk it replaced (same edits, same order) on random model
 * pairs: null-prototype and plain tables, bigints beside numbers, dates, NaN, -0, keys holding
 * undefined, keys added, removed and changed at every depth. Seeded.
 */
import { describe, expect, it } from 'vitest';
import { applyOp, diffConfig, isTable, sameValue, type ConfigOp } from '../../src/persistence/config-diff.js';
import { mulberry32 } from '../helpers/prng.js';

/** The walk diffConfig replaced: removals of a table first, then its adds, sets and sub-tables in key order. */
function reference(prev: unknown, next: unknown): ConfigOp[] {
  const ops: ConfigOp[] = [];
  const path: string[] = [];
  const walk = (a: unknown, b: unknown): void => {
    if (!isTable(a) || !isTable(b)) {
      if (!sameValue(a, b)) ops.push({ kind: 'set', path: [...path], before: a, value: b });
      return;
    }
    for (const key in a) if (a[key] !== undefined && b[key] === undefined) ops.push({ kind: 'remove', path: [...path, key], before: a[key] });
    for (const key in b) {
      if (b[key] === undefined) continue;
      if (a[key] === undefined) ops.push({ kind: 'add', path: [...path, key], value: b[key] });
      else if (a[key] !== b[key]) {
        path.push(key);
        walk(a[key], b[key]);
        path.pop();
      }
    }
  };
  walk(prev, next);
  return ops;
}

describe('diffConfig', () => {
  it('gives the reference walk\'s edits in its order on 20 000 seeded model pairs, and they turn prev into next', () => {
    const random = mulberry32(2025);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const leaf = () => pick<unknown>([1, 2, 1n, 2n, 'a', 'b', true, undefined, [1, 2], [1, 2n], [], new Date(0), NaN, -0, 0]);
    const gen = (depth: number): unknown => {
      if (depth > 2 || random() < 0.4) return leaf();
      const table: Record<string, unknown> = random() < 0.3 ? Object.create(null) : {};
      for (let i = Math.floor(random() * 5); i >= 0; i--) table[pick(['x', 'y', 'z', 'w', '1', '0'])] = gen(depth + 1);
      return table;
    };
    const mutate = (value: unknown, depth: number): unknown => {
      if (!isTable(value) || random() < 0.15) return random() < 0.5 ? gen(depth) : value;
      const copy: Record<string, unknown> = { ...value };
      for (const key of Object.keys(copy)) {
        const r = random();
        if (r < 0.15) delete copy[key];
        else if (r < 0.25) copy[key] = undefined;
        else if (r < 0.6) copy[key] = mutate(copy[key], depth + 1);
      }
      if (random() < 0.3) copy[pick(['x', 'q', '2'])] = gen(depth + 1);
      return copy;
    };
    let changed = 0;
    for (let i = 0; i < 20_000; i++) {
      const prev = gen(0);
      const next = mutate(prev, 0);
      const ops = diffConfig(prev, next);
      expect(ops, `pair ${i}`).toEqual(reference(prev, next));
      if (ops.length > 0) changed++;
      if (isTable(prev) && isTable(next)) expect(sameValue(ops.reduce<unknown>((m, op) => applyOp(m, op), prev), next), `pair ${i}`).toBe(true);
    }
    expect(changed).toBeGreaterThan(10_000);
  });
});
