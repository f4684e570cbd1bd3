/**
 * The config file as daqd writes it: remembers the text it last loaded or wrote (the "known base"),
 * refuses to overwrite a person's edit made since then (`conflict`), renders each change into the
 * base text so comments and layout survive, and replaces the file atomically, one write at a time.
 *
 * It also keeps what its base text is known to read back as (toml-known.ts), so the next change
 * is verified on the lines it touched rather than by re-parsing the whole file, and the new base
 * model is the old one with the change applied rather than a deep copy of the whole config.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'smol-toml';
import { DaqError, describeError, isDaqError } from '../errors.js';
import { atomicWriteFile } from './atomic-write.js';
import { cloneModel, isFrozenModel } from '../config/model.js';
import { applyOpInPlace, type Table } from './config-diff.js';
import { advanceKnown, knownDoc, type KnownDoc } from './toml-known.js';
import { renderConfigEdit, type RenderedEdit, type WriteAnnotations } from './toml-writer.js';

export interface WriteResult {
  /** Bytes written (0 when the file already held the rendered text, so nothing was written). */
  bytes: number;
  /** Time from starting this write (after any queued write finished) to the directory fsync. */
  ms: number;
}

/** Writes to one path are serialised even across ConfigFile instances. */
const queues = new Map<string, Promise<unknown>>();

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function frozenOrUndefined(model: unknown): object | undefined {
  return isFrozenModel(model) ? (model as object) : undefined;
}

function tryParse(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}


export class ConfigFile {
  readonly path: string;
  private baseText: string | undefined;
  /** sha256 of baseText, computed when first asked for (hashing a large file is not free, and only the watcher asks). */
  private baseHash: string | undefined;
  /**
   * baseText's bytes, when daqd has them anyway (the file it read, the bytes it wrote): the
   * conflict check before a write compares the file's bytes with these, without decoding the file.
   */
  private baseBytes: Buffer | undefined;
  /** What the base text parses to; writes diff against this, so a change whose write failed earlier is still written. */
  private baseModel: unknown;
  /**
   * The text daqd last wrote itself, or the first text it adopted (start-up): a `# daqd: set` note
   * is kept only above the value this text has under it. A reload of a person's edit leaves it
   * alone, so the next write can tell which values the person changed (toml-notes.ts).
   */
  private ownText: string | undefined;
  /**
   * The base text with what it is known to read back as (baseModel, the same object). Undefined
   * when the model came from elsewhere (a reload hands its own): the next write verifies in full.
   */
  private known: KnownDoc | undefined;
  /**
   * The caller's model the file was last written to hold, kept only when it is frozen
   * (freezeModel): it can no longer change, so it is exactly what the base model holds. A next
   * write from it (the usual case: the running config before a command) is diffed from it, and the
   * tables it shares with the next model are skipped by identity instead of walked.
   */
  private lastWritten: object | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** sha256 of the text daqd last loaded or wrote (the hot-reload watcher ignores its own writes by this). */
  get knownHash(): string | undefined {
    if (this.baseHash === undefined && this.baseText !== undefined) this.baseHash = sha256(this.baseText);
    return this.baseHash;
  }

  /** The text daqd last loaded or wrote. */
  get knownText(): string | undefined {
    return this.baseText;
  }

  /** Read and remember the text as the known base. Returns the text. */
  async load(): Promise<string> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (err) {
      throw new DaqError('config_invalid', `cannot read the config file ${this.path}: ${describeError(err)}`, { details: { file: this.path }, cause: err });
    }
    const text = bytes.toString('utf8');
    this.adoptText(text);
    this.baseBytes = bytes;
    return text;
  }

  /** Take `text` (read from the file elsewhere, e.g. by a reload) as the known base. */
  adoptText(text: string, model?: unknown): void {
    this.remember(text, model);
    // The first text daqd sees is taken as its own: notes already in it are trusted.
    this.ownText ??= text;
  }

  /** `verified`: the text was checked to read back as `model` (the base model is then known). */
  private remember(text: string, model?: unknown, verified?: KnownDoc | 'verified'): void {
    this.baseText = text;
    this.baseHash = undefined;
    this.baseBytes = undefined;
    this.lastWritten = undefined;
    if (verified !== undefined && verified !== 'verified') {
      this.known = verified;
      this.baseModel = verified.model;
      return;
    }
    // Plain objects (smol-toml's tables have no prototype, which makes every later diff slower).
    const parsed = model === undefined ? tryParse(text) : undefined;
    this.baseModel = model !== undefined ? cloneModel(model) : parsed === undefined ? undefined : cloneModel(parsed);
    const certain = model === undefined || verified === 'verified';
    this.known = certain && this.baseModel !== undefined ? knownDoc(text, this.baseModel) : undefined;
  }

  /** `text` is what daqd itself wrote (or found already on disk) for `model`. */
  private adoptOwnText(text: string, model: unknown, verified?: KnownDoc | 'verified'): void {
    this.remember(text, model, verified);
    this.ownText = text;
  }

  /**
   * What a rendered text is known to read back as. A local proof advances the known base (its scan
   * and touch index move with the edit; the model is the base model with the edits applied, sharing
   * every table the change did not touch). A text verified in full is known as `next`. A render
   * that changed nothing is known only if its base was.
   */
  private knownAfter(rendered: RenderedEdit, used: KnownDoc | undefined, undo: Array<() => void>): KnownDoc | 'verified' | undefined {
    if (rendered.local && used) {
      // The base model is this file's own: the edits go into it in place (undone if the write
      // fails), each value a copy, since the caller keeps and may change `next`.
      const model = used.model as Table;
      for (const op of rendered.ops) applyOpInPlace(model, op.kind === 'remove' ? op : { ...op, value: cloneModel(op.value) }, undo);
      return advanceKnown(used, rendered.local, rendered.text, model);
    }
    if (rendered.ops.length > 0) return 'verified';
    return this.known !== undefined && this.known.text === rendered.text ? 'verified' : undefined;
  }

  /** Does the file on disk differ from the known base? (missing file counts as differing) */
  async changedOnDisk(): Promise<boolean> {
    const disk = await this.readDisk();
    return disk === undefined || disk !== this.baseText;
  }

  /** Render the change from prev to next into the known base text and write it atomically.
   *  Serialised (one write at a time). Throws DaqError 'conflict' if the file changed on disk since the
   *  known base, 'persist_failed' on render/verify/IO failure (file untouched). On success the written
   *  text becomes the known base. */
  write(prev: unknown, next: unknown, ann?: WriteAnnotations): Promise<WriteResult> {
    return this.serialised(() => this.persist(prev, next, ann, false));
  }

  /** Write `next` even if the base is stale: used by config.sync after a failed write; still renders
   *  into the current base text so comments survive. */
  sync(prev: unknown, next: unknown, ann?: WriteAnnotations): Promise<WriteResult> {
    return this.serialised(() => this.persist(prev, next, ann, true));
  }

  private serialised<T>(job: () => Promise<T>): Promise<T> {
    const key = resolve(this.path);
    const run = (queues.get(key) ?? Promise.resolve()).then(job, job);
    const tail = run.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return run;
  }

  private async readDisk(): Promise<string | undefined> {
    const bytes = await this.readDiskBytes();
    return bytes === undefined ? undefined : bytes.toString('utf8');
  }

  private async readDiskBytes(): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DaqError('persist_failed', `cannot read the config file ${this.path} before writing it: ${describeError(err)}`, {
        details: { file: this.path },
        cause: err,
      });
    }
  }

  /** Throws `conflict` when the file on disk is not the known base (a person edited or deleted it). */
  private async checkUnchangedOnDisk(): Promise<void> {
    const disk = await this.readDiskBytes();
    if (disk !== undefined && this.isBase(disk)) return;
    const what = disk === undefined ? 'was deleted' : 'was edited';
    throw new DaqError(
      'conflict',
      `the config file ${this.path} ${what} since daqd last read or wrote it; daqd did not overwrite it (reload the file, then retry)`,
      { details: { file: this.path } },
    );
  }

  /** Do these bytes read as the base text? By bytes when daqd kept the base's, else decoded (then kept). */
  private isBase(disk: Buffer): boolean {
    if (this.baseBytes !== undefined && disk.equals(this.baseBytes)) return true;
    if (disk.toString('utf8') !== this.baseText) return false;
    this.baseBytes = disk;
    return true;
  }

  /** config.sync's text to render into: the file as it is now, so a person's comments there survive;
   *  if it is gone or no longer parses, the last text daqd knew; failing that, a fresh file. */
  private async syncBase(): Promise<{ disk: string | undefined; text: string; model: unknown }> {
    const disk = await this.readDisk();
    const diskModel = disk === undefined ? undefined : tryParse(disk);
    if (disk !== undefined && diskModel !== undefined) return { disk, text: disk, model: diskModel };
    if (this.baseText !== undefined && this.baseModel !== undefined) return { disk, text: this.baseText, model: this.baseModel };
    return { disk, text: '', model: {} };
  }

  private async persist(prev: unknown, next: unknown, ann: WriteAnnotations | undefined, force: boolean): Promise<WriteResult> {
    const started = performance.now();
    let base: { disk: string | undefined; text: string; model: unknown };
    let unchangedOnDisk: Promise<void> | undefined;
    if (force) base = await this.syncBase();
    else {
      if (this.baseText === undefined) {
        throw new DaqError('persist_failed', `the config file ${this.path} was never loaded, so there is no text to write the change into`, {
          details: { file: this.path },
        });
      }
      // The conflict check reads the file while the change is rendered into the base text (the
      // render needs only that); its verdict is awaited before anything is used or written.
      unchangedOnDisk = this.checkUnchangedOnDisk();
      unchangedOnDisk.catch(() => undefined); // observed here too: a render error may be thrown first
      base = { disk: this.baseText, text: this.baseText, model: this.baseModel ?? prev };
    }
    let rendered: RenderedEdit | undefined;
    let renderError: unknown;
    const known = this.known !== undefined && this.known.text === base.text && this.known.model === base.model ? this.known : undefined;
    // Diffed from the caller's frozen model when it is the one the base holds (see lastWritten).
    const diffFrom = !force && prev !== undefined && prev === this.lastWritten ? prev : undefined;
    try {
      rendered = renderConfigEdit(base.text, base.model, next, { ...ann, ownText: this.ownText, ...(known ? { known } : {}), ...(diffFrom ? { diffFrom } : {}) });
    } catch (err) {
      renderError = err;
    }
    // A person's edit on disk is the answer even when the render failed too.
    await unchangedOnDisk;
    if (rendered === undefined) {
      const err = renderError;
      if (isDaqError(err)) {
        throw new DaqError(err.kind, `${this.path}: ${err.message}`, { details: { file: this.path, ...err.details }, cause: err });
      }
      throw new DaqError('persist_failed', `could not render the change into ${this.path}: ${describeError(err)}; the file was left as it was`, {
        details: { file: this.path },
        cause: err,
      });
    }
    const text = rendered.text;
    const previous = { text: this.baseText, hash: this.baseHash, bytes: this.baseBytes, model: this.baseModel, own: this.ownText, known: this.known !== undefined };
    const undo: Array<() => void> = [];
    const verified = this.knownAfter(rendered, known, undo);
    if (text === base.disk) {
      // Nothing to write. A render that changed nothing is not daqd's text: it may hold a
      // person's edit, whose stale notes the next real write must still see.
      if (text === base.text) {
        this.remember(text, next, verified);
        this.ownText ??= text;
        this.baseBytes = previous.bytes;
      } else this.adoptOwnText(text, next, verified);
      this.lastWritten = frozenOrUndefined(next);
      return { bytes: 0, ms: performance.now() - started };
    }
    // Adopt before the rename: a file watcher that sees the new file must already find its hash known.
    this.adoptOwnText(text, next, verified);
    const bytes = Buffer.from(text, 'utf8');
    this.baseBytes = bytes;
    this.lastWritten = frozenOrUndefined(next);
    try {
      await atomicWriteFile(this.path, bytes);
    } catch (err) {
      // The rename may have happened before a later step failed: then the new text is the base.
      const now = await this.readDisk().catch(() => undefined);
      if (now !== text) {
        this.baseText = previous.text;
        this.baseHash = previous.hash;
        this.baseBytes = previous.bytes;
        this.lastWritten = undefined; // the next write diffs from the base model itself
        this.baseModel = previous.model;
        this.ownText = previous.own;
        for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
        // The known base moved with the edit: know the previous text afresh.
        this.known = previous.known && previous.text !== undefined ? knownDoc(previous.text, previous.model) : undefined;
      }
      throw err;
    }
    return { bytes: bytes.length, ms: performance.now() - started };
  }
}
