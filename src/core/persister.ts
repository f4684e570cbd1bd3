/**
 * Keeps the config file in step with the running config. The file is never the source of truth
 * while a write is pending: a failed write leaves the change in memory, says so in status and in
 * a `config.persistFailed` event, and the next write (or `config.sync`) carries it.
 *
 * Two models are tracked besides the running one: `fileModel`, what the file on disk holds, and
 * `desired`, what it should hold: the file plus every change that asked to be persisted. A change
 * made with `persist: false` (or with persistence off) moves the running config but not
 * `desired`, so a later persisted command writes only its own change, never the memory-only one.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ConfigFile } from '../persistence/config-file.js';
import type { WriteAnnotations } from '../persistence/toml-writer.js';
import { cloneModel, sameValue, type ConfigModel } from '../config/model.js';
import { applyOp, diffConfig } from '../persistence/config-diff.js';
import { validateConfig } from '../config/validate.js';
import { DaqError, describeError, isDaqError } from '../errors.js';
import { atomicWriteFile } from '../persistence/atomic-write.js';
import type { EventBus } from './events.js';

export interface PersistStatus {
  file: string;
  /** Persistence switched on in [application.dynamic_config]. */
  enabled: boolean;
  /** The file holds the running config. */
  upToDate: boolean;
  /** Why it is not, when it is not. */
  reason?: string;
  lastWriteAt?: string;
  lastError?: { kind: string; message: string; at: string };
}

export type PersistOutcome =
  | { written: true; bytes: number; ms: number }
  | { written: false; reason: string; error?: { kind: string; message: string } };

export class ConfigPersister {
  private fileModel: ConfigModel = {};
  private desired: ConfigModel = {};
  private state: Omit<PersistStatus, 'file' | 'enabled'> = { upToDate: true };

  constructor(
    private readonly file: ConfigFile,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly enabled: () => boolean,
  ) {}

  /** The file was (re)loaded: its model is the new base and memory matches it. */
  adopt(model: ConfigModel): void {
    this.fileModel = model;
    this.desired = model;
    this.state = { ...this.state, upToDate: true, reason: undefined };
  }

  /**
   * A reload applied this text from the file: it becomes the base for the next write.
   * `overridesKept`: memory-only changes stay on top of it, so the file is not the whole story.
   */
  adoptFile(text: string, model: ConfigModel, overridesKept = false): void {
    this.file.adoptText(text);
    this.adopt(model);
    if (overridesKept) this.state = { ...this.state, upToDate: false, reason: 'changes kept in memory only (overrides) are not in the file; daqctl sync writes them' };
  }

  /** What the file should hold (the file plus every persisted change): the base of the overrides. */
  get desiredModel(): ConfigModel {
    return this.desired;
  }

  /** What the file holds, as daqd last loaded or wrote it. */
  get fileModelView(): ConfigModel {
    return this.fileModel;
  }

  changedOnDisk(): Promise<boolean> {
    return this.file.changedOnDisk();
  }

  get knownHash(): string | undefined {
    return this.file.knownHash;
  }

  /** The text daqd last loaded or wrote (what the file holds unless a person edited it since). */
  get knownText(): string | undefined {
    return this.file.knownText;
  }

  /**
   * Replace the file with `text` exactly (a version rollback, issue #19): atomic, and known before
   * the rename (the watcher ignores it). `model` is what the text parses to; it becomes the running
   * config's file model. On failure the file and everything known about it stay as they were.
   */
  async replaceFile(text: string, model: ConfigModel): Promise<PersistOutcome> {
    if (!this.enabled()) {
      if (!sameValue(model, this.fileModel)) this.state = { ...this.state, upToDate: false, reason: 'changes kept in memory only: persistence is disabled (enable_persistence = false)' };
      return { written: false, reason: 'persistence is disabled (enable_persistence = false)' };
    }
    const started = performance.now();
    const before = { text: this.file.knownText, fileModel: this.fileModel, desired: this.desired, state: this.state };
    this.adoptFile(text, model);
    try {
      await atomicWriteFile(this.file.path, text);
    } catch (err) {
      if (before.text !== undefined) this.file.adoptText(before.text);
      this.fileModel = before.fileModel;
      this.desired = before.desired;
      this.state = before.state;
      throw err;
    }
    const at = new Date().toISOString();
    const bytes = Buffer.byteLength(text, 'utf8');
    this.state = { upToDate: true, lastWriteAt: at, lastError: this.state.lastError };
    this.events.emit({ type: 'config.persisted', file: this.file.path, bytes, at });
    return { written: true, bytes, ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  isEnabled(): boolean {
    return this.enabled();
  }

  status(): PersistStatus {
    return { file: this.file.path, enabled: this.enabled(), ...this.state };
  }

  /**
   * Write the change from `prev` to `next` (the running config before and after a command);
   * never throws for I/O (the change stands in memory).
   */
  async persist(prev: ConfigModel, next: ConfigModel, wanted: boolean | undefined, ann?: WriteAnnotations): Promise<PersistOutcome> {
    if (!this.enabled() || wanted === false) {
      const reason = !this.enabled() ? 'persistence is disabled (enable_persistence = false)' : 'the change was made with persist: false';
      if (!sameValue(next, this.fileModel)) this.state = { ...this.state, upToDate: false, reason: `changes kept in memory only: ${reason}` };
      return { written: false, reason };
    }
    this.desired = this.desiredAfter(prev, next);
    const outcome = await this.write(this.desired, false, ann);
    if (outcome.written && !sameValue(next, this.fileModel)) {
      this.state = { ...this.state, upToDate: false, reason: 'changes kept in memory only (persist: false) are not in the file' };
    }
    return outcome;
  }

  /** The file's intended content after this change: the command's own edit on top of `desired`. */
  private desiredAfter(prev: ConfigModel, next: ConfigModel): ConfigModel {
    if (sameValue(prev, this.desired)) return next; // nothing memory-only pending: the common case
    let model = cloneModel(this.desired) as Record<string, unknown>;
    for (const op of diffConfig(prev, next)) model = applyOp(model, op);
    // The edit may lean on a memory-only change (a role naming an instrument that exists only in
    // memory): then the file could not load on its own, so write the whole running config.
    return validateConfig(model).issues.length === 0 ? (model as ConfigModel) : next;
  }

  /** config.sync: write the running config now; throws persist_failed if it still cannot, and
   *  conflict if a person edited the file since daqd last loaded or wrote it (their edit is never
   *  written over; a deleted file has nothing to lose and is written afresh). */
  async sync(running: ConfigModel): Promise<PersistOutcome> {
    if ((await this.file.changedOnDisk()) && (await exists(this.file.path))) {
      throw new DaqError(
        'conflict',
        `the config file ${this.file.path} was edited since daqd last read or wrote it and the edit is not loaded yet, so daqd did not write over it; ` +
          'apply the edit with daqctl reload (changes kept in memory only stay on top of it unless it changed the same keys), then sync; or undo the edit and sync again',
        { details: { file: this.file.path } },
      );
    }
    this.desired = running;
    const outcome = await this.write(running, true);
    if (!outcome.written && outcome.error) {
      throw new DaqError('persist_failed', outcome.error.message);
    }
    return outcome;
  }

  private async write(next: ConfigModel, force: boolean, ann?: WriteAnnotations): Promise<PersistOutcome> {
    if (sameValue(next, this.fileModel) && this.state.upToDate) return { written: false, reason: 'the file already holds the running config' };
    try {
      const r = force ? await this.file.sync(this.fileModel, next, ann) : await this.file.write(this.fileModel, next, ann);
      this.fileModel = next;
      const at = new Date().toISOString();
      this.state = { upToDate: true, lastWriteAt: at, lastError: this.state.lastError };
      this.events.emit({ type: 'config.persisted', file: this.file.path, bytes: r.bytes, at });
      return { written: true, bytes: r.bytes, ms: r.ms };
    } catch (err) {
      const kind = isDaqError(err) ? err.kind : 'persist_failed';
      const message = describeError(err);
      const at = new Date().toISOString();
      this.log.error({ kind }, `could not write ${this.file.path}: ${message}`);
      this.state = { ...this.state, upToDate: false, reason: `last write failed: ${message}`, lastError: { kind, message, at } };
      this.events.emit({ type: 'config.persistFailed', file: this.file.path, kind, message, at });
      return { written: false, reason: message, error: { kind, message } };
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
  );
}
