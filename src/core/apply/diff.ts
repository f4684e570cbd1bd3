/**
 * The difference between two configs, in the terms the runtime acts on. Every path that changes
 * the running set-up (socket commands, hot reload, and later transactions and version rollback)
 * computes one of these and hands it to applyDiff.
 */
import type { ParamValue } from '../../drivers/types.js';
import { CONNECTION_KEYS } from '../../config/schema.js';
import { driverOptionsOf, type InstrumentSpec } from '../../config/resolve.js';
import { moduleSettingsOf } from '../../config/validate.js';
import { sameValue, type ConfigView } from '../../config/model.js';

export interface ValueChange<T = unknown> {
  from: T | undefined;
  to: T | undefined;
}

export interface InstrumentChange {
  /** Connection-level change (driver, port, serial settings, driver options): reconnect only it. */
  reconnect: boolean;
  /** Live parameter changes, applied through the same path as instrument.set. */
  params: Record<string, ValueChange<ParamValue>>;
  /**
   * Parameters removed from the config: daqd forgets them (they are no longer restored on a
   * reconnect or at start-up) and the device keeps the value it holds; nothing is sent.
   */
  forgotten: string[];
  pollIntervalMs?: ValueChange<number>;
  /** Other keys that changed without needing any action (description...). */
  other: string[];
}

export interface ModuleChange {
  /** Type or settings changed: the module is recreated. */
  recreate: boolean;
  roles: Record<string, ValueChange<string>>;
}

export interface ConfigDiff {
  instruments: { added: string[]; removed: string[]; changed: Record<string, InstrumentChange> };
  modules: { added: string[]; removed: string[]; changed: Record<string, ModuleChange> };
  /** Dotted paths of changed [application] settings. */
  application: string[];
}

export function isEmptyDiff(d: ConfigDiff): boolean {
  return (
    d.instruments.added.length === 0 &&
    d.instruments.removed.length === 0 &&
    Object.keys(d.instruments.changed).length === 0 &&
    d.modules.added.length === 0 &&
    d.modules.removed.length === 0 &&
    Object.keys(d.modules.changed).length === 0 &&
    d.application.length === 0
  );
}

function keyDiff<T>(prev: Readonly<Record<string, T>>, next: Readonly<Record<string, T>>) {
  // Own keys only: an id like "constructor" must not match Object.prototype's.
  const added = Object.keys(next).filter((k) => !Object.hasOwn(prev, k));
  const removed = Object.keys(prev).filter((k) => !Object.hasOwn(next, k));
  const common = Object.keys(next).filter((k) => Object.hasOwn(prev, k));
  return { added, removed, common };
}

function changedPaths(prev: unknown, next: unknown, base: string): string[] {
  if (sameValue(prev, next)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(prev) || !isObj(next)) return [base];
  const p = prev as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  return [...new Set([...Object.keys(p), ...Object.keys(n)])].flatMap((k) => changedPaths(p[k], n[k], base ? `${base}.${k}` : k));
}

/**
 * `specs` are the validated specs of `next` (from validateConfig): they tell which parameters
 * can be set live and which need a reconnect.
 */
export function diffConfigs(prev: ConfigView, next: ConfigView, specs: ReadonlyMap<string, InstrumentSpec>): ConfigDiff {
  const pi = prev.instruments ?? {};
  const ni = next.instruments ?? {};
  const inst = keyDiff(pi, ni);
  const changed: Record<string, InstrumentChange> = {};
  for (const id of inst.common) {
    const a = pi[id]! as Record<string, unknown>;
    const b = ni[id]! as Record<string, unknown>;
    if (sameValue(a, b)) continue;
    const change: InstrumentChange = { reconnect: false, params: {}, forgotten: [], other: [] };
    const connection = CONNECTION_KEYS.some((k) => !sameValue(a[k], b[k]));
    const optionsA = driverOptionsOf(a as any);
    const optionsB = driverOptionsOf(b as any);
    const options = !sameValue(optionsA, optionsB);
    change.reconnect = connection || options;
    const pa = (a.params ?? {}) as Record<string, ParamValue>;
    const pb = (b.params ?? {}) as Record<string, ParamValue>;
    const spec = specs.get(id);
    const decls = new Map((spec ? spec.driver.params(spec.options) : []).map((d) => [d.name, d]));
    for (const name of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
      if (sameValue(pa[name], pb[name])) continue;
      change.params[name] = { from: pa[name], to: pb[name] };
      if (pb[name] === undefined) change.forgotten.push(name);
      // A parameter that cannot be written while running is applied by reconnecting.
      if (pb[name] !== undefined && decls.get(name)?.settable !== 'running') change.reconnect = true;
    }
    if (!sameValue(a.poll_interval_ms, b.poll_interval_ms)) {
      change.pollIntervalMs = { from: a.poll_interval_ms as number | undefined, to: b.poll_interval_ms as number | undefined };
    }
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (k === 'params' || k === 'poll_interval_ms' || (CONNECTION_KEYS as readonly string[]).includes(k)) continue;
      if (!Object.hasOwn(optionsB, k) && !Object.hasOwn(optionsA, k) && !sameValue(a[k], b[k])) change.other.push(k);
    }
    changed[id] = change;
  }

  const pm = prev.modules ?? {};
  const nm = next.modules ?? {};
  const mod = keyDiff(pm, nm);
  const modChanged: Record<string, ModuleChange> = {};
  for (const id of mod.common) {
    const a = pm[id]! as Record<string, unknown>;
    const b = nm[id]! as Record<string, unknown>;
    if (sameValue(a, b)) continue;
    const recreate = a.type !== b.type || a.enabled !== b.enabled || !sameValue(moduleSettingsOf(a), moduleSettingsOf(b));
    const ra = (a.roles ?? {}) as Record<string, string>;
    const rb = (b.roles ?? {}) as Record<string, string>;
    const roles: Record<string, ValueChange<string>> = {};
    for (const role of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      if (ra[role] !== rb[role]) roles[role] = { from: ra[role], to: rb[role] };
    }
    modChanged[id] = { recreate, roles };
  }

  return {
    instruments: { added: inst.added, removed: inst.removed, changed },
    modules: { added: mod.added, removed: mod.removed, changed: modChanged },
    application: changedPaths(prev.application ?? {}, next.application ?? {}, ''),
  };
}

/** One line for logs and audit: "+pm2 -pm3 ~pm1(wavelength_nm) modules: +safety". */
export function summarizeDiff(d: ConfigDiff): string {
  const parts: string[] = [];
  for (const id of d.instruments.added) parts.push(`+${id}`);
  for (const id of d.instruments.removed) parts.push(`-${id}`);
  for (const [id, c] of Object.entries(d.instruments.changed)) {
    const what = [...Object.keys(c.params), ...(c.pollIntervalMs ? ['poll_interval_ms'] : []), ...(c.reconnect ? ['reconnect'] : [])];
    parts.push(`~${id}(${what.join(',')})`);
  }
  for (const id of d.modules.added) parts.push(`+module:${id}`);
  for (const id of d.modules.removed) parts.push(`-module:${id}`);
  for (const id of Object.keys(d.modules.changed)) parts.push(`~module:${id}`);
  if (d.application.length) parts.push(`application(${d.application.join(',')})`);
  return parts.join(' ') || 'no change';
}
