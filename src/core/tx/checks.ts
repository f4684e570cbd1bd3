/**
 * What is wrong with a transaction, found without sending anything: the staged config's whole
 * validation, items changed by someone else since they were staged (`conflict`), serial ports held
 * open by another process (and, only when asked, ports that cannot be opened), and the actions a
 * transaction performs (which a revert cannot take back). Each problem names the staged op that
 * caused it, so a person knows which line of their change to fix.
 *
 * Kept apart from the TxManager's bookkeeping and from the commit engine: tx.validate, tx.get,
 * `daqctl apply --dry-run` and the commit itself ask the same questions and must get the same
 * answers (a commit refuses exactly what a dry run reported).
 */
import { ownValue, type ConfigModel, type ConfigView } from '../../config/model.js';
import { validateConfig } from '../../config/validate.js';
import { isSimPort, resolvePortPath, parsePortAddress } from '../../config/port-path.js';
import type { CommandOf } from '../commands.js';
import { specsOf } from '../execution.js';
import type { TxDeps } from './manager.js';
import { planOf } from './plan.js';
import { openedElsewhere, probePort } from './ports.js';
import { describeOp, replay, type Replayed } from './stage.js';
import type { Problem, TxRecord } from './types.js';

/** A touched item whose revision moved since it was staged. */
export interface Conflict {
  kind: 'instruments' | 'modules';
  id: string;
  staged: number;
  now: number;
  message: string;
}

/** Instruments and modules changed since the transaction staged them (their revision moved). */
export function conflicts(rec: Pick<TxRecord, 'touched'>, daemon: Pick<TxDeps['daemon'], 'itemRevision'>): Conflict[] {
  const out: Conflict[] = [];
  for (const kind of ['instruments', 'modules'] as const) {
    for (const [id, staged] of Object.entries(rec.touched[kind])) {
      const now = daemon.itemRevision(kind, id);
      if (now !== staged) out.push({ kind, id, staged, now, message: `${kind === 'instruments' ? 'instrument' : 'module'} ${id} changed since it was staged (revision ${staged} -> ${now})` });
    }
  }
  return out;
}

/**
 * The dry run (tx.validate, daqctl apply --dry-run): every problem with the op that caused it, and
 * the plan. Never touches a device unless `probe`.
 */
export async function dryRun(
  rec: Pick<TxRecord, 'id' | 'ops' | 'touched'>,
  running: ConfigModel,
  probe: boolean,
  deps: Pick<TxDeps, 'services'> & { daemon: Pick<TxDeps['daemon'], 'revision' | 'itemRevision'> },
) {
  const staged = await replay(running, rec.ops, deps.services, false);
  const problems: Problem[] = [...staged.problems];
  const { issues, specs } = validateConfig(staged.config);
  for (const issue of issues) problems.push({ ...attribute(issue.path, issue.message, staged, rec.ops), kind: 'validation_failed', path: issue.path, message: issue.message });
  for (const c of conflicts(rec, deps.daemon)) problems.push({ ...attribute(`${c.kind}.${c.id}`, '', staged, rec.ops), kind: 'conflict', path: `${c.kind}.${c.id}`, message: c.message });
  problems.push(...(await portProblems(running, staged, probe, rec.ops)));
  const plan = issues.length === 0 ? planOf(running, staged, specs).plan : undefined;
  return { id: rec.id, ok: problems.length === 0, revision: deps.daemon.revision, problems, ...(plan ? { plan } : {}), ops: rec.ops.length };
}

/** New or changed serial ports: opened by another process (read-only check), or, with probe, openable. */
export async function portProblems(running: ConfigView, staged: Replayed, probe: boolean, ops: TxRecord['ops']): Promise<Problem[]> {
  const ports = new Map<string, string>(); // resolved path -> instrument id
  for (const [id, table] of Object.entries(staged.config.instruments ?? {})) {
    const port = table.port;
    // Only serial paths can be held open by another process or probed by opening them here.
    if (typeof port !== 'string' || isSimPort(port) || table.enabled === false || parsePortAddress(port).kind !== 'serial') continue;
    if (ownValue(running.instruments, id)?.port === port && ownValue(running.instruments, id)?.enabled !== false) continue; // daqd has it open already
    ports.set(resolvePortPath(port), id);
  }
  if (ports.size === 0) return [];
  const problems: Problem[] = [];
  const held = await openedElsewhere([...ports.keys()]);
  for (const [path, holders] of held) {
    const id = ports.get(path)!;
    problems.push({
      ...attribute(`instruments.${id}`, '', staged, ops),
      kind: 'port_conflict',
      path: `instruments.${id}.port`,
      message: `${path} is already open in another process (${holders.map((h) => `pid ${h.pid} ${h.command}`).join(', ')})`,
    });
  }
  if (probe) {
    for (const [path, id] of ports) {
      if (held.has(path)) continue;
      const why = await probePort(path);
      if (why) problems.push({ ...attribute(`instruments.${id}`, '', staged, ops), kind: 'port_error', path: `instruments.${id}.port`, message: why });
    }
  }
  return problems;
}

/** Whether the transaction performs an action (a revert cannot take it back). */
export function hasActions(rec: TxRecord, running: ConfigView): boolean {
  return actionText(rec, running) !== '';
}

/** The actions the transaction performs, as `id.param, ...` ('' for none). */
export function actionText(rec: TxRecord, running: ConfigView): string {
  const out: string[] = [];
  for (const op of rec.ops) {
    if (op.command.type !== 'instrument.set') continue;
    const id = op.command.id;
    const spec = specsOf(running).get(id);
    const table = ownValue(running.instruments, id);
    // An instrument the transaction adds: its driver's declarations.
    const added = rec.ops.find((o) => o.command.type === 'instrument.add' && o.command.id === id);
    const decls = spec ? spec.driver.params(spec.options) : added || table ? declsFor(rec, id) : [];
    for (const name of Object.keys(op.command.params)) if (decls.find((d) => d.name === name)?.kind === 'action') out.push(`${id}.${name}`);
  }
  return out.join(', ');
}

function declsFor(rec: TxRecord, id: string) {
  const add = rec.ops.find((o) => o.command.type === 'instrument.add' && o.command.id === id)?.command as CommandOf<'instrument.add'> | undefined;
  if (!add) return [];
  try {
    const specs = validateConfig({ instruments: { [id]: add.config } }).specs;
    const spec = specs.get(id);
    return spec ? spec.driver.params(spec.options) : [];
  } catch {
    return [];
  }
}

/** The staged op that caused a problem at `path` (the last op touching that item, or naming it). */
export function attribute(path: string, message: string, staged: Replayed, ops: TxRecord['ops']): { op?: number; opText?: string } {
  const parts = path.split('.');
  const key = parts.length >= 2 ? `${parts[0]}.${parts[1]}` : '';
  let found = staged.touchedBy.get(key);
  if (!found) {
    for (const [item, n] of staged.touchedBy) {
      const id = item.split('.')[1]!;
      if (message.includes(`"${id}"`) || message.includes(` ${id} `) || path.includes(`.${id}`)) found = n;
    }
  }
  const n = found?.[found.length - 1];
  const op = ops.find((o) => o.n === n);
  return op ? { op: op.n, opText: describeOp(op.command) } : {};
}

export function problemText(p: Problem): string {
  return `${p.op ? `op ${p.op}: ` : ''}${p.path ? `${p.path}: ` : ''}${p.message}`;
}
