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
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = cloneModel(v);
    return out as T;
  }
  return value;
}

export function instrumentsOf(model: ConfigView): Readonly<Record<string, ReadonlyDeep<InstrumentModel>>> {
  return model.instruments ?? {};
}

export function modulesOf(model: ConfigView): Readonly<Record<string, ReadonlyDeep<ModuleModel>>> {
  return model.modules ?? {};
}

/** Deep structural equality for plain TOML data. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameValue(v, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as any)[k], (b as any)[k]));
}
