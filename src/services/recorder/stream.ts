/**
 * One recorded file series (an instrument's readings, or the events file): the rows held in memory
 * until the next flush, per day and header, and the flush that writes them. Kept apart from the
 * Recorder, which decides what is recorded and when it is flushed, because this is the per-reading
 * hot path (issue #25): a reading whose names and units did not change is appended without
 * rebuilding its header or allocating anything but its line.
 */
import { join } from 'node:path';
import type { DaemonEvent } from '../../core/events.js';
import { DayFile } from './files.js';
import { localDay, localDayBounds, readingHeader, readingLine } from './csv.js';
import { RowBuffer } from './rows.js';

export interface Segment {
  day: string;
  header: string;
  rows: RowBuffer;
  /**
   * The first rows a flush has copied and is writing: they are on their way to the file, so a full
   * memory never drops them (it drops the oldest rows after them), and the flush removes exactly
   * them once written.
   */
  inFlight: number;
}

/** Rows of a segment no flush is writing (a full memory may drop these, oldest first). */
export function waitingRows(seg: Segment): number {
  return seg.rows.count - seg.inFlight;
}

export function newSegment(day: string, header: string): Segment {
  return { day, header, rows: new RowBuffer(), inFlight: 0 };
}

/** Rows that a flush is writing, across every stream: `delta` added when copied, taken back when done. */
export type InFlightCounter = (delta: number) => void;

export interface Stream {
  /** Directory under the data dir. */
  dir: string;
  segments: Segment[];
  file: DayFile | null;
  /** The reading names in the header of the last segment, and that header. */
  names: string[];
  header: string;
  /**
   * The units object of the last reading: the poll loop hands out the same object while the units
   * stay the same, so an unchanged header is seen without rebuilding it per reading.
   */
  units: Readonly<Record<string, string>> | undefined;
  /** The local day of the last row, and its bounds in ms (cheap day check per row). */
  day: string;
  dayStart: number;
  dayEnd: number;
  rows: number;
  flushing: boolean;
}

export function newStream(dir: string): Stream {
  return { dir, segments: [], file: null, names: [], header: '', units: undefined, day: '', dayStart: 0, dayEnd: 0, rows: 0, flushing: false };
}

export function setDay(s: Stream, ms: number): void {
  [s.dayStart, s.dayEnd] = localDayBounds(ms);
  s.day = localDay(ms);
}

/** Appends a reading's row; a new segment (and so a new file) when the day or the header changes. */
export function appendReading(s: Stream, e: Extract<DaemonEvent, { type: 'reading' }>): void {
  const ms = Date.parse(e.ts);
  let names = s.names;
  let header = s.header;
  // Units are part of the header: a meter switched to dBm starts a new file.
  const same = s.header !== '' && sameNames(names, e.values) && (e.units === s.units || readingHeader(names, e.units) === header);
  if (!same) {
    names = Object.keys(e.values);
    header = readingHeader(names, e.units);
    s.names = names;
    s.header = header;
  }
  s.units = e.units;
  if (!(ms >= s.dayStart && ms < s.dayEnd)) setDay(s, ms);
  let seg = s.segments[s.segments.length - 1];
  if (!seg || seg.day !== s.day || seg.header !== header) {
    seg = newSegment(s.day, header);
    s.segments.push(seg);
  }
  seg.rows.push(readingLine(e.ts, e.seq, names, e.values, e.flags));
}

/**
 * Writes every row the stream holds: one write of whole lines per file (their bytes as held), then fdatasync. `wrote`
 * is told each batch written (rows, bytes) as it goes. A file deleted under daqd is an ENOENT error
 * (its rows stay held); the next flush opens a new one.
 */
export async function flushStream(dataDir: string, s: Stream, wrote: (rows: number, bytes: number) => void, inFlight: InFlightCounter): Promise<void> {
  const dir = join(dataDir, s.dir);
  const touched = new Set<DayFile>();
  try {
    if (s.file && (await s.file.vanished())) {
      // Deleted (or its directory) under us: writes would go to a file nobody can see.
      const gone = s.file;
      s.file = null;
      await gone.close();
      throw Object.assign(new Error(`${gone.path} was deleted while daqd was writing it`), { code: 'ENOENT' });
    }
    while (s.segments.length > 0) {
      const seg = s.segments[0]!;
      if (!s.file || s.file.day !== seg.day || s.file.header !== seg.header) {
        if (s.file) {
          if (touched.has(s.file)) await s.file.sync();
          touched.delete(s.file);
          await s.file.close();
          s.file = null;
        }
        s.file = (await DayFile.open(dir, seg.day, seg.header)).file;
      }
      const n = seg.rows.count;
      if (n > 0) {
        const data = seg.rows.copyFirst(n);
        seg.inFlight = n;
        inFlight(n);
        try {
          await s.file.append(data);
        } finally {
          seg.inFlight = 0;
          inFlight(-n);
        }
        touched.add(s.file);
        // Rows that arrived during the write were pushed behind the ones written, and a full
        // memory dropped only rows behind them: the first n are exactly the ones written.
        seg.rows.dropFirst(n);
        s.rows += n;
        wrote(n, data.length);
      }
      // Done with it unless rows arrived meanwhile (then the loop writes them too). By identity: a
      // full memory may have removed an emptied segment while the file was being opened.
      if (seg.rows.count === 0) {
        const at = s.segments.indexOf(seg);
        if (at >= 0) s.segments.splice(at, 1);
      }
    }
    for (const f of touched) await f.sync();
  } catch (err) {
    if (s.file) {
      const f = s.file;
      s.file = null;
      // Rows an earlier write of this flush put in it have left memory: they get their fdatasync
      // before the file is closed, even though a later write failed.
      if (touched.has(f)) await f.sync().catch(() => {});
      await f.close();
    }
    throw err;
  }
}

/** Whether `values` has exactly these names (in any order), without allocating. */
function sameNames(names: readonly string[], values: Readonly<Record<string, unknown>>): boolean {
  let count = 0;
  for (const key in values) {
    if (!Object.hasOwn(values, key)) continue;
    count++;
  }
  if (count !== names.length) return false;
  for (let i = 0; i < names.length; i++) if (!Object.hasOwn(values, names[i]!)) return false;
  return true;
}
