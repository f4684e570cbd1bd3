/**
 * daqctl export ID [--from T] [--to T] [--format csv|parquet] [-o FILE]: recorded rows through the
 * socket method data.export (so it works wherever daqctl can reach daqd). CSV prints the header
 * and rows as recorded; Parquet (hyparquet-writer, pure JS, loaded only for it) needs -o FILE or a
 * pipe. Times: ISO 8601, a local date (2026-11-30 = from its local midnight), or a duration ago
 * (10m, 2h, 1d).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';
import { UsageError } from '../exit.js';

/** "2026-11-30" (local midnight), "2026-11-30T09:00:00Z", "90s", "10m", "2h", "1d" (ago). */
export function parseWhen(text: string, name: string, now = Date.now()): string {
  const ago = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (ago) return new Date(now - Number(ago[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[ago[2] as 's' | 'm' | 'h' | 'd']).toISOString();
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (day) return new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])).toISOString();
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`${name}: "${text}" is not a time: give ISO 8601 (2026-11-30T09:00:00Z), a local date (2026-11-30) or a duration ago (10m, 2h, 1d)`);
  return new Date(ms).toISOString();
}

interface ExportResult {
  columns: string[];
  rows: (number | boolean | string | null)[][];
  files: string[];
  truncated: boolean;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(r: ExportResult): string {
  let out = r.columns.map(csvCell).join(',') + '\n';
  for (const row of r.rows) out += row.map(csvCell).join(',') + '\n';
  return out;
}

export async function toParquet(r: ExportResult): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const columnData = r.columns.map((name, i) => {
    const data = r.rows.map((row) => row[i] ?? null);
    const kinds = new Set(data.filter((v) => v !== null).map((v) => typeof v));
    if (name === 'time') return { name, data: data.map((v) => (v === null ? null : new Date(String(v)))), type: 'TIMESTAMP' as const };
    if (name === 'seq' && kinds.size <= 1 && (kinds.has('number') || kinds.size === 0)) return { name, data, type: 'INT64' as const, nullable: true };
    if (kinds.size === 1 && kinds.has('number')) return { name, data, type: 'DOUBLE' as const, nullable: true };
    if (kinds.size === 1 && kinds.has('boolean')) return { name, data, type: 'BOOLEAN' as const, nullable: true };
    return { name, data: data.map((v) => (v === null ? null : String(v))), type: 'STRING' as const, nullable: true };
  });
  const fixed = columnData.map((c) => (c.type === 'INT64' ? { ...c, data: c.data.map((v) => (v === null ? null : BigInt(Math.trunc(Number(v))))) } : c));
  return new Uint8Array(parquetWriteBuffer({ columnData: fixed as never }));
}

export function registerExportCommand(program: Command, ctl: Ctl): void {
  program
    .command('export <id>')
    .description('recorded readings of an instrument (or "events": the events file) as CSV or Parquet')
    .option('--from <time>', 'from this time (ISO 8601, a local date 2026-11-30, or ago: 10m, 2h, 1d)')
    .option('--to <time>', 'up to this time (exclusive)')
    .option('--format <format>', 'csv or parquet', 'csv')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--limit <rows>', 'at most this many rows (default 1000000)')
    .action(async (id: string, o: { from?: string; to?: string; format: string; output?: string; limit?: string }) => {
      if (o.format !== 'csv' && o.format !== 'parquet') throw new UsageError(`--format is csv or parquet (got "${o.format}")`);
      const limit = o.limit !== undefined ? Number(o.limit) : undefined;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit takes a row count (got "${o.limit}")`);
      if (o.format === 'parquet' && !o.output && process.stdout.isTTY) throw new UsageError('Parquet is binary: give -o FILE, or pipe it');
      const params = { id, ...(o.from ? { from: parseWhen(o.from, '--from') } : {}), ...(o.to ? { to: parseWhen(o.to, '--to') } : {}), ...(limit ? { limit } : {}) };
      const client = await ctl.connect();
      let result: ExportResult;
      try {
        result = await client.call<ExportResult>('data.export', params);
      } finally {
        client.close();
      }
      if (ctl.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      const body = o.format === 'csv' ? toCsv(result) : await toParquet(result);
      if (o.output) writeFileSync(o.output, body);
      else process.stdout.write(body);
      if (result.truncated) process.stderr.write(`daqctl: only the first ${result.rows.length} rows (--limit); narrow --from/--to or raise --limit\n`);
      if (o.output) process.stderr.write(`${result.rows.length} rows from ${result.files.length} file(s) written to ${o.output}\n`);
    });
}
