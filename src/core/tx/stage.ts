/**
 * Staging: a transaction's operations replayed on a config, through the same handlers as the
 * direct commands (so a stage is refused with the same error kinds), but with a commit that only
 * records the next config: nothing is applied, sent or written.
 */
import { cloneModel, ownValue, type ConfigModel, type ConfigView } from '../../config/model.js';
import { getDriver } from '../../drivers/registry.js';
import type { ParamDecl, ParamValue } from '../../drivers/types.js';
import { describeError, isDaqError, toDaqError } from '../../errors.js';
import { dependentsOf } from '../../modules/graph.js';
import type { ConfigDiff } from '../apply/diff.js';
import { Execution, specsOf, type CommitOutcome, type Services } from '../execution.js';
import { handlerFor } from '../handlers/index.js';
import { planSet } from '../handlers/instrument.js';
import { driverOptionsOf } from '../../config/resolve.js';
import type { Problem, StagedCommand, StagedOp } from './types.js';

const NO_DIFF: ConfigDiff = {
  instruments: { added: [], removed: [], changed: {} },
  modules: { added: [], removed: [], changed: {} },
  application: [],
};

/** An Execution whose commit only records the next config (no validation of the whole, no apply, no file). */
export class StagingExecution extends Execution {
  override async commit(next: ConfigModel): Promise<CommitOutcome> {
    this.current = next;
    this.changed = true;
    return { diff: NO_DIFF, summary: 'staged', confirmed: {}, persisted: { written: false, reason: 'staged in a transaction' } };
  }
}

export interface Replayed {
  /** The config the transaction would produce (actions never in it). */
  config: ConfigModel;
  /** Every value a staged set sends to the device (setpoints and actions), per instrument, and the ops that staged them. */
  writes: Record<string, { values: Record<string, ParamValue>; kinds: Record<string, ParamDecl['kind']>; ops: number[] }>;
  /** Ops that could not be replayed (the item is gone, in_use...), each with its problem. */
  problems: Problem[];
  /** 'instruments.<id>' / 'modules.<id>' -> the ops that touched it. */
  touchedBy: Map<string, number[]>;
}

export function describeOp(c: StagedCommand): string {
  switch (c.type) {
    case 'instrument.add':
      return `add instrument ${c.id} (${String((c.config as { driver?: unknown }).driver ?? '?')} on ${String((c.config as { port?: unknown }).port ?? '?')})`;
    case 'instrument.remove':
      return `remove instrument ${c.id}${c.cascade ? ' (cascade)' : c.force ? ' (force)' : ''}`;
    case 'instrument.set':
      return `set ${c.id} ${Object.entries(c.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`;
    case 'module.add':
      return `add module ${c.id} (${String((c.config as { type?: unknown }).type ?? '?')})`;
    case 'module.remove':
      return `remove module ${c.id}`;
    case 'module.assign':
      return `assign ${c.id}.${c.role} = ${c.instrument}`;
    case 'module.unassign':
      return `unassign ${c.id}.${c.role}`;
    case 'module.set':
      return `set module ${c.id} ${Object.keys(c.settings).join(', ')}`;
  }
}

/** The items an op changes (conflict detection records their revisions). */
export function itemsOf(c: StagedCommand, before: ConfigView): { instruments: string[]; modules: string[] } {
  if (c.type.startsWith('module.')) return { instruments: [], modules: [c.id] };
  const modules = c.type === 'instrument.remove' && (c.force || c.cascade) ? dependentsOf(before, c.id).map((u) => u.module) : [];
  return { instruments: [c.id], modules: [...new Set(modules)] };
}

function declsOf(config: ConfigView, id: string): Map<string, ParamDecl> {
  const spec = specsOf(config).get(id);
  if (spec) return new Map(spec.driver.params(spec.options).map((d) => [d.name, d]));
  const table = ownValue(config.instruments, id)!;
  const driver = getDriver(table.driver);
  const options = driver.optionsSchema.safeParse(driverOptionsOf(table));
  return new Map((options.success ? driver.params(options.data as never) : []).map((d) => [d.name, d]));
}

/** One op on `x`: the handler of the direct command (a set: planned, setpoints to the config, actions kept apart). */
async function stageOne(x: StagingExecution, c: StagedCommand, n: number, writes: Replayed['writes']): Promise<void> {
  if (c.type !== 'instrument.set') {
    await handlerFor(c.type)(x, c as never);
    return;
  }
  const plan = planSet(x.config, c);
  const decls = declsOf(x.config, c.id);
  const { next, table } = x.draftInstrument(c.id);
  const editable = table as unknown as Record<string, unknown>;
  for (const key of Object.keys(plan.connection)) editable[key] = plan.connection[key];
  const params = { ...(table.params ?? {}) };
  for (const [name, value] of Object.entries(plan.device)) {
    if (decls.get(name)?.kind === 'setpoint') params[name] = value; // actions are never written to the config
  }
  if (Object.keys(params).length > 0) table.params = params;
  if (plan.pollIntervalMs !== undefined) table.poll_interval_ms = plan.pollIntervalMs;
  if (Object.keys(plan.device).length > 0) {
    const w = (writes[c.id] ??= { values: {}, kinds: {}, ops: [] });
    for (const [name, value] of Object.entries(plan.device)) {
      w.values[name] = value;
      w.kinds[name] = decls.get(name)?.kind ?? 'setpoint';
    }
    w.ops.push(n);
  }
  await x.commit(next);
}

/**
 * Replays `ops` on `base`. `strict`: the first op that fails throws (staging, commit); otherwise
 * every failing op is a problem and the rest go on (validate: every problem, not just the first).
 */
export async function replay(base: ConfigModel, ops: readonly StagedOp[], services: Services, strict: boolean): Promise<Replayed> {
  let config = base;
  const writes: Replayed['writes'] = {};
  const problems: Problem[] = [];
  const touchedBy = new Map<string, number[]>();
  for (const op of ops) {
    const x = new StagingExecution(op.command, 'tx', config, services);
    try {
      await stageOne(x, op.command, op.n, writes);
    } catch (err) {
      if (strict) throw annotate(err, op);
      const e = toDaqError(err);
      problems.push({ op: op.n, opText: describeOp(op.command), kind: e.kind, message: describeError(err) });
      continue;
    }
    const items = itemsOf(op.command, config);
    for (const id of items.instruments) touchedBy.set(`instruments.${id}`, [...(touchedBy.get(`instruments.${id}`) ?? []), op.n]);
    for (const id of items.modules) touchedBy.set(`modules.${id}`, [...(touchedBy.get(`modules.${id}`) ?? []), op.n]);
    config = x.result() ?? config;
  }
  // Writes to an instrument the transaction removes afterwards are moot.
  for (const id of Object.keys(writes)) if (!ownValue(config.instruments, id)) delete writes[id];
  return { config: config === base ? cloneModel(base) : config, writes, problems, touchedBy };
}

/** The op's number and text on an error (the kind stays the direct command's). */
export function annotate(err: unknown, op: StagedOp): unknown {
  if (!isDaqError(err)) return err;
  if (!err.message.startsWith(`op ${op.n} `)) err.message = `op ${op.n} (${describeOp(op.command)}): ${err.message}`;
  return err;
}
