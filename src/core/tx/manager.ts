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
 */
import { v4 as uuidv4 } from 'uuid';
import type { Logger } from 'pino';
import { ownValue, setOwn, type ConfigModel, type ConfigView } from '../../config/model.js';
import { validateConfig } from '../../config/validate.js';
import { isSimPort, resolvePortPath, parsePortAddress } from '../../config/port-path.js';
import type { ParamValue } from '../../drivers/types.js';
import { DaqError, describeError, toDaqError, type ErrorKind } from '../../errors.js';
import type { ModuleSupervisor } from '../../modules/supervisor.js';
import { applyDiff, deviceCheckpoint } from '../apply/apply.js';
import { diffConfigs, type ConfigDiff } from '../apply/diff.js';
import type { Command, CommandOf, CommandResult } from '../commands.js';
import { numberKindFrom, specsOf, type Execution, type Services } from '../execution.js';
import type { InstrumentSupervisor } from '../manager/supervisor.js';
import type { ConfigPersister, PersistOutcome } from '../persister.js';
import { configInvalid } from '../../config/issues.js';
import { planOf, type TxPlan } from './plan.js';
import { openedElsewhere, probePort } from './ports.js';
import { describeOp, itemsOf, replay, type Replayed } from './stage.js';
import { TxStore } from './store.js';
import { opsFromToml } from './fragment.js';
import type { DeviceCheckpoint, PendingConfirm, Problem, StagedCommand, TouchedTables, TxRecord, TxState } from './types.js';

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
const DEFAULT_TIMEOUT_S = 10;
const ENDED_KEPT = 200;
const OPEN_STATES: ReadonlySet<TxState> = new Set(['open', 'committing', 'pending_confirm']);

const elapsed = (t0: number) => Math.round((performance.now() - t0) * 100) / 100;

export class TxManager {
  private readonly live = new Map<string, TxRecord>();
  /** Ended transactions (committed, rolled back, expired, failed): staging into one answers `expired`. */
  private readonly ended = new Map<string, { state: TxState; note?: string; at: string }>();
  private readonly store: TxStore;
  /** Options of the commit running now (tx.apply reads them in the queue). */
  private readonly commitOptions = new Map<string, { timeoutMs: number; confirm?: { withinS: number; onTimeout: 'hold' | 'revert' } }>();
  private sweep: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** Serialises deadline handling (a tick while a revert runs does nothing). */
  private deadlineBusy: Promise<unknown> | undefined;

  constructor(private readonly deps: TxDeps) {
    this.store = new TxStore(deps.stateDir, deps.log);
  }

  // ---- lifecycle ----

  /** Load what the state dir holds; resume a pending confirmed commit; report an interrupted commit. */
  async start(): Promise<void> {
    const { log } = this.deps;
    for (const rec of this.store.loadAll()) {
      if (rec.state === 'committing') {
        // kill -9 during tx.commit: the file is whole (atomic write), old or new; daqd started from it.
        log.warn({ tx: rec.id, audit: true }, `transaction ${rec.id} was interrupted during its commit (daqd stopped); daqd started from the config file, which holds either all of it or none of it`);
        await this.end(rec, 'failed', 'interrupted during commit (daqd stopped); daqd started from the config file');
        continue;
      }
      if (rec.state === 'pending_confirm' && rec.pending) {
        this.live.set(rec.id, rec);
        const p = rec.pending;
        if (p.onTimeout === 'revert' && this.deps.clock() >= p.deadline) {
          // The file never took it and the deadline passed while daqd was down: daqd runs the file. Done.
          log.warn({ tx: rec.id, audit: true }, `transaction ${rec.id}: its confirm deadline passed while daqd was stopped; reverted (daqd runs the config file, which never took it)`);
          await this.end(rec, 'reverted', 'confirm deadline passed while daqd was stopped');
          continue;
        }
        try {
          await this.deps.submit({ type: 'tx.apply', txId: rec.id, mode: 'resume' }, 'startup');
          log.info({ tx: rec.id }, `transaction ${rec.id}: pending confirmed commit re-applied (setpoints only, no action); confirm by ${new Date(p.deadline).toISOString()}`);
        } catch (err) {
          log.error({ tx: rec.id }, `transaction ${rec.id}: could not re-apply the pending confirmed commit (${describeError(err)}); dropped`);
          await this.end(rec, 'failed', `could not be re-applied at start-up: ${describeError(err)}`);
          continue;
        }
        continue;
      }
      if (rec.state === 'open') {
        this.live.set(rec.id, rec);
        continue;
      }
      await this.store.remove(rec.id);
    }
    this.deps.daemon.addStatusSource('transactions', () => this.status());
    this.sweep = setInterval(() => void this.checkDeadlines().catch(() => {}), 1000);
    this.sweep.unref();
    await this.checkDeadlines();
  }

  stop(): void {
    if (this.sweep) clearInterval(this.sweep);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
  }

  status() {
    const pending = this.pendingRecord();
    return {
      enabled: this.deps.daemon.dynamicConfig().enable_transactions,
      open: [...this.live.values()].filter((r) => r.state === 'open').length,
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
      for (const rec of [...this.live.values()]) {
        if (rec.state === 'open' && now - rec.touchedAt > timeoutMs) {
          this.deps.log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} expired (idle for more than ${timeoutMs / 1000} s); its ${rec.ops.length} staged change(s) were discarded`);
          await this.end(rec, 'expired', `idle for more than ${timeoutMs / 1000} s (transaction_timeout_s)`);
        }
      }
      const pending = this.pendingRecord();
      const p = pending?.pending;
      if (pending && p && now >= p.deadline) {
        if (p.onTimeout === 'revert') {
          this.deps.log.warn({ tx: pending.id, audit: true }, `transaction ${pending.id} was not confirmed in time: reverting`);
          await this.deps.submit({ type: 'tx.apply', txId: pending.id, mode: 'revert' }, 'tx-deadline').catch((err: unknown) => {
            this.deps.log.error({ tx: pending.id }, `transaction ${pending.id}: revert failed: ${describeError(err)}`);
          });
        } else if (!p.alarm) {
          const message = `transaction ${pending.id} was not confirmed by ${new Date(p.deadline).toISOString()}: its changes stay running but are not in the config file (daqctl tx confirm ${pending.id} keeps them; daqctl tx discard ${pending.id} reverts them)`;
          p.alarm = { at: new Date(now).toISOString(), message };
          await this.save(pending);
          this.deps.log.warn({ tx: pending.id, audit: true }, message);
          this.deps.services.events.emit({ type: 'tx.state', tx: pending.id, state: 'pending_confirm', message, alarm: true });
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

  // ---- the methods ----

  async begin(origin: string) {
    this.requireEnabled();
    await this.checkDeadlines();
    const open = [...this.live.values()].filter((r) => r.state === 'open').length;
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
    this.live.set(rec.id, rec);
    await this.save(rec);
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
    await this.save(rec);
    return { id, op: op.n, staged: describeOp(command), ops: rec.ops.length, expiresAt: this.expiresAt(rec) };
  }

  /** A config file or fragment as staged changes (daqctl apply): each op staged as tx.stage* would. */
  async stageConfig(id: string, toml: string, whole: boolean) {
    await this.openRecord(id);
    const commands = opsFromToml(this.deps.daemon.config, toml, whole);
    const staged = [];
    for (const command of commands) staged.push(await this.stage(id, command));
    return { id, staged: staged.map((s) => ({ op: s.op, text: s.staged })), ops: this.live.get(id)?.ops.length ?? 0 };
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
    await this.save(rec);
    return this.check(rec, this.deps.daemon.config as ConfigModel, options.probe === true);
  }

  /** The same dry run for a config (daqctl apply --dry-run of a whole file) without a stored transaction. */
  async check(rec: Pick<TxRecord, 'id' | 'ops' | 'touched'>, running: ConfigModel, probe: boolean) {
    const staged = await replay(running, rec.ops, this.deps.services, false);
    const problems: Problem[] = [...staged.problems];
    const { issues, specs } = validateConfig(staged.config);
    for (const issue of issues) problems.push({ ...attribute(issue.path, issue.message, staged, rec.ops), kind: 'validation_failed', path: issue.path, message: issue.message });
    for (const c of this.conflicts(rec)) problems.push({ ...attribute(`${c.kind}.${c.id}`, '', staged, rec.ops), kind: 'conflict', path: `${c.kind}.${c.id}`, message: c.message });
    problems.push(...(await this.portProblems(running, staged, probe, rec.ops)));
    const plan = issues.length === 0 ? planOf(running, staged, specs).plan : undefined;
    return { id: rec.id, ok: problems.length === 0, revision: this.deps.daemon.revision, problems, ...(plan ? { plan } : {}), ops: rec.ops.length };
  }

  async get(id: string) {
    await this.checkDeadlines();
    const rec = this.record(id);
    const running = this.deps.daemon.config as ConfigModel;
    let plan: TxPlan | undefined;
    let problems: Problem[] = [];
    if (rec.state === 'open') {
      rec.touchedAt = this.deps.clock();
      await this.save(rec);
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
      transactions: [...this.live.values()].map((r) => this.summary(r)),
      pendingConfirm: this.status().pendingConfirm,
    };
  }

  async rollback(id: string) {
    this.requireEnabled();
    const rec = this.record(id);
    if (rec.state === 'pending_confirm') {
      // Discarding a committed-but-unconfirmed transaction reverts it.
      if (this.hasActions(rec)) throw new DaqError('invalid_params', `transaction ${id} performed actions; it cannot be reverted (confirm it, or change the set-up back with new commands)`);
      const result = await this.deps.submit({ type: 'tx.apply', txId: id, mode: 'revert' }, 'socket');
      return { id, discarded: rec.ops.length, reverted: true, ...result };
    }
    if (rec.state !== 'open') throw new DaqError('expired', `transaction ${id} is ${rec.state}`);
    await this.end(rec, 'rolled_back', 'discarded');
    this.deps.log.info({ tx: id, audit: true }, `transaction ${id} discarded (${rec.ops.length} staged change(s))`);
    return { id, discarded: rec.ops.length };
  }

  async commit(id: string, req: CommitRequest, origin: string): Promise<CommandResult> {
    const rec = await this.openRecord(id);
    const started = performance.now();
    let confirm: { withinS: number; onTimeout: 'hold' | 'revert' } | undefined;
    if (req.confirm_within_s !== undefined) {
      confirm = { withinS: req.confirm_within_s, onTimeout: req.on_timeout ?? 'hold' };
      const pending = this.pendingRecord();
      if (pending) throw new DaqError('busy', `transaction ${pending.id} is already waiting for its confirmation (one pending confirmed commit at a time): confirm or discard it first`);
      if (confirm.onTimeout === 'revert' && this.hasActions(rec)) {
        throw new DaqError('invalid_params', `on_timeout "revert" is refused: transaction ${id} performs actions (${this.actionText(rec)}), which cannot be undone by reverting; use on_timeout "hold"`);
      }
    } else if (req.on_timeout !== undefined) {
      throw new DaqError('invalid_params', 'on_timeout needs confirm_within_s');
    }
    if (rec.ops.length === 0) throw new DaqError('invalid_params', `transaction ${id} has nothing staged`);
    this.commitOptions.set(id, { timeoutMs: (req.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000, ...(confirm ? { confirm } : {}) });
    rec.state = 'committing';
    await this.save(rec);
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
          await this.save(rec);
        } else {
          await this.end(rec, 'failed', e.message);
        }
      }
      throw err;
    } finally {
      this.commitOptions.delete(id);
    }
  }

  async confirm(id: string | undefined) {
    this.requireEnabled();
    const pending = this.pendingRecord();
    if (!pending || (id !== undefined && pending.id !== id)) {
      if (id !== undefined && !this.live.has(id) && !this.ended.has(id)) throw new DaqError('not_found', `no transaction "${id}"`);
      if (id !== undefined && this.ended.has(id)) throw new DaqError('expired', `transaction ${id} is ${this.ended.get(id)!.state}${this.ended.get(id)!.note ? ` (${this.ended.get(id)!.note})` : ''}`);
      throw new DaqError('not_found', id ? `transaction ${id} is not waiting for a confirmation` : 'no committed transaction is waiting for a confirmation');
    }
    return this.deps.submit({ type: 'tx.apply', txId: pending.id, mode: 'confirm' }, 'socket');
  }

  // ---- in the queue (the internal command tx.apply) ----

  async apply(x: Execution, cmd: CommandOf<'tx.apply'>): Promise<CommandResult> {
    const rec = this.live.get(cmd.txId);
    if (!rec) throw new DaqError('not_found', `no transaction "${cmd.txId}"`);
    switch (cmd.mode) {
      case 'commit':
        return this.applyCommit(x, rec);
      case 'confirm':
        return this.applyConfirm(x, rec);
      case 'revert':
        return this.applyRevert(x, rec);
      case 'resume':
        return this.applyResume(x, rec);
    }
  }

  private async applyCommit(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const { instruments, log } = this.deps;
    const opts = this.commitOptions.get(rec.id) ?? { timeoutMs: DEFAULT_TIMEOUT_S * 1000 };
    const conflicts = this.conflicts(rec);
    if (conflicts.length > 0) {
      throw new DaqError('conflict', `transaction ${rec.id}: ${conflicts.map((c) => c.message).join('; ')}; discard it and stage again on the current config`, {
        details: { tx: rec.id, conflicts: conflicts.map(({ kind, id, staged, now }) => ({ kind, id, staged, now })) },
      });
    }
    const prev = x.config as ConfigModel;
    const staged = await replay(prev, rec.ops, this.deps.services, true);
    const { issues, specs } = validateConfig(staged.config);
    const portProblems = await this.portProblems(prev, staged, false, rec.ops);
    if (issues.length > 0 || portProblems.length > 0) {
      const problems = [
        ...issues.map((i) => ({ ...attribute(i.path, i.message, staged, rec.ops), kind: 'validation_failed', path: i.path, message: i.message })),
        ...portProblems,
      ];
      throw new DaqError('validation_failed', `transaction ${rec.id} does not validate: ${problems.slice(0, 3).map(problemText).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`, {
        details: { tx: rec.id, problems },
      });
    }
    const { plan, diff: planned } = planOf(prev, staged, specs);
    // Checkpoint: device read-back of what the transaction changes or sends, per touched instrument.
    const cpStarted = performance.now();
    const checkpoint = await this.checkpoint(prev, planned, staged);
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
          const reconnected = Object.entries(diff.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id);
          for (const id of [...diff.instruments.added, ...reconnected]) {
            if (specs.get(id)?.enabled === false) continue;
            trace(`wait for ${id} to be ready`);
            await this.ready(id, opts.timeoutMs);
          }
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
            trace(`send ${id} ${Object.keys(extra).join(', ')}`);
            written[id] = Object.keys(extra);
            const got = await this.withTimeout(instruments.setParams(id, extra), opts.timeoutMs, `${id}: ${Object.keys(extra).join(', ')} not confirmed within ${opts.timeoutMs / 1000} s`);
            sent[id] = { ...(sent[id] ?? {}), ...got };
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
          checkpoint: restoreValues(checkpoint, planned, written, true),
          instruments: Object.keys(rec.touched.instruments),
          modules: Object.keys(rec.touched.modules),
        };
        rec.state = 'pending_confirm';
        rec.pending = pending;
        await this.save(rec);
        this.deps.services.events.emit({ type: 'tx.state', tx: rec.id, state: 'pending_confirm' });
        log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} committed (${plan.summary}); not in the file until confirmed by ${new Date(pending.deadline).toISOString()} (on timeout: ${pending.onTimeout})`);
        return { ...result, pendingConfirm: { deadline: new Date(pending.deadline).toISOString(), onTimeout: pending.onTimeout } };
      }
      await this.end(rec, 'committed');
      log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} committed: ${plan.summary}`);
      return result;
    } catch (err) {
      const cause = toDaqError(err, (e) => log.error({ err: e }, 'bug: an error without a code'));
      const restored = await this.restore(prev, staged.config, planned, checkpoint, appliedAll, written, opts.timeoutMs, steps);
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

  private async applyConfirm(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const p = rec.pending;
    if (!p) throw new DaqError('not_found', `transaction ${rec.id} is not waiting for a confirmation`);
    const running = x.config as ConfigModel;
    const before = withTables(running, p.before);
    const persisted = await this.deps.persister.persist(before, running, true, { numberKind: numberKindFrom(specsOf(running)) });
    if (!persisted.written && persisted.error) {
      throw new DaqError('persist_failed', `transaction ${rec.id} was not confirmed: the config file could not be written (${persisted.reason}); it is still pending`);
    }
    await this.end(rec, 'committed', 'confirmed');
    this.deps.log.info({ tx: rec.id, audit: true }, `transaction ${rec.id} confirmed: written to the config file`);
    return { tx: rec.id, confirmed: true, persisted };
  }

  private async applyRevert(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const p = rec.pending;
    if (!p) throw new DaqError('not_found', `transaction ${rec.id} is not waiting for a confirmation`);
    const running = x.config as ConfigModel;
    const target = withTables(running, p.before);
    const timeoutMs = DEFAULT_TIMEOUT_S * 1000;
    // Through the one apply path (holds and interlocks apply to every value sent back).
    const outcome = await x.commit(target, { persist: false, requireLive: false, source: `tx ${rec.id} revert` });
    const restored = await this.restoreDevices(outcome.diff, p.checkpoint, timeoutMs, true);
    await this.end(rec, 'reverted', 'confirm deadline passed (on_timeout revert) or discarded');
    this.deps.log.warn({ tx: rec.id, audit: true }, `transaction ${rec.id} reverted: ${outcome.summary}`);
    return { tx: rec.id, reverted: true, summary: outcome.summary, restored: { devices: restored.devices, failures: restored.failures } };
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
  async commitConfig(
    x: Execution,
    req: {
      label: string;
      target: ConfigModel;
      text?: string;
      writes: Replayed['writes'];
      applied?: Record<string, Record<string, ParamValue>>;
      timeoutMs?: number;
      write: () => Promise<PersistOutcome>;
    },
  ): Promise<{ plan: TxPlan; steps: string[]; confirmed: Record<string, Record<string, ParamValue>>; persisted: PersistOutcome; checkpointMs: number; summary: string }> {
    const { instruments, log } = this.deps;
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_S * 1000;
    const prev = x.config as ConfigModel;
    const { issues, specs } = validateConfig(req.target, req.text);
    if (issues.length > 0) throw configInvalid(req.label, issues);
    const staged: Replayed = { config: req.target, writes: req.writes, problems: [], touchedBy: new Map() };
    const portProblems = await this.portProblems(prev, staged, false, []);
    if (portProblems.length > 0) {
      throw new DaqError('port_conflict', `${req.label}: ${portProblems.map(problemText).join('; ')}`, { details: { problems: portProblems } });
    }
    const { plan, diff: planned } = planOf(prev, staged, specs);
    const cpStarted = performance.now();
    const checkpoint = await this.checkpoint(prev, planned, staged);
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
          const reconnected = Object.entries(diff.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id);
          for (const id of [...diff.instruments.added, ...reconnected]) {
            if (specs.get(id)?.enabled === false) continue;
            trace(`wait for ${id} to be ready`);
            await this.ready(id, timeoutMs);
          }
          for (const [id, w] of Object.entries(req.writes)) {
            if (specs.get(id)?.enabled === false || Object.keys(w.values).length === 0) continue;
            trace(`send ${id} ${Object.keys(w.values).join(', ')}`);
            written[id] = Object.keys(w.values);
            const got = await this.withTimeout(instruments.setParams(id, w.values), timeoutMs, `${id}: ${Object.keys(w.values).join(', ')} not confirmed within ${timeoutMs / 1000} s`);
            sent[id] = { ...(sent[id] ?? {}), ...got };
          }
          trace('write the config file');
          persisted = await req.write();
        },
      });
      return { plan, steps, confirmed: sent, persisted, checkpointMs, summary: outcome.summary };
    } catch (err) {
      const cause = toDaqError(err, (e) => log.error({ err: e }, 'bug: an error without a code'));
      if (step === 'validate') throw err; // refused before anything was applied
      const restored = await this.restore(prev, req.target, planned, checkpoint, appliedAll, written, timeoutMs, steps);
      const message = `${req.label}: step "${step}" failed: ${cause.message}. Restored: ${restoredText(restored)}`;
      log.warn({ audit: true, step }, message);
      throw new DaqError(cause.kind, message, {
        details: { step, cause: { kind: cause.kind, message: cause.message, ...(cause.details ? { details: cause.details } : {}) }, restored },
      });
    }
  }

  private async applyResume(x: Execution, rec: TxRecord): Promise<CommandResult> {
    const p = rec.pending!;
    const running = x.config as ConfigModel;
    const outcome = await x.commit(withTables(running, p.after), { persist: false, requireLive: false, source: `tx ${rec.id} (pending confirmation, re-applied at start-up)` });
    return { tx: rec.id, resumed: true, summary: outcome.summary };
  }

  /** Device values before the commit, of what it changes or sends (read back where the device can). */
  private async checkpoint(prev: ConfigView, diff: ConfigDiff, staged: Replayed): Promise<DeviceCheckpoint> {
    const { instruments, log } = this.deps;
    const cp: DeviceCheckpoint = {};
    const prevSpecs = specsOf(prev);
    const ids = new Set([...Object.keys(diff.instruments.changed), ...Object.keys(staged.writes)]);
    // Each instrument on its own lane: read them all at once.
    await Promise.all([...ids].map(async (id) => {
      const spec = prevSpecs.get(id);
      if (!spec || !instruments.isReady(id)) return;
      const decls = spec.driver.params(spec.options).filter((d) => d.settable === 'running');
      const change = diff.instruments.changed[id];
      const wanted = new Set([...Object.keys(change?.params ?? {}), ...Object.keys(staged.writes[id]?.values ?? {})]);
      // A reconnect sends the config's setpoints: put back every setpoint the device held.
      const names = decls.filter((d) => wanted.has(d.name) || (change?.reconnect && d.kind === 'setpoint')).map((d) => d.name);
      if (names.length === 0) return;
      cp[id] = await deviceCheckpoint(instruments, id, names, log);
    }));
    return cp;
  }

  /** Undo a failed commit: the runtime back to `prev` (one apply path), then the devices' values. */
  private async restore(prev: ConfigModel, next: ConfigModel, diff: ConfigDiff, cp: DeviceCheckpoint, appliedAll: boolean, written: Record<string, string[]>, timeoutMs: number, steps: string[]) {
    const { instruments, modules, log } = this.deps;
    const failures: string[] = [];
    let reverse: ConfigDiff | undefined;
    if (appliedAll) {
      reverse = diffConfigs(next, prev, specsOf(prev));
      try {
        await applyDiff({ prev: next, next: prev, diff: reverse, nextSpecs: specsOf(prev), prevSpecs: specsOf(next) }, instruments, modules, { requireLive: false }, log);
      } catch (err) {
        failures.push(`putting the set-up back: ${describeError(err)}`);
      }
    }
    const values = restoreValues(cp, diff, written, appliedAll);
    const devices = await this.restoreDevices(reverse, values, timeoutMs, appliedAll);
    if (!appliedAll) {
      // The apply path undid its own steps (each set put back to the device's read-back value,
      // the same values as this checkpoint): say which.
      for (const s of steps) {
        const m = /^set (\S+) (.+)$/.exec(s);
        if (!m || !cp[m[1]!]) continue;
        for (const name of m[2]!.split(', ')) if (Object.hasOwn(cp[m[1]!]!, name)) (devices.devices[m[1]!] ??= {})[name] = cp[m[1]!]![name]!;
      }
    }
    const started = steps.filter((s) => s.startsWith('start ')).map((s) => s.slice(6));
    return {
      instruments: appliedAll
        ? { stopped: diff.instruments.added, restarted: diff.instruments.removed, reconnected: Object.entries(diff.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id) }
        : { stopped: started, restarted: [], reconnected: [], note: `the apply path undid its own steps (${steps.join('; ')})` },
      devices: devices.devices,
      modules: appliedAll ? [...diff.modules.added, ...diff.modules.removed, ...Object.keys(diff.modules.changed)] : [],
      file: 'not written',
      failures: [...failures, ...devices.failures],
    };
  }

  private async restoreDevices(reverse: ConfigDiff | undefined, values: DeviceCheckpoint, timeoutMs: number, waitFirst: boolean) {
    const { instruments } = this.deps;
    const failures: string[] = [];
    const devices: Record<string, Record<string, ParamValue>> = {};
    if (reverse && waitFirst) {
      const back = [...reverse.instruments.added, ...Object.entries(reverse.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id)];
      await Promise.all(back.map((id) => this.deps.daemon.waitForConnection(id, timeoutMs)));
    }
    for (const [id, restore] of Object.entries(values)) {
      if (Object.keys(restore).length === 0) continue;
      if (!instruments.isReady(id)) {
        failures.push(`${id} is not ready: ${Object.keys(restore).join(', ')} not set back`);
        continue;
      }
      try {
        devices[id] = await instruments.setParams(id, restore);
      } catch (err) {
        failures.push(`${id}: could not set ${Object.keys(restore).join(', ')} back (${describeError(err)})`);
      }
    }
    if (failures.length) this.deps.log.error({ failures }, `restore incomplete: ${failures.join('; ')}`);
    return { devices, failures };
  }

  // ---- helpers ----

  private async ready(id: string, timeoutMs: number): Promise<void> {
    const r = await this.deps.daemon.waitForConnection(id, timeoutMs);
    if (r.state === 'ready') return;
    if (r.state === 'error') throw new DaqError((r.error?.kind as ErrorKind | undefined) ?? 'not_ready', `${id} did not connect: ${r.error?.message ?? 'error'}`);
    throw new DaqError('timeout', `${id} was not ready within ${timeoutMs / 1000} s (state ${r.state})`);
  }

  private withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout;
    return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new DaqError('timeout', message)), ms)))]).finally(() => clearTimeout(timer));
  }

  private conflicts(rec: Pick<TxRecord, 'touched'>) {
    const out: { kind: 'instruments' | 'modules'; id: string; staged: number; now: number; message: string }[] = [];
    for (const kind of ['instruments', 'modules'] as const) {
      for (const [id, staged] of Object.entries(rec.touched[kind])) {
        const now = this.deps.daemon.itemRevision(kind, id);
        if (now !== staged) out.push({ kind, id, staged, now, message: `${kind === 'instruments' ? 'instrument' : 'module'} ${id} changed since it was staged (revision ${staged} -> ${now})` });
      }
    }
    return out;
  }

  /** New or changed serial ports: opened by another process (read-only check), or, with probe, openable. */
  private async portProblems(running: ConfigView, staged: Replayed, probe: boolean, ops: TxRecord['ops']): Promise<Problem[]> {
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

  private hasActions(rec: TxRecord): boolean {
    return this.actionText(rec) !== '';
  }

  private actionText(rec: TxRecord): string {
    const running = this.deps.daemon.config;
    const out: string[] = [];
    for (const op of rec.ops) {
      if (op.command.type !== 'instrument.set') continue;
      const id = op.command.id;
      const spec = specsOf(running).get(id);
      const table = ownValue(running.instruments, id);
      // An instrument the transaction adds: its driver's declarations.
      const added = rec.ops.find((o) => o.command.type === 'instrument.add' && o.command.id === id);
      const decls = spec ? spec.driver.params(spec.options) : added || table ? this.declsFor(rec, id) : [];
      for (const name of Object.keys(op.command.params)) if (decls.find((d) => d.name === name)?.kind === 'action') out.push(`${id}.${name}`);
    }
    return out.join(', ');
  }

  private declsFor(rec: TxRecord, id: string) {
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

  private requireEnabled(): void {
    if (!this.deps.daemon.dynamicConfig().enable_transactions) {
      throw new DaqError('unavailable', 'transactions are switched off in this config (application.dynamic_config.enable_transactions = false); change the set-up with direct commands, or enable them in the file');
    }
  }

  private record(id: string): TxRecord {
    this.requireEnabled();
    const rec = this.live.get(id);
    if (rec) return rec;
    const ended = this.ended.get(id);
    if (ended) throw new DaqError('expired', `transaction ${id} is ${ended.state.replace('_', ' ')}${ended.note ? ` (${ended.note})` : ''}; begin a new one`, { details: { tx: id, state: ended.state } });
    throw new DaqError('not_found', `no transaction "${id}"`);
  }

  private async openRecord(id: string): Promise<TxRecord> {
    this.requireEnabled();
    await this.checkDeadlines();
    const rec = this.record(id);
    if (rec.state !== 'open') throw new DaqError('expired', `transaction ${id} is ${rec.state.replace('_', ' ')}: nothing more can be staged or committed in it`, { details: { tx: id, state: rec.state } });
    return rec;
  }

  private pendingRecord(): TxRecord | undefined {
    for (const r of this.live.values()) if (r.state === 'pending_confirm') return r;
    return undefined;
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

  private async save(rec: TxRecord): Promise<void> {
    try {
      await this.store.save(rec);
    } catch (err) {
      this.deps.log.error({ tx: rec.id }, `could not write transaction ${rec.id} to ${this.store.dir}: ${describeError(err)} (it will not survive a restart)`);
    }
  }

  private async end(rec: TxRecord, state: TxState, note?: string): Promise<void> {
    rec.state = state;
    this.live.delete(rec.id);
    this.ended.set(rec.id, { state, ...(note ? { note } : {}), at: new Date(this.deps.clock()).toISOString() });
    while (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.keys().next().value!);
    await this.store.remove(rec.id).catch((err: unknown) => this.deps.log.error({ tx: rec.id }, `could not remove ${rec.id}.json: ${describeError(err)}`));
    this.deps.services.events.emit({ type: 'tx.state', tx: rec.id, state, ...(note ? { message: note } : {}) });
  }
}

/** The staged op that caused a problem at `path` (the last op touching that item, or naming it). */
function attribute(path: string, message: string, staged: Replayed, ops: TxRecord['ops']): { op?: number; opText?: string } {
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

function problemText(p: Problem): string {
  return `${p.op ? `op ${p.op}: ` : ''}${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** The device values a restore sets back: what the transaction changed or sent (all of a reconnected instrument's setpoints). */
function restoreValues(cp: DeviceCheckpoint, diff: ConfigDiff, written: Record<string, string[]>, appliedAll: boolean): DeviceCheckpoint {
  const out: DeviceCheckpoint = {};
  for (const [id, values] of Object.entries(cp)) {
    const names = appliedAll ? Object.keys(values) : (written[id] ?? []);
    const pick: Record<string, ParamValue> = {};
    for (const n of names) if (Object.hasOwn(values, n)) pick[n] = values[n]!;
    if (Object.keys(pick).length > 0) out[id] = pick;
    void diff;
  }
  return out;
}

function restoredText(r: { instruments: { stopped: string[]; restarted: string[]; reconnected: string[] }; devices: Record<string, Record<string, ParamValue>>; modules: string[]; failures: string[] }): string {
  const parts: string[] = [];
  if (r.instruments.stopped.length) parts.push(`stopped ${r.instruments.stopped.join(', ')}`);
  if (r.instruments.restarted.length) parts.push(`restarted ${r.instruments.restarted.join(', ')}`);
  if (r.instruments.reconnected.length) parts.push(`reconnected ${r.instruments.reconnected.join(', ')}`);
  for (const [id, v] of Object.entries(r.devices)) parts.push(`${id} ${Object.entries(v).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ')}`);
  if (r.modules.length) parts.push(`modules ${r.modules.join(', ')}`);
  parts.push('config file not written');
  if (r.failures.length) parts.push(`NOT restored: ${r.failures.join('; ')}`);
  return parts.join('; ');
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

