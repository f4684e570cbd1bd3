/**
 * The recorder's file format (docs/recording.md), shared by the writer and by export:
 *
 *   time,seq,power_w [W],wavelength_nm [nm],flags
 *   2026-11-30T09:12:03.120Z,4711,1.23e-6,820,
 *
 * `time` is ISO 8601 UTC with milliseconds, `seq` the instrument's reading sequence number, one
 * column per reading with its unit in brackets, and `flags` (`power_w=saturated;...`, empty when
 * every value is a valid measurement). Files are per local day: `<YYYY-MM-DD>.csv`, then
 * `<YYYY-MM-DD>.1.csv`, `.2.csv`... when the reading set (names or units) changes that day.
 */
import type { ParamValue, ReadingFlag } from '../../drivers/types.js';

export const EVENTS_HEADER = 'time,instrument,what,old,new,origin';

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : String(value);
  const s = typeof value === 'string' ? value : typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function columnName(name: string, unit: string | undefined): string {
  return unit ? `${name} [${unit}]` : name;
}

/** How every readings file's header begins (then one column per reading, then `flags`). */
export const READING_HEADER_START = 'time,seq';

/** The header line (without newline) for a reading event's value names and units. */
export function readingHeader(names: readonly string[], units: Readonly<Record<string, string>> | undefined): string {
  let h = READING_HEADER_START;
  for (const n of names) h += ',' + csvField(columnName(n, units?.[n]));
  return h + ',flags';
}

export function readingLine(
  ts: string,
  seq: number,
  names: readonly string[],
  values: Readonly<Record<string, ParamValue>>,
  flags: Readonly<Record<string, ReadingFlag>> | undefined,
): string {
  let line = ts + ',' + seq;
  for (const n of names) line += ',' + csvField(values[n]);
  line += ',';
  if (flags) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(flags)) parts.push(`${k}=${v}`);
    line += csvField(parts.join(';'));
  }
  return line + '\n';
}

/** Splits one CSV line (RFC 4180 quoting, no embedded line breaks: daqd never writes them unquoted). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          s += line.slice(i);
          i = line.length;
          break;
        }
        s += line.slice(i, q);
        if (line[q + 1] === '"') {
          s += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(s);
      if (line[i] === ',') i++;
      else return out;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, c));
      i = c + 1;
    }
  }
}

/** "2026-11-30" for a time in ms, in local time (the recorder's day boundary is local midnight). */
export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** [start, end) of the local day holding `ms`. */
export function localDayBounds(ms: number): [number, number] {
  const d = new Date(ms);
  const start = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const end = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  return [start, end];
}

/** `2026-11-30.csv` -> { day, index: 0 }; `2026-11-30.2.csv` -> index 2; anything else undefined. */
export function parseDayFile(name: string): { day: string; index: number } | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.csv$/.exec(name);
  if (!m) return undefined;
  return { day: m[1]!, index: m[2] ? Number(m[2]) : 0 };
}

export function dayFileName(day: string, index: number): string {
  return index === 0 ? `${day}.csv` : `${day}.${index}.csv`;
}

/**
 * Directory name under the data dir for an instrument: its id, except that `events` is the events
 * file's, so an instrument named `events` records under `_instrument_events`, and an id of that
 * form (`_instrument_events`, `__instrument_events`, ...) gets one more `_`: two instruments never
 * share a directory.
 */
export function instrumentDirName(id: string): string {
  if (id === 'events') return '_instrument_events';
  return /^_+instrument_events$/.test(id) ? `_${id}` : id;
}
