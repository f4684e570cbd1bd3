/**
 * What a transaction would do, in the terms a person checks before committing (tx.validate,
 * tx.get, daqctl apply --dry-run): what starts, stops, reconnects, which parameters change on which
 * devices, which values are sent, which actions happen, which modules change.
 */
import type { ConfigView } from '../../config/model.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { ParamValue } from '../../drivers/types.js';
import { diffConfig } from '../../persistence/config-diff.js';
import { diffConfigs, summarizeDiff, type ConfigDiff } from '../apply/diff.js';
import type { Replayed } from './stage.js';

export interface TxPlan {
  summary: string;
  start: string[];
  stop: string[];
  reconnect: string[];
  /** Config setpoints that change, per instrument. */
  set: Record<string, Record<string, { from?: ParamValue; to?: ParamValue }>>;
  /** Every value sent to a device (a set is a command to the device), per instrument. */
  send: Record<string, Record<string, ParamValue>>;
  /** Actions performed (never written to the file), per instrument. */
  actions: Record<string, Record<string, ParamValue>>;
  modules: { added: string[]; removed: string[]; changed: string[] };
  /** The config it would produce, as edits of the running one (dotted path, from, to). */
  changes: { path: string; kind: string; from?: unknown; to?: unknown }[];
}

export function planOf(running: ConfigView, staged: Replayed, nextSpecs: ReadonlyMap<string, InstrumentSpec>): { plan: TxPlan; diff: ConfigDiff } {
  const diff = diffConfigs(running, staged.config, nextSpecs);
  const set: TxPlan['set'] = {};
  const reconnect: string[] = [];
  for (const [id, c] of Object.entries(diff.instruments.changed)) {
    if (c.reconnect) reconnect.push(id);
    for (const [name, v] of Object.entries(c.params)) {
      (set[id] ??= {})[name] = { ...(v.from !== undefined ? { from: v.from } : {}), ...(v.to !== undefined ? { to: v.to } : {}) };
    }
  }
  const send: TxPlan['send'] = {};
  const actions: TxPlan['actions'] = {};
  for (const [id, w] of Object.entries(staged.writes)) {
    send[id] = { ...w.values };
    for (const [name, value] of Object.entries(w.values)) if (w.kinds[name] === 'action') (actions[id] ??= {})[name] = value;
  }
  const changes = diffConfig(running, staged.config).map((op) => ({
    path: op.path.join('.'),
    kind: op.kind,
    ...(op.kind !== 'add' ? { from: op.before } : {}),
    ...(op.kind !== 'remove' ? { to: op.value } : {}),
  }));
  const actionText = Object.entries(actions).map(([id, a]) => `!${id}(${Object.keys(a).join(',')})`);
  return {
    diff,
    plan: {
      summary: [summarizeDiff(diff), ...actionText].filter((t) => t !== 'no change' || actionText.length === 0).join(' '),
      start: diff.instruments.added,
      stop: diff.instruments.removed,
      reconnect,
      set,
      send,
      actions,
      modules: { added: diff.modules.added, removed: diff.modules.removed, changed: Object.keys(diff.modules.changed) },
      changes,
    },
  };
}
