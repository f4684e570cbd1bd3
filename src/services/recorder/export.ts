/**
 * Reading recorded rows back (`data.export`, `daqctl export`): the day files of one instrument (or
 * the events file) between two times, as typed rows. Files of one day with different headers are
 * merged by column name (a column a file does not have is null).
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DaqError } from '../../errors.js';
import { NUMERIC_TEXT } from '../../drivers/common/params.js';
import { dayFileName, instrumentDirName, localDay, parseCsvLine, parseDayFile } from './csv.js';

export interface ExportQuery {
  /** An instrument id, or "events" for the events file. */
  id: string;
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
}

export type Cell = number | boolean | string | null;

export interface ExportResult {
  id: string;
  /** Column names as in the headers ("power_w [W]"): time, seq, the readings..., flags. */
  columns: string[];
  rows: Cell[][];
  files: string[];
  truncated: boolean;
}


export function typedCell(s: string, column: string): Cell {
  if (s === '') return null;
  if (column === 'time' || column === 'flags' || column === 'instrument' || column === 'what' || column === 'origin') return s;
  if (NUMERIC_TEXT.test(s)) return Number(s);
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s === 'NaN') return Number.NaN;
  if (s === 'Infinity' || s === '-Infinity') return Number(s);
  return s;
}

export async function exportRows(dataDir: string, q: ExportQuery): Promise<ExportResult> {
  const dir = join(dataDir, q.id === 'events' ? 'events' : instrumentDirName(q.id));
  if (!existsSync(dir)) throw new DaqError('not_found', `nothing recorded for "${q.id}" in ${dataDir}`);
  // Day files are per local day; times are UTC: a day either side of the range may hold rows in it.
  const fromDay = q.from !== undefined ? localDay(q.from - 86_400_000) : undefined;
  const toDay = q.to !== undefined ? localDay(q.to + 86_400_000) : undefined;
  const files = readdirSync(dir)
    .map((name) => ({ name, p: parseDayFile(name) }))
    .filter((f): f is { name: string; p: { day: string; index: number } } => f.p !== undefined)
    .filter((f) => (fromDay === undefined || f.p.day >= fromDay) && (toDay === undefined || f.p.day <= toDay))
    .sort((a, b) => (a.p.day === b.p.day ? a.p.index - b.p.index : a.p.day < b.p.day ? -1 : 1))
    .map((f) => dayFileName(f.p.day, f.p.index));
  const columns: string[] = [];
  const index = new Map<string, number>();
  const raw: { cols: number[]; cells: string[] }[] = [];
  const limit = q.limit ?? 1_000_000;
  let truncated = false;
  const used: string[] = [];
  for (const name of files) {
    let cols: number[] | null = null;
    let any = false;
    const rl = createInterface({ input: createReadStream(join(dir, name), 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line === '') continue;
      const cells = parseCsvLine(line);
      if (!cols) {
        cols = cells.map((c) => {
          let i = index.get(c);
          if (i === undefined) {
            i = columns.length;
            columns.push(c);
            index.set(c, i);
          }
          return i;
        });
        continue;
      }
      const t = Date.parse(cells[0]!);
      if (q.from !== undefined && !(t >= q.from)) continue;
      if (q.to !== undefined && !(t < q.to)) continue;
      if (raw.length >= limit) {
        truncated = true;
        break;
      }
      raw.push({ cols, cells });
      any = true;
    }
    rl.close();
    if (any) used.push(name);
    if (truncated) break;
  }
  // flags last, as in the files.
  const order = columns.map((_, i) => i);
  const flagsAt = index.get('flags');
  if (flagsAt !== undefined) {
    order.splice(order.indexOf(flagsAt), 1);
    order.push(flagsAt);
  }
  const position = new Map(order.map((c, i) => [c, i]));
  const rows = raw.map(({ cols, cells }) => {
    const row: Cell[] = new Array(order.length).fill(null);
    cols.forEach((c, i) => (row[position.get(c)!] = typedCell(cells[i] ?? '', columns[c]!)));
    return row;
  });
  return { id: q.id, columns: order.map((c) => columns[c]!), rows, files: used, truncated };
}
