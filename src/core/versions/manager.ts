/**
 * Config versions (issue #19, docs/versions.md): snapshots of the config file's exact text taken
 * before every change that alters the running config, manual snapshots with labels, retention,
 * a unified diff between any two of (a version, the file now, the running config), and a rollback
 * that restores a version's exact text into the file and moves the hardware there as one
 * transaction (TxManager.commitConfig: checkpoint, the one apply path, restore on failure).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'smol-toml';
import type { ConfigModel, ConfigView } from '../../config/model.js';
import { DaqError, describeError } from '../../errors.js';
import { renderConfigChange } from '../../persistence/toml-writer.js';
import type { Command, CommandOf, CommandResult } from '../commands.js';
import { numberKindFrom, specsOf, type Execution } from '../execution.js';
import type { ConfigPersister } from '../persister.js';
import type { TxManager } from '../tx/manager.js';
import { planRollback, type DeviceValues } from './plan.js';
import { LABEL, VersionStore, type VersionEntry } from './store.js';

export interface VersionDaemon {
  readonly revision: number;
  readonly config: ConfigView;
  readonly configPath: string;
  dynamicConfig(): { enable_versioning: boolean; snapshot_retention: number };
  addStatusSource(name: string, read: () => unknown): void;
}

export interface VersionDeps {
  daemon: VersionDaemon;
  persister: ConfigPersister;
  devices: DeviceValues;
  tx: () => TxManager;
  stateDir: string;
  log: Logger;
  submit(cmd: Command, origin: string): Promise<CommandResult>;
}

/** The names a diff side may take besides a version id. */
const CURRENT = 'current';
const RUNNING = 'running';
const PREVIOUS = 'previous';

/** What change a snapshot was taken before, in the words of the socket methods. */
function causeOf(command: Command): string {
  switch (command.type) {
    case 'instrument.record':
      return 'instrument.set';
    case 'config.reload':
      return `config.reload (${command.source})`;
    case 'tx.apply':
      return `tx.${command.mode === 'commit' ? 'commit' : command.mode} ${command.txId}`;
    case 'version.rollback':
      return `version.rollback to ${command.id}`;
    default:
      return command.type;
  }
}

/** An entry as the socket shows it (no internal ordering key). */
function view(e: VersionEntry) {
  const { seq: _seq, ...rest } = e;
  return rest;
}

export class VersionManager {
  readonly store: VersionStore;
  private lastAuto: { id: string; at: string } | undefined;
  private lastError: { message: string; at: string } | undefined;
  /** Unlabelled snapshots daqd named, as far as this process knows (retention runs when above the limit). */
  private unlabelled = 0;

  constructor(private readonly deps: VersionDeps) {
    this.store = new VersionStore(deps.stateDir, deps.log);
  }

  async start(): Promise<void> {
    try {
      await this.store.init();
      this.unlabelled = (await this.store.list()).filter((e) => e.label === undefined).length;
    } catch (err) {
      this.fail(`cannot use ${this.store.dir}: ${describeError(err)}`);
    }
    this.deps.daemon.addStatusSource('versions', () => this.status());
  }

  status() {
    return {
      enabled: this.deps.daemon.dynamicConfig().enable_versioning,
      dir: this.store.dir,
      retention: this.deps.daemon.dynamicConfig().snapshot_retention,
      ...(this.lastAuto ? { lastSnapshot: this.lastAuto } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private fail(message: string): void {
    this.lastError = { message, at: new Date().toISOString() };
    this.deps.log.warn(`config versions: ${message}`);
  }

  /**
   * Before a change that alters the running config: snapshot the file as daqd last loaded or wrote
   * it (what it held before this change; identical consecutive content is stored once). Never
   * throws: a snapshot that cannot be written is logged and shown in status, the change goes on.
   */
  async beforeChange(command: Command, origin: string, summary: string): Promise<void> {
    if (!this.deps.daemon.dynamicConfig().enable_versioning) return;
    await this.snapshotKnown(causeOf(command), origin, summary);
  }

  private async snapshotKnown(cause: string, origin: string, summary?: string): Promise<VersionEntry | undefined> {
    const text = this.deps.persister.knownText;
    if (text === undefined) return undefined; // start-up: nothing was loaded before
    try {
      const { entry, created } = await this.store.create(
        text,
        { revision: this.deps.daemon.revision, cause, ...(summary ? { summary } : {}), origin, auto: true, ...(this.deps.persister.knownHash ? { hash: this.deps.persister.knownHash } : {}) },
        true,
      );
      if (created) {
        this.lastAuto = { id: entry.id, at: entry.time };
        this.unlabelled++;
        await this.retain();
      }
      return entry;
    } catch (err) {
      this.fail(`no snapshot before ${cause}: ${describeError(err)}`);
      return undefined;
    }
  }

  private async retain(): Promise<void> {
    const keep = this.deps.daemon.dynamicConfig().snapshot_retention;
    if (this.unlabelled <= keep) return;
    const removed = await this.store.prune(keep);
    this.unlabelled = keep;
    if (removed.length > 0) this.deps.log.info({ removed }, `config versions: removed ${removed.length} old snapshot(s) (snapshot_retention = ${keep})`);
  }

  // ---- the socket methods ----

  /** version.create: the config file's text now, as a snapshot (a label keeps it from retention). */
  async create(label: string | undefined, origin: string) {
    if (label !== undefined && (!LABEL.test(label) || label.includes('..'))) {
      throw new DaqError('invalid_params', `label ${JSON.stringify(label.slice(0, 80))}: 1 to 64 letters, digits, ".", "_" or "-" (not "..")`);
    }
    const text = await this.fileText();
    const { entry, created } = await this.store.create(
      text,
      { revision: this.deps.daemon.revision, cause: 'version.create', origin, auto: false, ...(label ? { label } : {}) },
      label === undefined,
    );
    if (created && label === undefined) {
      this.unlabelled++;
      await this.retain();
    }
    this.deps.log.info({ audit: true, command: 'version.create', origin, version: entry.id, created }, created ? `config version ${entry.id} created` : `config version: the file is unchanged since ${entry.id}`);
    return { ...view(entry), created, ...(created ? {} : { note: `the config file is unchanged since ${entry.id}; no new snapshot` }) };
  }

  async list() {
    const versions = await this.store.list();
    return {
      dir: this.store.dir,
      enabled: this.deps.daemon.dynamicConfig().enable_versioning,
      retention: this.deps.daemon.dynamicConfig().snapshot_retention,
      revision: this.deps.daemon.revision,
      versions: versions.map(view),
    };
  }

  async remove(id: string, origin: string) {
    const entry = await this.store.remove(id);
    if (entry.label === undefined) this.unlabelled = Math.max(0, this.unlabelled - 1);
    this.deps.log.info({ audit: true, command: 'version.delete', origin, version: entry.id }, `config version ${entry.id} deleted`);
    return { deleted: entry.id };
  }

  /** version.diff: a unified line diff; each side a version id, "current" (the file) or "running". */
  async diff(a: string, b: string) {
    const [left, right] = await Promise.all([this.side(a), this.side(b)]);
    const patch = createTwoFilesPatch(left.name, right.name, left.text, right.text, undefined, undefined, { context: 3 });
    let added = 0;
    let removed = 0;
    let body = false;
    for (const line of patch.split('\n')) {
      body ||= line.startsWith('@@');
      if (!body) continue;
      if (line.startsWith('+')) added++;
      else if (line.startsWith('-')) removed++;
    }
    return { a: left.name, b: right.name, identical: left.text === right.text, added, removed, diff: patch };
  }

  private async side(which: string): Promise<{ name: string; text: string }> {
    if (which === CURRENT) return { name: CURRENT, text: await this.fileText() };
    if (which === RUNNING) return { name: RUNNING, text: this.runningText() };
    const id = which === PREVIOUS ? await this.previousId() : which;
    return { name: id, text: (await this.store.read(id)).text };
  }

  /** The config file's text now (falling back to what daqd last loaded or wrote). */
  private async fileText(): Promise<string> {
    try {
      return await readFile(this.deps.daemon.configPath, 'utf8');
    } catch (err) {
      const known = this.deps.persister.knownText;
      if (known !== undefined) return known;
      throw new DaqError('config_invalid', `cannot read the config file ${this.deps.daemon.configPath}: ${describeError(err)}`);
    }
  }

  /**
   * The running config as TOML: the change from what the file holds to the running config
   * (memory-only overrides) rendered into the file's text, as a write would, so it differs from
   * `current` only where they differ.
   */
  runningText(): string {
    const running = this.deps.daemon.config as ConfigModel;
    const base = this.deps.persister.knownText ?? '';
    try {
      return renderConfigChange(base, this.deps.persister.fileModelView, running, { numberKind: numberKindFrom(specsOf(running)) });
    } catch {
      return stringify(running);
    }
  }

  /** "previous": the newest intact version whose text is not the file's (the state before the last change). */
  private async previousId(): Promise<string> {
    const here = this.deps.persister.knownHash;
    const found = (await this.store.list()).find((e) => !e.problems && e.hash !== here);
    if (!found) throw new DaqError('not_found', 'no earlier config version than the file as it is (daqctl versions lists them)');
    return found.id;
  }

  /**
   * version.rollback. A dry run plans against the running config and touches nothing; otherwise
   * the rollback runs in the queue (`version.rollback` command -> apply below).
   */
  async rollback(req: { id: string; dryRun?: boolean; withActions?: boolean; timeout_s?: number; ifRev?: number }, origin: string): Promise<CommandResult> {
    if (req.dryRun) {
      const id = req.id === PREVIOUS ? await this.previousId() : req.id;
      const { text, entry } = await this.store.read(id);
      const { plan } = planRollback(this.deps.daemon.config, `config version ${id}`, text, this.deps.devices, req.withActions === true);
      return { id, dryRun: true, version: view(entry), plan, revision: this.deps.daemon.revision };
    }
    return this.deps.submit(
      {
        type: 'version.rollback',
        id: req.id,
        ...(req.withActions ? { withActions: true } : {}),
        ...(req.timeout_s !== undefined ? { timeoutMs: Math.round(req.timeout_s * 1000) } : {}),
        ...(req.ifRev !== undefined ? { ifRev: req.ifRev } : {}),
      },
      origin,
    );
  }

  /** In the queue: snapshot the file as it is, then restore the version as one transaction. */
  async apply(x: Execution, cmd: CommandOf<'version.rollback'>): Promise<CommandResult> {
    const started = performance.now();
    const id = cmd.id === PREVIOUS ? await this.previousId() : cmd.id;
    const { text, entry } = await this.store.read(id);
    const label = `config version ${id}`;
    const planned = planRollback(x.config, label, text, this.deps.devices, cmd.withActions === true);
    // The file as it is now, so this rollback can be undone (daqctl rollback previous); taken even
    // with enable_versioning = false.
    const before = await this.snapshotKnown(causeOf({ ...cmd, id }), x.origin, planned.plan.summary);
    const outcome = await this.deps.tx().commitConfig(x, {
      label,
      target: planned.target,
      text,
      writes: planned.writes,
      applied: planned.applied,
      ...(cmd.timeoutMs !== undefined ? { timeoutMs: cmd.timeoutMs } : {}),
      write: () => this.deps.persister.replaceFile(text, planned.target),
    });
    this.deps.log.info({ audit: true, command: 'version.rollback', origin: x.origin, version: id, previous: before?.id }, `rolled back to config version ${id}: ${outcome.summary}`);
    return {
      id,
      rolledBack: true,
      version: view(entry),
      ...(before ? { previous: before.id } : {}),
      plan: planned.plan,
      steps: outcome.steps,
      confirmed: outcome.confirmed,
      persisted: outcome.persisted,
      checkpointMs: outcome.checkpointMs,
      ms: Math.round((performance.now() - started) * 100) / 100,
    };
  }
}
