/**
 * The change history (issue #22, docs/history.md): every parameter change from any source, one JSON
 * line per parameter under `<state dir>/history/`. A line is written whole by one write(2) on a file
 * opened O_APPEND, so a crash leaves at most a torn last line, which reading skips. The current file
 * is rotated by size (history.jsonl -> history.1.jsonl ...) and only `keepFiles` old files are kept.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ParamValue } from '../../drivers/types.js';
import { describeError } from '../../errors.js';

export interface HistoryEntry {
  /** Unique, increasing: `<ms>-<seq>`. history.revert names a change by it. */
  id: string;
  time: string;
  /** The running config's revision after the change (0 when the change did not change the config). */
  revision: number;
  instrument: string;
  param: string;
  /** What the device held before (the lane's device value), else the config's value; absent if unknown. */
  old?: ParamValue;
  /** The device-confirmed value (or, for a file/transaction change, the value applied). */
  new: ParamValue;
  /** socket, watcher, signal, module, tx, rollback, schedule, trigger, mqtt, history, startup... */
  source: string;
  /** The source's id: the schedule, module or transaction (the part after "source:"). */
  sourceId?: string;
  /** Parameter kind (an action is never reverted unless asked). */
  kind?: 'setpoint' | 'action';
  /** The socket peer's user: Node has no SO_PEERCRED, so daqd cannot tell it; never set today. */
  user?: string;
  /** Extra words: e.g. "cancelled schedule ramp1" for a manual set under a ramp, "revert of <id>". */
  note?: string;
}

export interface HistoryFilter {
  instrument?: string;
  param?: string;
  source?: string;
  /** ISO times or ms (inclusive). */
  from?: string | number;
  to?: string | number;
  /** Page: entries older than this id (the previous page's `next`). */
  before?: string;
  limit?: number;
}

export interface HistoryOptions {
  stateDir: string;
  log: Logger;
  clock?: () => number;
  /** Rotate the current file past this size (default 4 MiB). */
  maxBytes?: number;
  /** Old files kept (default 4): the history is bounded to about (keepFiles + 1) * maxBytes. */
  keepFiles?: number;
}

const CURRENT = 'history.jsonl';

/** "schedule:ramp1" -> {source: "schedule", sourceId: "ramp1"}. */
export function splitOrigin(origin: string): { source: string; sourceId?: string } {
  const i = origin.indexOf(':');
  return i < 0 ? { source: origin } : { source: origin.slice(0, i), sourceId: origin.slice(i + 1) };
}

export class HistoryLog {
  readonly dir: string;
  private fd: number | null = null;
  private size = 0;
  private lastMs = 0;
  private seq = 0;
  private readonly clock: () => number;
  private readonly maxBytes: number;
  private readonly keepFiles: number;
  private failures = 0;
  private written = 0;

  constructor(private readonly options: HistoryOptions) {
    this.dir = join(options.stateDir, 'history');
    this.clock = options.clock ?? Date.now;
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.keepFiles = options.keepFiles ?? 4;
  }

  private open(): number {
    if (this.fd !== null) return this.fd;
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const path = join(this.dir, CURRENT);
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
    if (this.lastMs === 0) {
      // Ids must keep increasing across restarts: start after the newest one on disk.
      const last = this.readFile(path).at(-1);
      if (last) this.lastMs = Number(last.id.split('-')[0]) || 0;
    }
    return this.fd;
  }

  private nextId(now: number): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else this.seq++;
    return `${this.lastMs}-${this.seq}`;
  }

  /** Append one change per parameter; never throws (a disk error is logged and counted). */
  append(entries: Omit<HistoryEntry, 'id' | 'time'>[]): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    if (entries.length === 0) return out;
    try {
      const fd = this.open();
      const now = this.clock();
      let text = '';
      for (const e of entries) {
        const full: HistoryEntry = { id: this.nextId(now), time: new Date(now).toISOString(), ...e };
        out.push(full);
        text += `${JSON.stringify(full)}\n`;
      }
      // One write per batch: whole records (O_APPEND); a torn tail is skipped on read.
      const buf = Buffer.from(text);
      writeSync(fd, buf);
      this.size += buf.length;
      this.written += entries.length;
      if (this.size >= this.maxBytes) this.rotate();
    } catch (err) {
      this.failures++;
      this.options.log.error({ err }, `history: could not append to ${this.dir}: ${describeError(err)}`);
    }
    return out;
  }

  private rotate(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(join(this.dir, `history.${this.keepFiles}.jsonl`), { force: true });
    for (let i = this.keepFiles - 1; i >= 1; i--) {
      const from = join(this.dir, `history.${i}.jsonl`);
      if (existsSync(from)) renameSync(from, join(this.dir, `history.${i + 1}.jsonl`));
    }
    if (this.keepFiles > 0) renameSync(join(this.dir, CURRENT), join(this.dir, 'history.1.jsonl'));
    else rmSync(join(this.dir, CURRENT), { force: true });
  }

  private readFile(path: string): HistoryEntry[] {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return [];
    }
    const out: HistoryEntry[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const e = JSON.parse(line) as HistoryEntry;
        if (typeof e?.id === 'string' && typeof e.instrument === 'string') out.push(e);
      } catch {
        // a torn line (crash mid-write): skipped
      }
    }
    return out;
  }

  /** Every entry, oldest first. */
  all(): HistoryEntry[] {
    if (!existsSync(this.dir)) return [];
    const olds = readdirSync(this.dir)
      .map((f) => /^history\.(\d+)\.jsonl$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
    return [...olds.flatMap((n) => this.readFile(join(this.dir, `history.${n}.jsonl`))), ...this.readFile(join(this.dir, CURRENT))];
  }

  /** Newest first, filtered, paged: {entries, next} (next: pass as `before` for the next page). */
  list(filter: HistoryFilter = {}): { entries: HistoryEntry[]; next?: string } {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 10_000);
    const ms = (t: string | number | undefined) => (t === undefined ? undefined : typeof t === 'number' ? t : Date.parse(t));
    const from = ms(filter.from);
    const to = ms(filter.to);
    const beforeKey = filter.before === undefined ? undefined : idKey(filter.before);
    const all = this.all();
    const entries: HistoryEntry[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const e = all[i]!;
      if (beforeKey !== undefined && compareKey(idKey(e.id), beforeKey) >= 0) continue;
      if (filter.instrument !== undefined && e.instrument !== filter.instrument) continue;
      if (filter.param !== undefined && e.param !== filter.param) continue;
      if (filter.source !== undefined && e.source !== filter.source && `${e.source}:${e.sourceId ?? ''}` !== filter.source) continue;
      const t = Date.parse(e.time);
      if (from !== undefined && t < from) continue;
      if (to !== undefined && t > to) continue;
      if (entries.length === limit) return { entries, next: entries.at(-1)!.id };
      entries.push(e);
    }
    return { entries };
  }

  find(id: string): HistoryEntry | undefined {
    return this.all().find((e) => e.id === id);
  }

  status() {
    return { dir: this.dir, written: this.written, failures: this.failures, maxBytes: this.maxBytes, keepFiles: this.keepFiles };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function idKey(id: string): [number, number] {
  const [a, b] = id.split('-');
  return [Number(a) || 0, Number(b) || 0];
}
function compareKey(a: [number, number], b: [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}
