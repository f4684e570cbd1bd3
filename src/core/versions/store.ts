/**
 * Config versions on disk (issue #19): `<state dir>/config_versions/`, one snapshot per file,
 *
 *     config-{YYYYMMDD_HHMMSS}[_{n}]-{short hash}[-{label}].toml   the config file's exact text
 *     config-{YYYYMMDD_HHMMSS}[_{n}]-{short hash}[-{label}].json   {time, revision, cause, origin, ...}
 *
 * The time is UTC; `_{n}` only when that name already exists within the second; the short hash is
 * the first 8 hex digits of the text's sha256. Both files are written to temp names, fsynced,
 * renamed (metadata first, so a `.toml` never exists without its metadata) and the directory is
 * fsynced once. A version's id is the file name without `.toml`, and an id is only ever looked up
 * in the directory listing: anything with a path separator, `..`, a NUL, or not listed is
 * `not_found`. A file someone edited or broke by hand is listed with its problems, never fatal.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parse } from 'smol-toml';
import { DaqError, describeError } from '../../errors.js';

export const VERSIONS_DIR = 'config_versions';
/** A label: what `version.create {label}` and `daqctl snapshot --label` accept. */
export const LABEL = /^[A-Za-z0-9._-]{1,64}$/;
const NAME = /^config-(\d{8}_\d{6})(?:_(\d+))?-([0-9a-f]{8})(?:-([A-Za-z0-9._-]{1,64}))?$/;
const TEMP = /^\..+\.tmp-(\d+)-\d+$/;

export interface VersionMeta {
  /** ISO time with ms (UTC). */
  time: string;
  /** Orders snapshots taken within the same millisecond. */
  seq: number;
  /** The running config's revision when the snapshot was taken. */
  revision: number;
  /** What change it was taken before ("instrument.set", "config.reload (watcher)", "tx.commit", "version.rollback", "version.create"). */
  cause: string;
  /** The change, in one line ("~pm1(wavelength_nm)"), when known. */
  summary?: string;
  origin: string;
  label?: string;
  /** sha256 of the text (hex). */
  hash: string;
  bytes: number;
  /** Taken automatically before a change (false: version.create). */
  auto: boolean;
}

export interface VersionEntry {
  id: string;
  time: string;
  label?: string;
  revision?: number;
  cause?: string;
  summary?: string;
  origin?: string;
  auto?: boolean;
  hash?: string;
  bytes: number;
  /** Why the snapshot cannot be trusted as daqd wrote it (corrupt, edited by hand, metadata missing). */
  problems?: string[];
  /** Internal ordering. */
  seq: number;
}

const parses = (text: string) => {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
};

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** 20260101_120000 for a UTC time. */
function stampOf(date: Date): string {
  const iso = date.toISOString(); // 2026-01-01T12:00:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

function timeOfStamp(stamp: string): string {
  return `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.000Z`;
}

/** An id that may name a file in the versions directory (the listing still decides). */
export function plausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 200 && !id.includes('/') && !id.includes('\\') && !id.includes('..') && !id.includes('\0') && !id.startsWith('.') && /^[A-Za-z0-9._-]+$/.test(id);
}

const newestFirst = (a: VersionEntry, b: VersionEntry) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.seq - a.seq || (a.id < b.id ? 1 : -1));

interface Cached {
  mtimeMs: number;
  size: number;
  metaMtimeMs: number;
  entry: VersionEntry;
}

let tempCounter = 0;

export class VersionStore {
  readonly dir: string;
  /** Serialises every change to the directory (create, delete, prune). */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, Cached>();
  /** The newest snapshot written or found (dedup of identical consecutive content). */
  private newest: { id: string; hash: string } | undefined;
  private seq = 0;

  constructor(
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.dir = join(stateDir, VERSIONS_DIR);
  }

  /** Create the directory, remove temp files of interrupted writes, index what is there. */
  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    for (const name of await readdir(this.dir)) {
      if (!TEMP.test(name)) continue;
      await unlink(join(this.dir, name)).catch(() => undefined);
      this.log.warn({ file: name }, `config versions: removed ${name}, left by an interrupted snapshot write`);
    }
    const all = await this.list();
    this.seq = Math.max(0, ...all.map((e) => e.seq));
    const top = all.find((e) => e.hash !== undefined && !e.problems);
    this.newest = top ? { id: top.id, hash: top.hash! } : undefined;
  }

  private locked<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job, job);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Every snapshot, newest first, with the problems of those that are not as daqd wrote them. */
  async list(): Promise<VersionEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new DaqError('persist_failed', `cannot read the config versions directory ${this.dir}: ${describeError(err)}`);
    }
    const present = new Set(names);
    const out: VersionEntry[] = [];
    for (const name of names) {
      if (!name.endsWith('.toml') || name.startsWith('.')) continue;
      const id = name.slice(0, -5);
      if (!plausibleId(id)) continue;
      const entry = await this.entry(id, present.has(`${id}.json`)).catch((err: unknown) => ({
        id,
        time: new Date(0).toISOString(),
        bytes: 0,
        seq: 0,
        problems: [`cannot be read: ${describeError(err)}`],
      }));
      out.push(entry);
    }
    for (const id of this.cache.keys()) if (!present.has(`${id}.toml`)) this.cache.delete(id);
    return out.sort(newestFirst);
  }

  /** One listed snapshot: name, metadata and text checked against each other (cached by mtime and size). */
  private async entry(id: string, hasMeta: boolean): Promise<VersionEntry> {
    const file = join(this.dir, `${id}.toml`);
    const st = await stat(file);
    const metaSt = hasMeta ? await stat(join(this.dir, `${id}.json`)).catch(() => undefined) : undefined;
    const hit = this.cache.get(id);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size && hit.metaMtimeMs === (metaSt?.mtimeMs ?? -1)) return hit.entry;
    const problems: string[] = [];
    const m = NAME.exec(id);
    if (!st.isFile()) throw new Error('not a regular file');
    const text = await readFile(file, 'utf8');
    const hash = sha256(text);
    let meta: Partial<VersionMeta> = {};
    if (metaSt) {
      try {
        const parsed = JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) meta = parsed as Partial<VersionMeta>;
        else problems.push('its metadata is not a JSON object');
      } catch (err) {
        problems.push(`its metadata cannot be read (${describeError(err)})`);
      }
    } else {
      problems.push('no metadata file');
    }
    if (!m) problems.push('the name is not config-{YYYYMMDD_HHMMSS}-{hash}[-{label}].toml (not written by daqd)');
    else if (!hash.startsWith(m[3]!)) problems.push('its text does not match the hash in its name (edited by hand?)');
    if (typeof meta.hash === 'string' && meta.hash !== hash && m && hash.startsWith(m[3]!)) problems.push('its text does not match the hash in its metadata');
    try {
      parse(text);
    } catch (err) {
      problems.push(`not valid TOML: ${describeError(err).split('\n')[0]}`);
    }
    const time = typeof meta.time === 'string' && !Number.isNaN(Date.parse(meta.time)) ? meta.time : m ? timeOfStamp(m[1]!) : new Date(st.mtimeMs).toISOString();
    const entry: VersionEntry = {
      id,
      time,
      ...(m?.[4] ? { label: m[4] } : {}),
      ...(typeof meta.revision === 'number' ? { revision: meta.revision } : {}),
      ...(typeof meta.cause === 'string' ? { cause: meta.cause } : {}),
      ...(typeof meta.summary === 'string' ? { summary: meta.summary } : {}),
      ...(typeof meta.origin === 'string' ? { origin: meta.origin } : {}),
      ...(typeof meta.auto === 'boolean' ? { auto: meta.auto } : {}),
      hash,
      bytes: Buffer.byteLength(text, 'utf8'),
      seq: typeof meta.seq === 'number' ? meta.seq : 0,
      ...(problems.length ? { problems } : {}),
    };
    this.cache.set(id, { mtimeMs: st.mtimeMs, size: st.size, metaMtimeMs: metaSt?.mtimeMs ?? -1, entry });
    return entry;
  }

  /** A listed snapshot's text. Anything unsafe or not in the listing is not_found. */
  async read(id: string): Promise<{ entry: VersionEntry; text: string }> {
    const entry = await this.find(id);
    let text: string;
    try {
      text = await readFile(join(this.dir, `${entry.id}.toml`), 'utf8');
    } catch (err) {
      throw new DaqError('not_found', `config version ${JSON.stringify(id)} cannot be read (${describeError(err)})`);
    }
    return { entry, text };
  }

  async find(id: string): Promise<VersionEntry> {
    const missing = () => new DaqError('not_found', `no config version ${JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id)} (daqctl versions lists them)`, { details: { id: id.slice(0, 200) } });
    if (!plausibleId(id)) throw missing();
    const entry = (await this.list()).find((e) => e.id === id);
    if (!entry) throw missing();
    return entry;
  }

  /**
   * Store `text` as a snapshot. `dedup`: when the newest snapshot holds the same text, nothing is
   * written and that one is returned (`created: false`).
   */
  create(text: string, meta: Omit<VersionMeta, 'time' | 'seq' | 'hash' | 'bytes'> & { hash?: string }, dedup: boolean): Promise<{ entry: VersionEntry; created: boolean }> {
    return this.locked(async () => {
      const hash = meta.hash ?? sha256(text);
      if (dedup && this.newest?.hash === hash) {
        const existing = await stat(join(this.dir, `${this.newest.id}.toml`)).then(
          () => true,
          () => false,
        );
        if (existing) {
          const entry = this.cache.get(this.newest.id)?.entry ?? (await this.find(this.newest.id));
          return { entry, created: false };
        }
      }
      const now = new Date();
      const stamp = stampOf(now);
      const names = new Set(await readdir(this.dir));
      let id = '';
      for (let n = 1; ; n++) {
        id = `config-${stamp}${n === 1 ? '' : `_${n}`}-${hash.slice(0, 8)}${meta.label ? `-${meta.label}` : ''}`;
        if (!names.has(`${id}.toml`) && !names.has(`${id}.json`)) break;
      }
      const full: VersionMeta = { ...meta, time: now.toISOString(), seq: ++this.seq, hash, bytes: Buffer.byteLength(text, 'utf8') };
      await this.writePair(id, text, `${JSON.stringify(full, null, 2)}\n`);
      this.newest = { id, hash };
      const written = await Promise.all([stat(join(this.dir, `${id}.toml`)), stat(join(this.dir, `${id}.json`))]).catch(() => undefined);
      const entry: VersionEntry = {
        id,
        time: full.time,
        ...(meta.label ? { label: meta.label } : {}),
        revision: full.revision,
        cause: full.cause,
        ...(full.summary ? { summary: full.summary } : {}),
        origin: full.origin,
        auto: full.auto,
        hash,
        bytes: full.bytes,
        seq: full.seq,
      };
      // Listed from here on without reading the text back (it parsed: it is what daqd loaded or wrote).
      if (written && (meta.auto || parses(text))) this.cache.set(id, { mtimeMs: written[0].mtimeMs, size: written[0].size, metaMtimeMs: written[1].mtimeMs, entry });
      return { entry, created: true };
    });
  }

  /** Both files to temp names, fsynced, renamed (metadata first), one directory fsync. */
  private async writePair(id: string, text: string, metaText: string): Promise<void> {
    const files = [
      { final: join(this.dir, `${id}.json`), tmp: join(this.dir, `.${id}.json.tmp-${process.pid}-${tempCounter++}`), data: metaText },
      { final: join(this.dir, `${id}.toml`), tmp: join(this.dir, `.${id}.toml.tmp-${process.pid}-${tempCounter++}`), data: text },
    ];
    try {
      await Promise.all(
        files.map(async (f) => {
          const h = await open(f.tmp, 'wx', 0o640);
          try {
            await h.writeFile(f.data, 'utf8');
            await h.sync();
          } finally {
            await h.close();
          }
        }),
      );
      for (const f of files) await rename(f.tmp, f.final);
      const dir = await open(this.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      for (const f of files) await unlink(f.tmp).catch(() => undefined);
      throw new DaqError('persist_failed', `could not write config version ${id} in ${this.dir}: ${describeError(err)}`, { cause: err });
    }
  }

  /** Delete a listed snapshot (its text and metadata). */
  remove(id: string): Promise<VersionEntry> {
    return this.locked(async () => {
      const entry = await this.find(id);
      await this.unlinkPair(entry.id);
      return entry;
    });
  }

  private async unlinkPair(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.toml`));
    await unlink(join(this.dir, `${id}.json`)).catch(() => undefined);
    this.cache.delete(id);
    if (this.newest?.id === id) this.newest = undefined;
  }

  /**
   * Retention: keep the newest `keep` unlabelled snapshots daqd named; labelled ones and files
   * daqd did not name are never removed automatically. Returns the ids removed.
   */
  prune(keep: number): Promise<string[]> {
    return this.locked(async () => {
      const all = await this.list();
      const unlabelled = all.filter((e) => NAME.test(e.id) && e.label === undefined);
      const removed: string[] = [];
      for (const e of unlabelled.slice(keep)) {
        try {
          await this.unlinkPair(e.id);
          removed.push(e.id);
        } catch (err) {
          this.log.warn({ version: e.id }, `config versions: could not remove ${e.id} (retention): ${describeError(err)}`);
        }
      }
      return removed;
    });
  }
}
