/**
 * Read-back verification: every text the writer produces is parsed again (smol-toml, with integers
 * as bigint so int/float survive) and compared with the model it is meant to hold, before anything
 * touches the disk. A mismatch is described by the first differing key.
 */
import { parse } from 'smol-toml';
import { describeError } from '../errors.js';
import { isTable, sameValue, getAt, type ConfigPath } from './config-diff.js';
import type { KindAt, NumberKind } from './toml-literal.js';

/** A number-kind expectation for the values under one path (those the writer rendered itself). */
export interface KindCheck {
  path: ConfigPath;
  kindAt: KindAt;
}

export function parseExact(text: string): unknown {
  return parse(text, { integersAsBigInt: true });
}

/** The kind a rendered number ends up with (mirrors toml-literal's choice). */
export function effectiveKind(value: number | bigint, wanted: NumberKind | undefined): NumberKind {
  if (typeof value === 'bigint') return 'integer';
  return Number.isSafeInteger(value) && !Object.is(value, -0) && wanted !== 'float' ? 'integer' : 'float';
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (isTable(value)) return 'a table';
  if (value === undefined) return 'nothing';
  // Arrays read back with integers as bigint, which JSON.stringify refuses.
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? String(value);
}

/** Where `actual` first differs from `expected`, as "key: expected X, found Y"; undefined if equal. */
export function findMismatch(actual: unknown, expected: unknown, path: string[] = []): string | undefined {
  if (isTable(actual) && isTable(expected)) {
    const keys = new Set([...Object.keys(actual), ...Object.keys(expected).filter((k) => expected[k] !== undefined)]);
    for (const key of keys) {
      const found = findMismatch(actual[key], expected[key], [...path, key]);
      if (found) return found;
    }
    return undefined;
  }
  if (sameValue(actual, expected)) return undefined;
  return `${path.join('.') || '(root)'}: expected ${show(expected)}, found ${show(actual)}`;
}

/** Where a number under `check.path` in `parsed` has another kind than the check wants. */
export function kindMismatch(parsed: unknown, expected: unknown, check: KindCheck): string | undefined {
  const walk = (actual: unknown, want: unknown, sub: (string | number)[]): string | undefined => {
    if (typeof want === 'number' || typeof want === 'bigint') {
      const expectedKind = effectiveKind(want, check.kindAt(sub));
      const actualKind: NumberKind = typeof actual === 'bigint' ? 'integer' : 'float';
      return expectedKind === actualKind
        ? undefined
        : `${[...check.path, ...sub].join('.')}: expected ${expectedKind === 'float' ? 'a float' : 'an integer'}, found ${show(actual)} written as ${actualKind === 'float' ? 'a float' : 'an integer'}`;
    }
    if (Array.isArray(want) && Array.isArray(actual)) {
      for (let i = 0; i < want.length; i++) {
        const found = walk(actual[i], want[i], [...sub, i]);
        if (found) return found;
      }
    } else if (isTable(want) && isTable(actual)) {
      for (const key of Object.keys(want)) {
        const found = walk(actual[key], want[key], [...sub, key]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(getAt(parsed, check.path), getAt(expected, check.path), []);
}

/**
 * `expected` without the empty top-level tables the file does not hold: daqd writes no header for
 * a top-level table it emptied (`instruments = {}` after the last instrument went), and every
 * reader takes a missing top-level table as an empty one. Deeper empty tables must be in the file.
 */
function withoutAbsentEmptyTopTables(parsed: unknown, expected: unknown): unknown {
  if (!isTable(parsed) || !isTable(expected)) return expected;
  let trimmed: Record<string, unknown> | undefined;
  for (const key in expected) {
    const value = expected[key];
    if (!isTable(value) || Object.hasOwn(parsed, key) || Object.keys(value).some((k) => value[k] !== undefined)) continue;
    trimmed ??= { ...expected };
    delete trimmed[key];
  }
  return trimmed ?? expected;
}

/** Returns why `text` is not exactly `expected` (parse error, value or number-kind mismatch), or undefined. */
export function whyNotExactly(text: string, intended: unknown, kindChecks: readonly KindCheck[] = []): string | undefined {
  let parsed: unknown;
  try {
    parsed = parseExact(text);
  } catch (err) {
    return `the result is not valid TOML (${describeError(err).split('\n')[0]})`;
  }
  const expected = withoutAbsentEmptyTopTables(parsed, intended);
  const mismatch = sameValue(parsed, expected) ? undefined : findMismatch(parsed, expected) ?? 'an unknown key';
  if (mismatch) return `the result reads back differently at ${mismatch}`;
  for (const check of kindChecks) {
    const found = kindMismatch(parsed, expected, check);
    if (found) return `the result changes a number's type at ${found}`;
  }
  return undefined;
}

/**
 * Number kinds that changed between two parses, outside `changedPath` (where the change itself
 * decides). Guards the dt.patch fallback, which can turn `5.0` into `5` (hazards D2, D6).
 */
export function kindDrift(before: unknown, after: unknown, changedPath: ConfigPath, path: string[] = []): string | undefined {
  if (changedPath.length > 0 && path.length >= changedPath.length && changedPath.every((k, i) => path[i] === k)) return undefined;
  if (isTable(before) && isTable(after)) {
    for (const key of Object.keys(before)) {
      if (!(key in after)) continue;
      const found = kindDrift(before[key], after[key], changedPath, [...path, key]);
      if (found) return found;
    }
    return undefined;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.min(before.length, after.length); i++) {
      const found = kindDrift(before[i], after[i], changedPath, [...path, String(i)]);
      if (found) return found;
    }
    return undefined;
  }
  const numeric = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';
  if (numeric(before) && numeric(after) && typeof before !== typeof after) {
    return `${path.join('.')} changed from ${typeof before === 'bigint' ? 'an integer' : 'a float'} to ${typeof after === 'bigint' ? 'an integer' : 'a float'}`;
  }
  return undefined;
}
