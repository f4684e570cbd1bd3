/**
 * The recorder (issue #21, docs/recording.md): a daemon service fed by the event bus.
 *
 * - Every reading becomes one CSV row in `data/<instrument>/<YYYY-MM-DD>.csv` (csv.ts); every
 *   parameter change, state change, alarm, trip and reload one row in `data/events/<day>.csv`.
 * - Rows are formatted as they arrive and kept in memory; every `flush_ms` (at most 1 s) and on
 *   stop each file gets one write of whole lines and an fdatasync (files.ts). Writes are async
 *   (libuv's thread pool): the event loop never waits on the disk.
 * - When the disk refuses (full, read-only, the directory deleted or replaced), acquisition goes
 *   on: the error is logged and shown in status once, further failures are counted, rows stay in
 *   memory up to `buffer_rows` (older ones dropped and counted), every flush retries, and once it
 *   works again the gap is written to the events file.
 * - `record = false` on an instrument: its readings are not recorded (its changes still are).
 */
import { join, resolve, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigView } from '../../config/model.js';
import { instrumentsOf } from '../../config/model.js';
import { storageSchema } from '../../config/schema.js';
import type { DaemonEvent, DaemonEventType, EventBus } from '../../core/events.js';
import type { ParamValue } from '../../drivers/types.js';
import { resolveInstrument } from '../../config/resolve.js';
import { EVENTS_HEADER, csvField, instrumentDirName, readingHeader } from './csv.js';
import { appendReading, flushStream, newSegment, newStream, setDay, waitingRows, type Stream } from './stream.js';
import { applyRetention } from './retention.js';


/** The events onEvent records (the bus calls the recorder for these alone). */
const RECORDED_EVENTS: readonly DaemonEventType[] = [
  'reading',
  'instrument.state',
  'instrument.added',
  'instrument.removed',
  'module.alarm',
  'module.interlock',
  'module.state',
  'config.reloaded',
  'config.reloadFailed',
];
export type StorageSettings = ReturnType<typeof storageSchema.parse> & { dataDir: string };

/** [application.storage] with defaults; the data dir resolved (relative: the config file's directory). */
export function storageSettings(config: ConfigView, stateDir: string, configPath: string): StorageSettings {
  const app = (config.application ?? {}) as Record<string, unknown>;
  const s = storageSchema.parse(app.storage ?? {});
  const dataDir = s.dir ? resolve(dirname(resolve(configPath)), s.dir) : join(resolve(stateDir), 'data');
  return { ...s, dataDir };
}

export interface RecorderOptions {
  events: EventBus;
  stateDir: string;
  configPath: string;
  log: Logger;
  /** Wall clock in ms (events-file times, the gap's end, retention); tests inject a controlled one. */
  clock?: () => number;
  /** false: no flush timer (tests call flush()). */
  timers?: boolean;
}

/** One parameter change for the events file (from Daemon.onParamsSet). */
export interface ParamChange {
  instrument: string;
  origin: string;
  old: Record<string, ParamValue | undefined>;
  new: Record<string, ParamValue>;
}

const EVENTS = '\u0000events';

export class Recorder {
  private settings: StorageSettings | null = null;
  private readonly streams = new Map<string, Stream>();
  private readonly off: () => void;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly clock: () => number;
  private noRecord = new Set<string>();
  private known = new Set<string>();
  private states = new Map<string, string>();
  private pending = 0;
  private written = 0;
  private bytes = 0;
  private flushes = 0;
  private lastFlushAt: string | null = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  /** The failure in force (null when recording works) and its counters. */
  private error: { kind: string; message: string; since: string; sinceMs: number } | null = null;
  private failures = 0;
  private dropped = 0;
  /** Rows flushes are writing right now (flushStream says so as it copies and finishes). */
  private inFlight = 0;
  private readonly countInFlight = (delta: number): void => {
    this.inFlight += delta;
  };
  private droppedInGap = 0;
  private totalDropped = 0;
  private gaps = 0;

  constructor(private readonly options: RecorderOptions) {
    this.clock = options.clock ?? Date.now;
    this.off = options.events.subscribe((e) => this.onEvent(e), { types: RECORDED_EVENTS, owner: 'recorder' });
  }

  /** The running config (at start-up and after every change): settings, record flags, new instruments. */
  configure(config: ConfigView): void {
    if (this.stopped) return;
    const next = storageSettings(config, this.options.stateDir, this.options.configPath);
    const prev = this.settings;
    this.settings = next;
    const instruments = instrumentsOf(config);
    this.noRecord = new Set(Object.entries(instruments).filter(([, t]) => (t as { record?: boolean }).record === false).map(([id]) => id));
    if (!next.enabled) {
      this.discardAll();
      this.stopTimers();
      return;
    }
    if (prev && prev.dataDir !== next.dataDir) void this.closeFiles();
    for (const id of this.noRecord) this.dropStream(id);
    // A dynamically added instrument gets its file at once (header from its driver's declarations).
    const first = prev === null;
    for (const [id, table] of Object.entries(instruments)) {
      if (this.known.has(id)) continue;
      this.known.add(id);
      if (first || this.noRecord.has(id) || this.streams.has(id)) continue;
      try {
        const spec = resolveInstrument(id, table);
        const decls = spec.driver.readings(spec.options);
        if (decls.length === 0) continue;
        const units: Record<string, string> = {};
        for (const d of decls) if (d.unit) units[d.name] = d.unit;
        const s = this.stream(id);
        const ms = this.clock();
        if (s.segments.length === 0 && s.rows === 0) {
          s.names = decls.map((d) => d.name);
          s.header = readingHeader(s.names, units);
          setDay(s, ms);
          s.segments.push(newSegment(s.day, s.header));
        }
      } catch {
        // Not resolvable: its first reading creates the file.
      }
    }
    for (const id of [...this.known]) if (!Object.hasOwn(instruments, id)) this.known.delete(id);
    this.startTimers(next);
  }

  private startTimers(s: StorageSettings): void {
    if (this.options.timers === false) return;
    // Restarted only when its period changes: configure() runs after every config change, and a
    // set is one. Restarting it each time meant a daemon taking sets more often than flush_ms
    // (a ramp, a scan) never flushed: rows piled up in memory and never reached the disk.
    if (!this.timer || this.timerMs !== s.flush_ms) {
      if (this.timer) clearInterval(this.timer);
      this.timer = setInterval(() => void this.flush(), s.flush_ms);
      this.timer.unref();
      this.timerMs = s.flush_ms;
    }
    if (!this.retentionTimer && (s.keep_days !== undefined || s.max_gb !== undefined)) {
      void this.retention();
      this.retentionTimer = setInterval(() => void this.retention(), 3_600_000);
      this.retentionTimer.unref();
    }
  }

  private stopTimers(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.timer = this.retentionTimer = null;
  }

  /** Deletes day files beyond keep_days / max_gb (never today's). Returns the files deleted. */
  async retention(): Promise<string[]> {
    const s = this.settings;
    if (!s || !s.enabled) return [];
    try {
      return await applyRetention(s.dataDir, { keepDays: s.keep_days, maxBytes: s.max_gb !== undefined ? s.max_gb * 1e9 : undefined, now: this.clock() });
    } catch (err) {
      this.options.log.warn({ err }, `recording retention: ${(err as Error).message}`);
      return [];
    }
  }

  /** Called by the daemon after a set went through (socket, MQTT, module): one row per parameter. */
  paramsSet(change: ParamChange): void {
    for (const [name, value] of Object.entries(change.new)) {
      const old = change.old[name];
      this.eventRow(change.instrument, `param:${name}`, old, value, change.origin);
    }
  }

  private onEvent(e: DaemonEvent): void {
    if (this.stopped || (this.settings && !this.settings.enabled)) return;
    switch (e.type) {
      case 'reading':
        if (this.noRecord.has(e.instrument)) return;
        this.reading(e);
        return;
      case 'instrument.state': {
        const old = this.states.get(e.instrument);
        this.states.set(e.instrument, e.state);
        if (old === e.state) return;
        this.eventRow(e.instrument, 'state', old, e.state, e.error ? `${e.error.kind}: ${e.error.message}` : 'daemon');
        return;
      }
      case 'instrument.added':
        this.eventRow(e.instrument, 'added', undefined, undefined, 'config');
        return;
      case 'instrument.removed':
        this.states.delete(e.instrument);
        this.eventRow(e.instrument, 'removed', undefined, undefined, 'config');
        return;
      case 'module.alarm':
        this.eventRow(e.module, 'alarm', !e.active, e.active, e.message);
        return;
      case 'module.interlock':
        this.eventRow(e.module, e.tripped ? 'trip' : 'reset', !e.tripped, e.tripped, `${e.cause ? `${e.cause}: ` : ''}${e.message}`);
        return;
      case 'module.state':
        this.eventRow(e.module, 'module_state', undefined, e.state, e.reason ?? 'daemon');
        return;
      case 'config.reloaded': {
        const diff = e.diff as { instruments?: { changed?: Record<string, { params?: Record<string, { from?: ParamValue; to?: ParamValue }> }> } } | undefined;
        if (e.source !== 'startup') {
          for (const [id, change] of Object.entries(diff?.instruments?.changed ?? {})) {
            for (const [name, v] of Object.entries(change.params ?? {})) this.eventRow(id, `param:${name}`, v.from, v.to, `reload:${e.source}`);
          }
        }
        this.eventRow('', 'reload', undefined, e.source === 'startup' ? 'start-up' : 'applied', e.source);
        return;
      }
      case 'config.reloadFailed':
        this.eventRow('', 'reload_failed', undefined, (e.errors as { message?: string }[]).map((x) => x?.message ?? String(x)).join('; '), e.source);
        return;
      default:
        return;
    }
  }

  private stream(id: string): Stream {
    let s = this.streams.get(id);
    if (!s) {
      s = newStream(id === EVENTS ? 'events' : instrumentDirName(id));
      this.streams.set(id, s);
    }
    return s;
  }

  private reading(e: Extract<DaemonEvent, { type: 'reading' }>): void {
    appendReading(this.stream(e.instrument), e);
    this.added();
  }

  private eventRow(instrument: string, what: string, old: unknown, value: unknown, origin: string): void {
    if (this.stopped || (this.settings && !this.settings.enabled)) return;
    const s = this.stream(EVENTS);
    const ms = this.clock();
    if (!(ms >= s.dayStart && ms < s.dayEnd)) setDay(s, ms);
    let seg = s.segments[s.segments.length - 1];
    if (!seg || seg.day !== s.day) {
      seg = newSegment(s.day, EVENTS_HEADER);
      s.segments.push(seg);
    }
    seg.rows.push(`${new Date(ms).toISOString()},${csvField(instrument)},${csvField(what)},${csvField(old)},${csvField(value)},${csvField(origin)}\n`);
    this.added();
  }

  private added(): void {
    this.pending++;
    const limit = this.settings?.buffer_rows ?? 200_000;
    // Rows a flush is writing are on their way out; the limit is on the rows still waiting.
    const waiting = this.pending - this.inFlight;
    if (waiting > limit) this.dropOldest(waiting - limit);
  }


  /** The disk has refused for long enough that memory is full: the oldest reading rows go first (events stay). */
  private dropOldest(n: number): void {
    let left = n;
    const streams = [...this.streams.entries()].filter(([id]) => id !== EVENTS).map(([, s]) => s);
    while (left > 0) {
      let progressed = false;
      for (const s of streams) {
        // The oldest rows no flush is writing: past the first segment's rows in flight, or in a
        // later segment when the first has none left to drop (an empty one pre-created at configure).
        let i = 0;
        while (i < s.segments.length && waitingRows(s.segments[i]!) === 0) i++;
        const seg = s.segments[i];
        if (!seg) continue;
        const k = Math.min(waitingRows(seg), Math.max(1, Math.ceil(left / streams.length)));
        seg.rows.dropAt(seg.inFlight, k);
        if (seg.rows.count === 0 && s.segments.length > 1) s.segments.splice(i, 1);
        left -= k;
        this.pending -= k;
        this.dropped += k;
        this.droppedInGap += k;
        this.totalDropped += k;
        progressed = true;
        if (left <= 0) break;
      }
      if (!progressed) break;
    }
  }

  private dropStream(id: string): void {
    const s = this.streams.get(id);
    if (!s) return;
    for (const seg of s.segments) this.pending -= seg.rows.count;
    this.streams.delete(id);
    void s.file?.close();
  }

  private discardAll(): void {
    for (const id of [...this.streams.keys()]) this.dropStream(id);
    this.pending = 0;
  }

  private async closeFiles(): Promise<void> {
    for (const s of this.streams.values()) {
      const f = s.file;
      s.file = null;
      await f?.close();
    }
  }

  /**
   * Writes every row held in memory: one write of whole lines per file, then fdatasync. Runs one
   * at a time (a call during a flush waits for it and flushes again).
   */
  async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.flushing) return this.flushing;
    }
    const run = this.flushOnce().finally(() => {
      if (this.flushing === run) this.flushing = null;
    });
    this.flushing = run;
    return run;
  }

  private async flushOnce(): Promise<void> {
    const s = this.settings;
    if (!s || !s.enabled) return;
    let failed: unknown = null;
    const work: Promise<void>[] = [];
    for (const [id, stream] of this.streams) {
      if (stream.segments.length === 0) continue;
      work.push(
        flushStream(s.dataDir, stream, this.wrote, this.countInFlight).catch((err) => {
          failed ??= err;
        }),
      );
      void id;
    }
    await Promise.all(work);
    this.flushes++;
    if (failed) this.failed(failed);
    else if (this.error) await this.recovered();
    else this.lastFlushAt = new Date(this.clock()).toISOString();
  }

  /** Rows written by flushStream: counted as they go (a later segment may still fail). */
  private readonly wrote = (rows: number, bytes: number): void => {
    this.pending -= rows;
    this.written += rows;
    this.bytes += bytes;
  };

  private failed(err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    const kind = typeof e?.code === 'string' ? e.code : 'error';
    const message = e instanceof Error ? e.message : String(err);
    this.failures++;
    if (this.error) return;
    const ms = this.clock();
    this.error = { kind, message, since: new Date(ms).toISOString(), sinceMs: ms };
    this.droppedInGap = 0;
    this.options.log.error({ kind, dataDir: this.settings?.dataDir }, `recording failed: ${message}; acquisition goes on, rows are kept in memory (up to ${this.settings?.buffer_rows} rows) and daqd retries every flush`);
  }

  private async recovered(): Promise<void> {
    const err = this.error!;
    this.error = null;
    this.gaps++;
    const dropped = this.droppedInGap;
    const now = new Date(this.clock()).toISOString();
    this.options.log.warn({ since: err.since, dropped }, `recording resumed after ${err.kind} since ${err.since}${dropped ? `; ${dropped} rows were dropped` : '; no row lost'}`);
    this.eventRow('', 'recording_gap', err.since, now, `${err.kind}: ${err.message}; ${dropped} rows dropped`);
    this.lastFlushAt = now;
    await this.flushOnce();
  }

  /** The data dir in force (from the config, or the default under the state dir). */
  get dataDir(): string {
    return this.settings?.dataDir ?? join(resolve(this.options.stateDir), 'data');
  }

  status() {
    const s = this.settings;
    return {
      enabled: s?.enabled ?? true,
      dir: s?.dataDir ?? null,
      instruments: [...this.streams.keys()].filter((k) => k !== EVENTS).length,
      rowsWritten: this.written,
      bytesWritten: this.bytes,
      pendingRows: this.pending,
      flushes: this.flushes,
      lastFlushAt: this.lastFlushAt,
      error: this.error ? { kind: this.error.kind, message: this.error.message, since: this.error.since } : null,
      failures: this.failures,
      droppedRows: this.totalDropped,
      gaps: this.gaps,
      notRecorded: [...this.noRecord],
    };
  }

  /** Flushes everything and closes the files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopTimers();
    try {
      await this.flush();
    } finally {
      this.stopped = true;
      this.off();
      await this.closeFiles();
    }
  }
}
