/**
 * The commit engine: what runs in the manager's queue as the internal command `tx.apply`, and a
 * version rollback's whole-config commit. It moves hardware and must be able to put it back, so the
 * order is fixed: refuse (conflicts, replay, whole-config validation, ports) before anything is
 * touched; checkpoint the devices; the one apply path (Execution.commit -> applyDiff); a bounded
 * wait for new and reconnected instruments; every staged value sent and confirmed by read-back;
 * only then the file. If a step fails, the checkpoint is restored (checkpoint.ts) and the error
 * says which step failed (for a transaction, which staged op caused it) and what was restored
 * (`data.restored`).
 *
 * A confirmed commit (confirm_within_s) stops before the file: the touched tables before and after
 * and the device checkpoint are kept in the record (`pending`), so tx.confirm writes the file,
 * and a revert (deadline with on_timeout "revert", or tx.rollback) puts the tables and the devices
 * back, even after a restart (`resume` re-applies the pending state at start-up).
 *
 * Kept out of manager.ts, which keeps the records and answers the tx.* methods: this is the part
 * that talks to devices, and its ordering is the part that must not drift.
 */
import type { ConfigModel, ConfigView } from '../../config/model.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { ConfigDiff } from '../apply/diff.js';
import { ownValue, setOwn } from '../../config/model.js';
import { validateConfig } from '../../config/validate.js';
import { configInvalid } from '../../config/issues.js';
import type { ParamValue } from '../../drivers/types.js';
import { DaqError, toDaqError, type ErrorKind } from '../../errors.js';
import type { CommandResult } from '../commands.js';
import { numberKindFrom, specsOf, type Execution } from '../execution.js';
import type { PersistOutcome } from '../persister.js';
import { attribute, conflicts, portProblems, problemText } from './checks.js';
import { checkpoint, restore, restoreDevices, restoredText, restoreValues } from './checkpoint.js';
import type { TxDeps } from './manager.js';
import { planOf, type TxPlan } from './plan.js';
import { describeOp, replay, type Replayed } from './stage.js';
import type { PendingConfirm, TouchedTables, TxRecord, TxState } from './types.js';

/** Bounded wait for new / reconnected instruments and for sets to be confirmed, unless the commit says otherwise. */
export const DEFAULT_TIMEOUT_S = 10;

export const elapsed = (t0: number) => Math.round((performance.now() - t0) * 100) / 100;

/** Options of one tx.commit (TxManager.commit sets them; tx.apply reads them in the queue). */
export interface CommitOptions {
  timeoutMs: number;
  confirm?: { withinS: number; onTimeout: 'hold' | 'revert' };
}

/** A whole target config to commit as one transaction (version rollback). */
export interface ConfigCommit {
  label: string;
  target: ConfigModel;
  text?: string;
  writes: Replayed['writes'];
  applied?: Record<string, Record<string, ParamValue>>;
  timeoutMs?: number;
  write: () => Promise<PersistOutcome>;
}

export interface ConfigCommitResult {
  plan: TxPlan;
  steps: string[];
  confirmed: Record<string, Record<string, ParamValue>>;
  persisted: PersistOutcome;
  checkpointMs: number;
  summary: string;
}

export interface CommitEngineDeps extends Pick<TxDeps, 'daemon' | 'services' | 'instruments' | 'modules' | 'persister' | 'log' | 'clock'> {
  /** Write the record's state file (a failed write is logged, never thrown: TxManager.save). */
  save(rec: TxRecord): Promise<void>;
  /** End the transaction: out of the live set, state file removed, tx.state emitted (TxManager.end). */
  end(rec: TxRecord, state: TxState, note?: string): Promise<void>;
}

export class CommitEngine {
  constructor(private readonly deps: CommitEngineDeps) {}

  async commit(x: Execution, rec: TxRecord, options: CommitOptions | undefined): Promise<CommandResult> {
    const { log } = this.deps;
    const opts = options ?? { timeoutMs: DEFAULT_TIMEOUT_S * 1000 };
    const found = conflicts(rec, this.deps.daemon);
    if (found.length > 0) {
      throw new DaqError('conflict', `transaction ${rec.id}: ${found.map((c) => c.message).join('; ')}; discard it and stage again on the current config`, {
        details: { tx: rec.id, conflicts: found.map(({ kind, id, staged, now }) => ({ kind, id, staged, now })) },
      });
    }
    const prev = x.config as ConfigModel;
    const staged = await replay(prev, rec.ops, this.deps.services, true);
    const { issues, specs } = validateConfig(staged.config);
    const ports = await portProblems(prev, staged, false, rec.ops);
    if (issues.length > 0 || ports.length > 0) {
      const problems = [
        ...issues.map((i) => ({ ...attribute(i.path, i.message, staged, rec.ops), kind: 'validation_failed', path: i.path, message: i.message })),
        ...ports,
      ];
      throw new DaqError('validation_failed', `transaction ${rec.id} does not validate: ${problems.slice(0, 3).map(problemText).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`, {
        details: { tx: rec.id, problems },
      });
    }
    const { plan, diff: planned } = planOf(prev, staged, specs);
    // Checkpoint: device read-back of what the transaction changes or sends, per touched instrument.
    const cpStarted = performance.now();
    const cp = await checkpoint(this.deps, prev, planned, staged);
    const checkpointMs = elapsed(cpStarted);
    let step = 'validate';
    let stepInstrument: string | undefined;
    let appliedAll = false;
    const written: Record<string, string[]> = {};
    const steps: string[] = [];
    const trace = (s: string) => {
      step = s;
      steps.push(s);
      stepInstrument = /^(start|reconnect|set|stop|send|wait for) (\S+)/.exec(s)?.[2];
    };
    const sent: Record<string, Record<string, ParamValue>> = {};
    try {
      const outcome = await x.commit(staged.config, {
        ...(opts.confirm ? { persist: false } : {}),
        requireLive: true,
        source: `tx ${rec.id}`,
        trace,
        beforePersist: async ({ diff, confirmed }) => {
          appliedAll = true;
          for (const [id, values] of Object.entries(confirmed)) sent[id] = { ...values };
          const reconnected = await this.waitForArrivals(diff, specs, trace, opts.timeoutMs);
          // Every staged value is a command to the device: what the apply did not send yet (actions,
          // values the config already held) goes now, confirmed by read-back.
          for (const [id, w] of Object.entries(staged.writes)) {
            if (specs.get(id)?.enabled === false) continue;
            const fresh = diff.instruments.added.includes(id) || reconnected.includes(id);
            const decls = new Map(specs.get(id)!.driver.params(specs.get(id)!.options).map((d) => [d.name, d]));
            const extra: Record<string, ParamValue> = {};
            for (const [name, value] of Object.entries(w.values)) {
              if (decls.get(name)?.settable !== 'running') continue; // applied by reconnecting
              if (confirmed[id] && Object.hasOwn(confirmed[id]!, name)) continue; // sent by the apply
              if (fresh && w.kinds[name] === 'setpoint') continue; // sent on connect
              extra[name] = value;
            }
            if (Object.keys(extra).length === 0) continue;
            await this.sendConfirmed(id, extra, opts.timeoutMs, trace, written, sent);
          }
          trace('write the config file');
        },
      });
      const result: CommandResult = {
        tx: rec.id,
        committed: true,
        plan,
        steps,
        confirmed: sent,
        persisted: outcome.persisted,
        checkpointMs,
      };
      if (opts.confirm) {
        const pending: PendingConfirm = {
          deadline: this.deps.clock() + opts.confirm.withinS * 1000,
          onTimeout: opts.confirm.onTimeout,
          before: tablesOf(prev, rec),
          after: tablesOf(staged.config, rec),
          checkpoint: restoreValues(cp, written, true),
          instruments: Object.keys(rec.touched.instruments),
          modules: Object.keys(rec.touched.modules),
        };
        rec.state = 'pending_confirm';
        rec.pending = pending;
        await this.deps.save(rec);
        this.deps.services.events.emit({ type: 'tx.state', tx: rec.id, state: 'pending_confirm' });
        log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} committed (${plan.summary}); not in the file until confirmed by ${new Date(pending.deadline).toISOString()} (on timeout: ${pending.onTimeout})`);
        return { ...result, pendingConfirm: { deadline: new Date(pending.deadline).toISOString(), onTimeout: pending.onTimeout } };
      }
      await this.deps.end(rec, 'committed');
      log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} committed: ${plan.summary}`);
      return result;
    } catch (err) {
      const cause = toDaqError(err, (e) => log.error({ err: e }, 'bug: an error without a code'));
      const restored = await restore(this.deps, prev, staged.config, planned, cp, appliedAll, written, opts.timeoutMs, steps);
      const ops = stepInstrument ? (staged.touchedBy.get(`instruments.${stepInstrument}`) ?? []) : [];
      const op = ops.length > 0 ? rec.ops.find((o) => o.n === ops[ops.length - 1]) : undefined;
      const message = `transaction ${rec.id}: step "${step}"${op ? ` (op ${op.n}: ${describeOp(op.command)})` : ''} failed: ${cause.message}. Restored: ${restoredText(restored)}`;
      log.warn({ tx: rec.id, audit: true, step }, message);
      this.deps.services.events.emit({ type: 'tx.state', tx: rec.id, state: 'failed', message });
      throw new DaqError(cause.kind, message, {
        details: { tx: rec.id, step, ...(op ? { op: op.n, opText: describeOp(op.command) } : {}), cause: { kind: cause.kind, message: cause.message, ...(cause.details ? { details: cause.details } : {}) }, restored },
      });
    }
  }

  /** tx.confirm: the pending commit's tables go into the file; the running set-up is already right. */
  async confirm(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const p = rec.pending;
    if (!p) throw new DaqError('not_found', `transaction ${rec.id} is not waiting for a confirmation`);
    const running = x.config as ConfigModel;
    const before = withTables(running, p.before);
    const persisted = await this.deps.persister.persist(before, running, true, { numberKind: numberKindFrom(specsOf(running)) });
    if (!persisted.written && persisted.error) {
      throw new DaqError('persist_failed', `transaction ${rec.id} was not confirmed: the config file could not be written (${persisted.reason}); it is still pending`);
    }
    await this.deps.end(rec, 'committed', 'confirmed');
    this.deps.log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} confirmed: written to the config file`);
    return { tx: rec.id, confirmed: true, persisted };
  }

  /** A pending commit undone: the touched tables as before, then the devices' checkpointed values. */
  async revert(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const p = rec.pending;
    if (!p) throw new DaqError('not_found', `transaction ${rec.id} is not waiting for a confirmation`);
    const running = x.config as ConfigModel;
    const target = withTables(running, p.before);
    const timeoutMs = DEFAULT_TIMEOUT_S * 1000;
    // Through the one apply path (holds and interlocks apply to every value sent back).
    const outcome = await x.commit(target, { persist: false, requireLive: false, source: `tx ${rec.id} revert` });
    const restored = await restoreDevices(this.deps, outcome.diff, p.checkpoint, timeoutMs, true);
    // A revert on the deadline has no caller to answer: what was not put back goes in the tx.state message too.
    const notRestored = restored.failures.length ? `; NOT restored: ${restored.failures.join('; ')}` : '';
    await this.deps.end(rec, 'reverted', `confirm deadline passed (on_timeout revert) or discarded${notRestored}`);
    this.deps.log.warn({ tx: rec.id, audit: true }, `transaction ${rec.id} reverted: ${outcome.summary}${notRestored}`);
    return { tx: rec.id, reverted: true, summary: outcome.summary, restored: { devices: restored.devices, failures: restored.failures } };
  }

  /** A pending confirmed commit after a restart: its tables applied again (setpoints only, no action). */
  async resume(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const p = rec.pending;
    if (!p) throw new DaqError('not_found', `transaction ${rec.id} is not waiting for a confirmation`);
    const running = x.config as ConfigModel;
    const outcome = await x.commit(withTables(running, p.after), { persist: false, requireLive: false, source: `tx ${rec.id} (pending confirmation, re-applied at start-up)` });
    return { tx: rec.id, resumed: true, summary: outcome.summary };
  }

  /**
   * A whole target config applied as one transaction, in the queue (version rollback, issue #19):
   * the same checkpoint of the devices' read-back values, the one apply path, the wait for new and
   * reconnected instruments, the confirmed sends of `writes` (what the apply does not send: actions,
   * device drift), and, as the last step, `write` (the config file). If any step fails, the
   * checkpoint is restored exactly as for a failed commit, and the error says which step and what
   * was restored (`data.restored`). `applied`: values the config takes without sending them (actions
   * a rollback does not perform).
   */
  async commitConfig(x: Execution, req: ConfigCommit): Promise<ConfigCommitResult> {
    const { log } = this.deps;
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_S * 1000;
    const prev = x.config as ConfigModel;
    const { issues, specs } = validateConfig(req.target, req.text);
    if (issues.length > 0) throw configInvalid(req.label, issues);
    const staged: Replayed = { config: req.target, writes: req.writes, problems: [], touchedBy: new Map() };
    const ports = await portProblems(prev, staged, false, []);
    if (ports.length > 0) {
      throw new DaqError('port_conflict', `${req.label}: ${ports.map(problemText).join('; ')}`, { details: { problems: ports } });
    }
    const { plan, diff: planned } = planOf(prev, staged, specs);
    const cpStarted = performance.now();
    const cp = await checkpoint(this.deps, prev, planned, staged);
    const checkpointMs = elapsed(cpStarted);
    let step = 'validate';
    let appliedAll = false;
    const written: Record<string, string[]> = {};
    const steps: string[] = [];
    const trace = (s: string) => {
      step = s;
      steps.push(s);
    };
    const sent: Record<string, Record<string, ParamValue>> = {};
    let persisted: PersistOutcome = { written: false, reason: 'not written' };
    try {
      const outcome = await x.commit(req.target, {
        requireLive: true,
        source: req.label,
        fromFile: true, // the file is replaced with the exact text by `write`, below
        ...(req.text !== undefined ? { text: req.text } : {}),
        ...(req.applied ? { applied: req.applied } : {}),
        trace,
        beforePersist: async ({ diff, confirmed }) => {
          appliedAll = true;
          for (const [id, values] of Object.entries(confirmed)) sent[id] = { ...values };
          await this.waitForArrivals(diff, specs, trace, timeoutMs);
          for (const [id, w] of Object.entries(req.writes)) {
            if (specs.get(id)?.enabled === false || Object.keys(w.values).length === 0) continue;
            await this.sendConfirmed(id, w.values, timeoutMs, trace, written, sent);
          }
          trace('write the config file');
          persisted = await req.write();
        },
      });
      return { plan, steps, confirmed: sent, persisted, checkpointMs, summary: outcome.summary };
    } catch (err) {
      const cause = toDaqError(err, (e) => log.error({ err: e }, 'bug: an error without a code'));
      if (step === 'validate') throw err; // refused before anything was applied
      const restored = await restore(this.deps, prev, req.target, planned, cp, appliedAll, written, timeoutMs, steps);
      const message = `${req.label}: step "${step}" failed: ${cause.message}. Restored: ${restoredText(restored)}`;
      log.warn({ audit: true, step }, message);
      throw new DaqError(cause.kind, message, {
        details: { step, cause: { kind: cause.kind, message: cause.message, ...(cause.details ? { details: cause.details } : {}) }, restored },
      });
    }
  }

  /**
   * Waits, one after another, for each instrument the apply added or reconnected (and that is
   * enabled) to be ready; returns the reconnected ones. The same step for a commit and a rollback.
   */
  private async waitForArrivals(diff: ConfigDiff, specs: ReadonlyMap<string, InstrumentSpec>, trace: (step: string) => void, timeoutMs: number): Promise<string[]> {
    const reconnected = Object.entries(diff.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id);
    for (const id of [...diff.instruments.added, ...reconnected]) {
      if (specs.get(id)?.enabled === false) continue;
      trace(`wait for ${id} to be ready`);
      await this.ready(id, timeoutMs);
    }
    return reconnected;
  }

  /** Sends `values` to one instrument and waits for their read-back, noting what was written and what was confirmed. */
  private async sendConfirmed(
    id: string,
    values: Record<string, ParamValue>,
    timeoutMs: number,
    trace: (step: string) => void,
    written: Record<string, string[]>,
    sent: Record<string, Record<string, ParamValue>>,
  ): Promise<void> {
    const names = Object.keys(values);
    trace(`send ${id} ${names.join(', ')}`);
    written[id] = names;
    const got = await withTimeout(this.deps.instruments.setParams(id, values), timeoutMs, `${id}: ${names.join(', ')} not confirmed within ${timeoutMs / 1000} s`);
    sent[id] = { ...(sent[id] ?? {}), ...got };
  }

  /** A new or reconnected instrument ready within the commit's wait, or the step fails with why. */
  private async ready(id: string, timeoutMs: number): Promise<void> {
    const r = await this.deps.daemon.waitForConnection(id, timeoutMs);
    if (r.state === 'ready') return;
    if (r.state === 'error') throw new DaqError((r.error?.kind as ErrorKind | undefined) ?? 'not_ready', `${id} did not connect: ${r.error?.message ?? 'error'}`);
    throw new DaqError('timeout', `${id} was not ready within ${timeoutMs / 1000} s (state ${r.state})`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new DaqError('timeout', message)), ms)))]).finally(() => clearTimeout(timer));
}

/** The tables of the items a transaction touches (null: absent). */
function tablesOf(config: ConfigView, rec: TxRecord): TouchedTables {
  const out: TouchedTables = { instruments: {}, modules: {} };
  for (const kind of ['instruments', 'modules'] as const) {
    for (const id of Object.keys(rec.touched[kind])) setOwn(out[kind], id, ownValue(config[kind] as Record<string, unknown> | undefined, id) ?? null);
  }
  return out;
}

/** `config` with the given tables put in (null: removed), keeping the others. */
function withTables(config: ConfigModel, tables: TouchedTables): ConfigModel {
  const next: ConfigModel = { ...config };
  for (const kind of ['instruments', 'modules'] as const) {
    if (config[kind] === undefined && Object.values(tables[kind]).every((t) => t === null)) continue;
    const group: Record<string, unknown> = { ...((config[kind] as Record<string, unknown> | undefined) ?? {}) };
    for (const [id, table] of Object.entries(tables[kind])) {
      if (table === null) delete group[id];
      else setOwn(group, id, table);
    }
    (next as Record<string, unknown>)[kind] = group;
  }
  return next;
}
