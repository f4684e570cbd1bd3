/**
 * The running config's revision (issue #18): every command that changed the config is one
 * revision, and each instrument's and module's table carries the revision that last changed it.
 * `ifRev` on a command is checked against it (optimistic concurrency).
 */
import { sameValue, type ConfigModel } from '../config/model.js';
import type { ParamValue } from '../drivers/types.js';
import { DaqError } from '../errors.js';
import type { Command } from './commands.js';

/** A parameter changed by a config command (file reload, transaction, rollback): no device value before. */
export interface ConfigParamChange {
  instrument: string;
  param: string;
  old?: ParamValue;
  new: ParamValue;
}

export class Revisions {
  private rev = 0;
  private readonly items = { instruments: new Map<string, number>(), modules: new Map<string, number>() };

  get current(): number {
    return this.rev;
  }

  /** The revision that last changed an instrument's (or module's) table; 0 if never since start. */
  item(kind: 'instruments' | 'modules', id: string): number {
    return this.items[kind].get(id) ?? 0;
  }

  /** `ifRev`: refuse a change made against a config that has changed since. */
  check(command: Command): void {
    const ifRev = (command as { ifRev?: number }).ifRev;
    if (ifRev === undefined || ifRev === this.rev) return;
    throw new DaqError('conflict', `the config is at revision ${this.rev}, not ${ifRev} (ifRev): it changed since you read it; read it again and retry`, {
      details: { ifRev, revision: this.rev },
    });
  }

  /**
   * One more revision for a command that changed the config from `before` to `after`; the tables
   * it changed take that number. `only`: the instrument ids it can have changed (a recorded set
   * changes its own table only: with 1000 instruments ramping, a scan of all per set is O(n^2) a second).
   */
  count(before: ConfigModel, after: ConfigModel, only?: readonly string[]): number {
    this.rev++;
    for (const kind of ['instruments', 'modules'] as const) {
      const a = (before[kind] ?? {}) as Record<string, unknown>;
      const b = (after[kind] ?? {}) as Record<string, unknown>;
      if (a === b) continue;
      const ids = kind === 'instruments' && only ? only : new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const id of ids) {
        const x = Object.hasOwn(a, id) ? a[id] : undefined;
        const y = Object.hasOwn(b, id) ? b[id] : undefined;
        if (x !== y && !sameValue(x, y)) this.items[kind].set(id, this.rev);
      }
    }
    return this.rev;
  }
}

/** The parameter values that differ between two configs' instrument tables (new or changed ones). */
export function paramChanges(before: ConfigModel, after: ConfigModel): ConfigParamChange[] {
  const changes: ConfigParamChange[] = [];
  const a = (before.instruments ?? {}) as Record<string, { params?: Record<string, ParamValue> }>;
  const b = (after.instruments ?? {}) as Record<string, { params?: Record<string, ParamValue> }>;
  for (const id of Object.keys(b)) {
    const pa = (Object.hasOwn(a, id) ? a[id]?.params : undefined) ?? {};
    const pb = b[id]?.params ?? {};
    if (pa === pb) continue;
    for (const [param, value] of Object.entries(pb)) {
      const old = Object.hasOwn(pa, param) ? pa[param] : undefined;
      if (old === undefined || !sameValue(old, value)) changes.push({ instrument: id, param, ...(old !== undefined ? { old } : {}), new: value });
    }
  }
  return changes;
}
