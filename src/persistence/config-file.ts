/**
 * The config file as daqd writes it: remembers the text it last loaded or wrote (the "known base"),
 * refuses to overwrite a person's edit made since then (`conflict`), renders each change into the
 * base text so comments and layout survive, and replaces the file atomically, one write at a time.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'smol-toml';
import { DaqError, describeError, isDaqError } from '../errors.js';
import { atomicWriteFile } from './atomic-write.js';
import { cloneModel } from '../config/model.js';
import { renderConfigChange, type WriteAnnotations } from './toml-writer.js';

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
  private baseHash: string | undefined;
  /** What the base text parses to; writes diff against this, so a change whose write failed earlier is still written. */
  private baseModel: unknown;
  /**
   * The text daqd last wrote itself, or the first text it adopted (start-up): a `# daqd: set` note
   * is kept only above the value this text has under it. A reload of a person's edit leaves it
   * alone, so the next write can tell which values the person changed (toml-notes.ts).
   */
  private ownText: string | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** sha256 of the text daqd last loaded or wrote (the hot-reload watcher ignores its own writes by this). */
  get knownHash(): string | undefined {
    return this.baseHash;
  }

  /** The text daqd last loaded or wrote. */
  get knownText(): string | undefined {
    return this.baseText;
  }

  /** Read and remember the text as the known base. Returns the text. */
  async load(): Promise<string> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      throw new DaqError('config_invalid', `cannot read the config file ${this.path}: ${describeError(err)}`, { details: { file: this.path }, cause: err });
    }
    this.adoptText(text);
    return text;
  }

  /** Take `text` (read from the file elsewhere, e.g. by a reload) as the known base. */
  adoptText(text: string, model?: unknown): void {
    this.remember(text, model);
    // The first text daqd sees is taken as its own: notes already in it are trusted.
    this.ownText ??= text;
  }

  private remember(text: string, model?: unknown): void {
    this.baseText = text;
    this.baseHash = sha256(text);
    this.baseModel = model !== undefined ? cloneModel(model) : tryParse(text);
  }

  /** `text` is what daqd itself wrote (or found already on disk) for `model`. */
  private adoptOwnText(text: string, model: unknown): void {
    this.remember(text, model);
    this.ownText = text;
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
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DaqError('persist_failed', `cannot read the config file ${this.path} before writing it: ${describeError(err)}`, {
        details: { file: this.path },
        cause: err,
      });
    }
  }

  /** The text to render into and what it holds. */
  private async baseFor(prev: unknown, force: boolean): Promise<{ disk: string | undefined; text: string; model: unknown }> {
    const disk = await this.readDisk();
    if (!force) {
      if (this.baseText === undefined) {
        throw new DaqError('persist_failed', `the config file ${this.path} was never loaded, so there is no text to write the change into`, {
          details: { file: this.path },
        });
      }
      if (disk !== this.baseText) {
        const what = disk === undefined ? 'was deleted' : 'was edited';
        throw new DaqError(
          'conflict',
          `the config file ${this.path} ${what} since daqd last read or wrote it; daqd did not overwrite it (reload the file, then retry)`,
          { details: { file: this.path } },
        );
      }
      return { disk, text: this.baseText, model: this.baseModel ?? prev };
    }
    // config.sync: render into the file as it is now, so a person's comments there survive; if it is
    // gone or no longer parses, into the last text daqd knew; failing that, a fresh file.
    const diskModel = disk === undefined ? undefined : tryParse(disk);
    if (disk !== undefined && diskModel !== undefined) return { disk, text: disk, model: diskModel };
    if (this.baseText !== undefined && this.baseModel !== undefined) return { disk, text: this.baseText, model: this.baseModel };
    return { disk, text: '', model: {} };
  }

  private async persist(prev: unknown, next: unknown, ann: WriteAnnotations | undefined, force: boolean): Promise<WriteResult> {
    const started = performance.now();
    const base = await this.baseFor(prev, force);
    let text: string;
    try {
      text = renderConfigChange(base.text, base.model, next, { ...ann, ownText: this.ownText });
    } catch (err) {
      if (isDaqError(err)) {
        throw new DaqError(err.kind, `${this.path}: ${err.message}`, { details: { file: this.path, ...err.details }, cause: err });
      }
      throw new DaqError('persist_failed', `could not render the change into ${this.path}: ${describeError(err)}; the file was left as it was`, {
        details: { file: this.path },
        cause: err,
      });
    }
    if (text === base.disk) {
      // Nothing to write. A render that changed nothing is not daqd's text: it may hold a
      // person's edit, whose stale notes the next real write must still see.
      if (text === base.text) this.adoptText(text, next);
      else this.adoptOwnText(text, next);
      return { bytes: 0, ms: performance.now() - started };
    }
    // Adopt before the rename: a file watcher that sees the new file must already find its hash known.
    const previous = { text: this.baseText, hash: this.baseHash, model: this.baseModel, own: this.ownText };
    this.adoptOwnText(text, next);
    try {
      await atomicWriteFile(this.path, text);
    } catch (err) {
      // The rename may have happened before a later step failed: then the new text is the base.
      const now = await this.readDisk().catch(() => undefined);
      if (now !== text) {
        this.baseText = previous.text;
        this.baseHash = previous.hash;
        this.baseModel = previous.model;
        this.ownText = previous.own;
      }
      throw err;
    }
    return { bytes: Buffer.byteLength(text, 'utf8'), ms: performance.now() - started };
  }
}
