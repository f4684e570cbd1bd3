/**
 * The running config is kept as the document model: the plain object the TOML file parses to,
 * without defaults filled in, so that writing it back changes only what really changed.
 * Defaults are applied when a part is resolved for use (resolve.ts).
 */
import type { ParamValue } from '../drivers/types.js';

export interface InstrumentModel {
  driver: string;
  port: string;
  params?: Record<string, ParamValue>;
  [key: string]: unknown;
}

export interface ModuleModel {
  type: string;
  roles?: Record<string, string>;
  [key: string]: unknown;
}

export interface ConfigModel {
  application?: Record<string, unknown>;
  instruments?: Record<string, InstrumentModel>;
  modules?: Record<string, ModuleModel>;
  [key: string]: unknown;
}

/** Read-only view handed to everyone but the manager. */
export type ReadonlyDeep<T> = T extends (infer U)[]
  ? readonly ReadonlyDeep<U>[]
  : T extends object
    ? { readonly [K in keyof T]: ReadonlyDeep<T[K]> }
    : T;

export type ConfigView = ReadonlyDeep<ConfigModel>;

/** A deep copy of plain TOML data (no Date or class instances in a daqd config). */
export function cloneModel<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneModel) as T;
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  // smol-toml builds tables with a null prototype; both kinds are plain tables.
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) setOwn(out, k, cloneModel(v));
    return out as T;
  }
  return value;
}

/**
 * Running configs are immutable once committed: a command builds its next config by copying the
 * tables along the path it changes (Execution.draftInstrument) and shares everything else, and
 * freezeModel makes that a fact rather than a convention. The config file's writer relies on it:
 * given the frozen model it last wrote and a frozen next one, it diffs the two through the shared
 * tables (skipped by identity) instead of walking its own copy of the whole config per change.
 *
 * Deep: every table and array is frozen (tables already frozen by an earlier call are shared and
 * skipped, so freezing a path-copied config costs the path). Dates are left as they are: freezing
 * does not stop setTime, and nothing in daqd edits a config's date.
 */
const frozenModels = new WeakSet<object>();

export function freezeModel<T>(value: T): T {
  if (typeof value !== 'object' || value === null || frozenModels.has(value)) return value;
  if (Array.isArray(value)) {
    for (const item of value) freezeModel(item);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value; // a Date: a leaf
    for (const key of Object.keys(value)) freezeModel((value as Record<string, unknown>)[key]);
  }
  Object.freeze(value);
  frozenModels.add(value);
  return value;
}

/** Was `value` made immutable by freezeModel (it and everything in it)? */
export function isFrozenModel(value: unknown): boolean {
  return typeof value === 'object' && value !== null && frozenModels.has(value);
}

/**
 * `table[key] = value` that can never reach the prototype: a key named "__proto__" (from a TOML
 * file or a JSON request) becomes an ordinary own property instead of replacing the prototype.
 */
export function setOwn(table: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
  else table[key] = value;
}

/** `table[key]` if `key` is the table's own key (never something inherited, like "constructor"). */
export function ownValue<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

export function instrumentsOf(model: ConfigView): Readonly<Record<string, ReadonlyDeep<InstrumentModel>>> {
  return model.instruments ?? {};
}

export function modulesOf(model: ConfigView): Readonly<Record<string, ReadonlyDeep<ModuleModel>>> {
  return model.modules ?? {};
}

/** A TOML table: any object that is not an array or a date. */
export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Value equality as TOML sees it (one definition for the runtime diff and the file writer): an
 * integer read as bigint equals the same JS number, two dates are equal when they print the same
 * or denote the same instant (a `structuredClone` turns a local date into a plain Date at UTC
 * midnight; that must not count as a change), and a key holding `undefined` counts as absent.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ta = typeof a, tb = typeof b;
  if ((ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')) {
    if (ta === 'number' && tb === 'number') return Number.isNaN(a) && Number.isNaN(b);
    if (ta === 'bigint' && tb === 'bigint') return false; // a === b already failed
    // One bigint, one number. Number(bigint) is exact wherever the number side can be exact.
    return ta === 'bigint' ? Number(a) === b : a === Number(b);
  }
  if (a instanceof Date && b instanceof Date) {
    return a.toISOString() === b.toISOString() || a.getTime() === b.getTime();
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isTable(a) && isTable(b)) {
    // No allocation here: this runs over the whole model on every verify.
    let count = 0;
    for (const k in a) {
      if (a[k] === undefined) continue;
      count++;
      if (!Object.hasOwn(b, k) || !sameValue(a[k], b[k])) return false;
    }
    for (const k in b) if (b[k] !== undefined) count--;
    return count === 0;
  }
  return false;
}
