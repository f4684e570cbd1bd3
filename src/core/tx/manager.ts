/**
 * Transactions (issue #18): staged, validated, all-or-nothing changes.
 *
 * - Staging replays the transaction's operations on the running config through the direct
 *   commands' handlers (stage.ts): nothing is applied, sent or written; nobody else sees it.
 * - Commit runs in the manager's queue as the internal command `tx.apply` (one change at a time,
 *   like every other): conflicts, replay, whole-config validation, a checkpoint of every touched
 *   instrument (device read-back, spec, modules), the one apply path (Execution.commit ->
 *   applyDiff), a bounded wait for new / reconnected instruments and for every set to be confirmed,
 *   then one atomic write. If a step fails, the checkpoint is restored and the answer says which
 *   step failed, why, and what was restored.
 * - Commit confirmed keeps the file unwritten until tx.confirm; the deadline is absolute and kept
 *   on disk, so it survives a restart.
 * - Open transactions and a pending confirmed commit live under `<state dir>/transactions/`.
 *
 * This file answers the tx.* methods and acts on deadlines; the records (memory and state files)
 * are in records.ts, the checks in checks.ts, the commit in commit-engine.ts, its checkpoint and
 * undo in checkpoint.ts.
 */
import { v4 as uuidv4 } from 'uuid';
import type { Logger } from 'pino';
import { setOwn, type ConfigModel, type ConfigView } from '../../config/model.js';
import { validateConfig } from '../../config/validate.js';
import { DaqError, describeError, toDaqError } from '../../errors.js';
import type { ModuleSupervisor } from '../../modules/supervisor.js';
import type { Command, CommandOf, CommandResult } from '../commands.js';
import { specsOf, type Execution, type Services } from '../execution.js';
import type { InstrumentSupervisor } from '../manager/supervisor.js';
import type { ConfigPersister } from '../persister.js';
import { actionText, dryRun, hasActions } from './checks.js';
import { CommitEngine, DEFAULT_TIMEOUT_S, elapsed, type CommitOptions, type ConfigCommit, type ConfigCommitResult } from './commit-engine.js';
import { planOf, type TxPlan } from './plan.js';
import { describeOp, itemsOf, replay } from './stage.js';
import { TxRecords } from './records.js';
import { opsFromToml } from './fragment.js';
import type { Problem, StagedCommand, TxRecord } from './types.js';

/** What the manager needs from the daemon (kept narrow: no import cycle at run time). */
export interface TxDaemon {
  readonly revision: number;
  readonly config: ConfigView;
  itemRevision(kind: 'instruments' | 'modules', id: string): number;
  dynamicConfig(): { enable_transactions: boolean; transaction_timeout_s: number };
  addStatusSource(name: string, read: () => unknown): void;
  waitForConnection(id: string, timeoutMs: number): Promise<{ state: string; error?: { kind: string; message: string } }>;
}

export interface TxDeps {
  daemon: TxDaemon;
  services: Services;
  instruments: InstrumentSupervisor;
  modules: ModuleSupervisor;
  persister: ConfigPersister;
  stateDir: string;
  log: Logger;
  clock: () => number;
  submit(cmd: Command, origin: string): Promise<CommandResult>;
}

export interface CommitRequest {
  /** Bounded wait for new / reconnected instruments to be ready and sets confirmed (default 10 s). */
  timeout_s?: number;
  confirm_within_s?: number;
  on_timeout?: 'hold' | 'revert';
  ifRev?: number;
}

const MAX_OPEN = 64;
const MAX_OPS = 1000;

export class TxManager {
  /** Live and ended transactions, in memory and in their state files (records.ts). */
  private readonly records: TxRecords;
  /** Options of the commit running now (tx.apply reads them in the queue). */
  private readonly commitOptions = new Map<string, CommitOptions>();
  /** Runs tx.apply and version rollbacks: checkpoint, the one apply path, restore (commit-engine.ts). */
  private readonly engine: CommitEngine;
  private sweep: NodeJS.Timeout | undefined;
  /** Serialises deadline handling (a tick while a revert runs does nothing). */
  private deadlineBusy: Promise<unknown> | undefined;

  constructor(private readonly deps: TxDeps) {
    this.records = new TxRecords(deps.stateDir, deps.log, deps.clock, deps.services.events);
    this.engine = new CommitEngine({ ...deps, save: (rec) => this.records.save(rec), end: (rec, state, note) => this.records.end(rec, state, note) });
  }

  // ---- lifecycle ----

  /** Load what the state dir holds; resume a pending confirmed commit; report an interrupted commit. */
  async start(): Promise<void> {
    const { log } = this.deps;
    for (const rec of this.records.loadAll()) {
      if (rec.state === 'committing') {
        // kill -9 during tx.commit: the file is whole (atomic write), old or new; daqd started from it.
        log.warn({ tx: rec.id, audit: true }, `transaction ${rec.id} was interrupted during its commit (daqd stopped); daqd started from the config file, which holds either all of it or none of it`);
        await this.records.end(rec, 'failed', 'interrupted during commit (daqd stopped); daqd started from the config file');
        continue;
      }
      if (rec.state === 'pending_confirm' && rec.pending) {
        this.records.add(rec);
        const p = rec.pending;
        if (p.onTimeout === 'revert' && this.deps.clock() >= p.deadline) {
          // The file never took it and the deadline passed while daqd was down: daqd runs the file. Done.
          log.warn({ tx: rec.id, audit: true }, `transaction ${rec.id}: its confirm deadline passed while daqd was stopped; reverted (daqd runs the config file, which never took it)`);
          await this.records.end(rec, 'reverted', 'confirm deadline passed while daqd was stopped');
          continue;
        }
        try {
          await this.deps.submit({ type: 'tx.apply', txId: rec.id, mode: 'resume' }, 'startup');
          log.info({ tx: rec.id }, `transaction ${rec.id}: pending confirmed commit re-applied (setpoints only, no action); confirm by ${new Date(p.deadline).toISOString()}`);
        } catch (err) {
          log.error({ tx: rec.id }, `transaction ${rec.id}: could not re-apply the pending confirmed commit (${describeError(err)}); dropped`);
          await this.records.end(rec, 'failed', `could not be re-applied at start-up: ${describeError(err)}`);
          continue;
        }
        continue;
      }
      if (rec.state === 'open') {
        this.records.add(rec);
        continue;
      }
      await this.records.discardFile(rec.id);
    }
    this.deps.daemon.addStatusSource('transactions', () => this.status());
    this.sweep = setInterval(() => void this.checkDeadlines().catch(() => {}), 1000);
    this.sweep.unref();
    await this.checkDeadlines();
  }

  stop(): void {
    if (this.sweep) clearInterval(this.sweep);
  }

  status() {
    const pending = this.records.pending();
    return {
      enabled: this.deps.daemon.dynamicConfig().enable_transactions,
      open: this.records.openCount(),
      pendingConfirm: pending?.pending
        ? {
            tx: pending.id,
            deadline: new Date(pending.pending.deadline).toISOString(),
            onTimeout: pending.pending.onTimeout,
            ...(pending.pending.alarm ? { alarm: pending.pending.alarm } : {}),
          }
        : null,
    };
  }

  /**
   * Expire idle transactions and act on a missed confirm deadline (hold: alarm; revert: restore).
   * Runs every second and on every tx call; tests with a controlled clock call it directly.
   */
  async checkDeadlines(): Promise<void> {
    if (this.deadlineBusy) return void (await this.deadlineBusy);
    const run = async () => {
      const now = this.deps.clock();
      const timeoutMs = this.deps.daemon.dynamicConfig().transaction_timeout_s * 1000;
      for (const rec of [...this.records.values()]) {
        if (rec.state === 'open' && now - rec.touchedAt > timeoutMs) {
          this.deps.log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} expired (idle for more than ${timeoutMs / 1000} s); its ${rec.ops.length} staged change(s) were discarded`);
          await this.records.end(rec, 'expired', `idle for more than ${timeoutMs / 1000} s (transaction_timeout_s)`);
        }
      }
      const pending = this.records.pending();
      const p = pending?.pending;
      if (pending && p && now >= p.deadline) {
        const by = new Date(p.deadline).toISOString();
        if (p.alarm) {
          // Said once (a hold's deadline, or a revert that failed): a person decides now.
        } else if (p.onTimeout === 'revert') {
          this.deps.log.warn({ tx: pending.id, audit: true }, `transaction ${pending.id} was not confirmed in time: reverting`);
          await this.deps.submit({ type: 'tx.apply', txId: pending.id, mode: 'revert' }, 'tx-deadline').catch((err: unknown) =>
            // Not retried every second behind the person's back (the config refused it once and
            // will again until someone changes it): raised as the hold alarm is, once, with the way out.
            this.raiseAlarm(pending, now, 'error', `transaction ${pending.id} was not confirmed by ${by} and reverting it failed: ${describeError(err)}. Its changes stay running but are not in the config file (daqctl tx confirm ${pending.id} keeps them; fix what the revert refused, then daqctl tx discard ${pending.id} reverts them)`),
          );
        } else {
          await this.raiseAlarm(pending, now, 'warn', `transaction ${pending.id} was not confirmed by ${by}: its changes stay running but are not in the config file (daqctl tx confirm ${pending.id} keeps them; daqctl tx discard ${pending.id} reverts them)`);
        }
      }
    };
    this.deadlineBusy = run();
    try {
      await this.deadlineBusy;
    } finally {
      this.deadlineBusy = undefined;
    }
  }

  /** A missed confirm deadline, said once: kept on the record (status), logged, and a tx.state alarm event. */
  private async raiseAlarm(rec: TxRecord, now: number, level: 'warn' | 'error', message: string): Promise<void> {
    rec.pending!.alarm = { at: new Date(now).toISOString(), message };
    await this.records.save(rec);
    this.deps.log[level]({ tx: rec.id, audit: true }, message);
    this.deps.services.events.emit({ type: 'tx.state', tx: rec.id, state: 'pending_confirm', message, alarm: true });
  }

  // ---- the methods ----

  async begin(origin: string) {
    this.requireEnabled();
    await this.checkDeadlines();
    const open = this.records.openCount();
    if (open >= MAX_OPEN) throw new DaqError('busy', `${open} transactions are open (at most ${MAX_OPEN}); commit or discard one first`);
    const rec: TxRecord = {
      id: uuidv4(),
      baseRevision: this.deps.daemon.revision,
      createdAt: new Date(this.deps.clock()).toISOString(),
      touchedAt: this.deps.clock(),
      state: 'open',
      origin,
      ops: [],
      touched: { instruments: {}, modules: {} },
    };
    this.records.add(rec);
    await this.records.save(rec);
    this.deps.log.info({ tx: rec.id, audit: true, origin }, `transaction ${rec.id} begun at revision ${rec.baseRevision}`);
    return { id: rec.id, baseRevision: rec.baseRevision, expiresAt: this.expiresAt(rec) };
  }

  /** Stage one change: checked on its own now (same error kinds as the direct command), applied at commit. */
  async stage(id: string, command: StagedCommand) {
    const rec = await this.openRecord(id);
    if (rec.ops.length >= MAX_OPS) throw new DaqError('busy', `transaction ${id} has ${rec.ops.length} staged changes (at most ${MAX_OPS})`);
    const op = { n: rec.ops.length + 1, command, at: new Date(this.deps.clock()).toISOString() };
    const running = this.deps.daemon.config as ConfigModel;
    // The ops staged so far, then this one strictly: it must make sense where it stands.
    const before = await replay(running, rec.ops, this.deps.services, false);
    await replay(before.config, [op], this.deps.services, true);
    const items = itemsOf(command, before.config);
    for (const i of items.instruments) if (!Object.hasOwn(rec.touched.instruments, i)) setOwn(rec.touched.instruments, i, this.deps.daemon.itemRevision('instruments', i));
    for (const m of items.modules) if (!Object.hasOwn(rec.touched.modules, m)) setOwn(rec.touched.modules, m, this.deps.daemon.itemRevision('modules', m));
    rec.ops.push(op);
    rec.touchedAt = this.deps.clock();
    await this.records.save(rec);
    return { id, op: op.n, staged: describeOp(command), ops: rec.ops.length, expiresAt: this.expiresAt(rec) };
  }

  /** A config file or fragment as staged changes (daqctl apply): each op staged as tx.stage* would. */
  async stageConfig(id: string, toml: string, whole: boolean) {
    await this.openRecord(id);
    const commands = opsFromToml(this.deps.daemon.config, toml, whole);
    const staged = [];
    for (const command of commands) staged.push(await this.stage(id, command));
    return { id, staged: staged.map((s) => ({ op: s.op, text: s.staged })), ops: this.records.find(id)?.ops.length ?? 0 };
  }

  /** `daqctl apply --dry-run`: the plan and every problem for a file or fragment; nothing stored, nothing sent. */
  async plan(toml: string, whole: boolean, probe: boolean) {
    this.requireEnabled();
    const running = this.deps.daemon.config as ConfigModel;
    const commands = opsFromToml(running, toml, whole);
    const ops = commands.map((command, i) => ({ n: i + 1, command, at: new Date(this.deps.clock()).toISOString() }));
    const result = await this.check({ id: 'dry-run', ops, touched: { instruments: {}, modules: {} } }, running, probe);
    return { ...result, id: undefined, dryRun: true, staged: ops.map((o) => ({ op: o.n, text: describeOp(o.command) })) };
  }

  /** A dry run: every problem with the op that caused it, and the plan. Never touches a device unless `probe`. */
  async validate(id: string, options: { probe?: boolean } = {}) {
    const rec = await this.openRecord(id);
    rec.touchedAt = this.deps.clock();
    await this.records.save(rec);
    return this.check(rec, this.deps.daemon.config as ConfigModel, options.probe === true);
  }

  /** The same dry run for a config (daqctl apply --dry-run of a whole file) without a stored transaction (checks.ts). */
  check(rec: Pick<TxRecord, 'id' | 'ops' | 'touched'>, running: ConfigModel, probe: boolean) {
    return dryRun(rec, running, probe, this.deps);
  }

  async get(id: string) {
    await this.checkDeadlines();
    const rec = this.record(id);
    const running = this.deps.daemon.config as ConfigModel;
    let plan: TxPlan | undefined;
    let problems: Problem[] = [];
    if (rec.state === 'open') {
      rec.touchedAt = this.deps.clock();
      await this.records.save(rec);
      const staged = await replay(running, rec.ops, this.deps.services, false);
      problems = staged.problems;
      const { issues, specs } = validateConfig(staged.config);
      plan = planOf(running, staged, issues.length === 0 ? specs : specsOf(running)).plan;
    }
    return {
      ...this.summary(rec),
      ops: rec.ops.map((o) => ({ n: o.n, op: o.command.type, text: describeOp(o.command), command: o.command, at: o.at })),
      touched: rec.touched,
      ...(plan ? { plan } : {}),
      ...(problems.length ? { problems } : {}),
      revision: this.deps.daemon.revision,
    };
  }

  list() {
    this.requireEnabled();
    return {
      revision: this.deps.daemon.revision,
      transactions: [...this.records.values()].map((r) => this.summary(r)),
      pendingConfirm: this.status().pendingConfirm,
    };
  }

  async rollback(id: string) {
    this.requireEnabled();
    const rec = this.record(id);
    if (rec.state === 'pending_confirm') {
      // Discarding a committed-but-unconfirmed transaction reverts it.
      if (hasActions(rec, this.deps.daemon.config)) throw new DaqError('invalid_params', `transaction ${id} performed actions; it cannot be reverted (confirm it, or change the set-up back with new commands)`);
      const result = await this.deps.submit({ type: 'tx.apply', txId: id, mode: 'revert' }, 'socket');
      return { id, discarded: rec.ops.length, reverted: true, ...result };
    }
    if (rec.state !== 'open') throw new DaqError('expired', `transaction ${id} is ${rec.state}`);
    await this.records.end(rec, 'rolled_back', 'discarded');
    this.deps.log.info({ tx: id, audit: true }, `transaction ${id} discarded (${rec.ops.length} staged change(s))`);
    return { id, discarded: rec.ops.length };
  }

  async commit(id: string, req: CommitRequest, origin: string): Promise<CommandResult> {
    const rec = await this.openRecord(id);
    const started = performance.now();
    let confirm: { withinS: number; onTimeout: 'hold' | 'revert' } | undefined;
    if (req.confirm_within_s !== undefined) {
      confirm = { withinS: req.confirm_within_s, onTimeout: req.on_timeout ?? 'hold' };
      const pending = this.records.pending();
      if (pending) throw new DaqError('busy', `transaction ${pending.id} is already waiting for its confirmation (one pending confirmed commit at a time): confirm or discard it first`);
      if (confirm.onTimeout === 'revert' && hasActions(rec, this.deps.daemon.config)) {
        throw new DaqError('invalid_params', `on_timeout "revert" is refused: transaction ${id} performs actions (${actionText(rec, this.deps.daemon.config)}), which cannot be undone by reverting; use on_timeout "hold"`);
      }
    } else if (req.on_timeout !== undefined) {
      throw new DaqError('invalid_params', 'on_timeout needs confirm_within_s');
    }
    if (rec.ops.length === 0) throw new DaqError('invalid_params', `transaction ${id} has nothing staged`);
    this.commitOptions.set(id, { timeoutMs: (req.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000, ...(confirm ? { confirm } : {}) });
    rec.state = 'committing';
    await this.records.save(rec);
    try {
      const result = await this.deps.submit({ type: 'tx.apply', txId: id, mode: 'commit', ...(req.ifRev !== undefined ? { ifRev: req.ifRev } : {}) }, origin);
      return { ...result, ms: elapsed(started) };
    } catch (err) {
      const e = toDaqError(err);
      if (rec.state === 'committing') {
        if (e.details?.restored === undefined) {
          // Refused before anything was applied (conflict, validation, ifRev): the transaction stays open.
          rec.state = 'open';
          rec.touchedAt = this.deps.clock();
          await this.records.save(rec);
        } else {
          await this.records.end(rec, 'failed', e.message);
        }
      }
      throw err;
    } finally {
      this.commitOptions.delete(id);
    }
  }

  async confirm(id: string | undefined) {
    this.requireEnabled();
    const pending = this.records.pending();
    if (!pending || (id !== undefined && pending.id !== id)) {
      const ended = id === undefined ? undefined : this.records.endedOf(id);
      if (id !== undefined && !this.records.find(id) && !ended) throw new DaqError('not_found', `no transaction "${id}"`);
      if (ended) throw new DaqError('expired', `transaction ${id} is ${ended.state}${ended.note ? ` (${ended.note})` : ''}`);
      throw new DaqError('not_found', id ? `transaction ${id} is not waiting for a confirmation` : 'no committed transaction is waiting for a confirmation');
    }
    return this.deps.submit({ type: 'tx.apply', txId: pending.id, mode: 'confirm' }, 'socket');
  }

  // ---- in the queue (the internal command tx.apply) ----

  async apply(x: Execution, cmd: CommandOf<'tx.apply'>): Promise<CommandResult> {
    const rec = this.records.find(cmd.txId);
    if (!rec) throw new DaqError('not_found', `no transaction "${cmd.txId}"`);
    switch (cmd.mode) {
      case 'commit':
        return this.engine.commit(x, rec, this.commitOptions.get(rec.id));
      case 'confirm':
        return this.engine.confirm(x, rec);
      case 'revert':
        return this.engine.revert(x, rec);
      case 'resume':
        return this.engine.resume(x, rec);
    }
  }

  /** A whole target config applied as one transaction, in the queue (version rollback, issue #19): see CommitEngine.commitConfig. */
  commitConfig(x: Execution, req: ConfigCommit): Promise<ConfigCommitResult> {
    return this.engine.commitConfig(x, req);
  }

  // ---- helpers ----

  private requireEnabled(): void {
    if (!this.deps.daemon.dynamicConfig().enable_transactions) {
      throw new DaqError('unavailable', 'transactions are switched off in this config (application.dynamic_config.enable_transactions = false); change the set-up with direct commands, or enable them in the file');
    }
  }

  private record(id: string): TxRecord {
    this.requireEnabled();
    return this.records.require(id);
  }

  private async openRecord(id: string): Promise<TxRecord> {
    this.requireEnabled();
    await this.checkDeadlines();
    const rec = this.record(id);
    if (rec.state !== 'open') throw new DaqError('expired', `transaction ${id} is ${rec.state.replace('_', ' ')}: nothing more can be staged or committed in it`, { details: { tx: id, state: rec.state } });
    return rec;
  }

  private expiresAt(rec: TxRecord): string {
    return new Date(rec.touchedAt + this.deps.daemon.dynamicConfig().transaction_timeout_s * 1000).toISOString();
  }

  private summary(rec: TxRecord) {
    return {
      id: rec.id,
      state: rec.state,
      baseRevision: rec.baseRevision,
      createdAt: rec.createdAt,
      origin: rec.origin,
      ops: rec.ops.length,
      ...(rec.state === 'open' ? { expiresAt: this.expiresAt(rec) } : {}),
      ...(rec.pending ? { pendingConfirm: { deadline: new Date(rec.pending.deadline).toISOString(), onTimeout: rec.pending.onTimeout, ...(rec.pending.alarm ? { alarm: rec.pending.alarm } : {}) } } : {}),
    };
  }
}
