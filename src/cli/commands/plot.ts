/**
 * Live plots in the terminal (issue #21):
 * - `daqctl watch --plot [ID...]`: one sparkline per numeric reading over the last minute, with
 *   min / max / last and units, redrawn in place (watch's LiveRegion);
 * - `daqctl plot ID READING`: one reading, as a larger plot (a braille-free block chart: eighth
 *   blocks per column, the height of the terminal), with its axis labels.
 * Same exits as watch: q, Ctrl-C, Ctrl-D, a signal, or daqd going away (exit 1) restore the
 * terminal. Off a terminal they print the series as JSON lines instead (for scripts).
 */
import { writeSync } from 'node:fs';
import type { Command } from 'commander';
import { RpcError } from '../../client/client.js';
import type { InstrumentView } from '../../client/types.js';
import type { Ctl } from '../ctl.js';
import { EXIT } from '../exit.js';
import { formatQuantity } from '../numbers.js';
import { LiveRegion, SHOW_CURSOR } from '../watch/screen.js';

export const WINDOW_MS = 60_000;
const REDRAW_MS = 250;
const BARS = '▁▂▃▄▅▆▇█';

/** The last minute of one reading. */
export class Series {
  readonly t: number[] = [];
  readonly v: number[] = [];
  unit: string | undefined;
  push(t: number, v: number, unit?: string): void {
    this.t.push(t);
    this.v.push(v);
    if (unit !== undefined) this.unit = unit;
  }
  trim(now: number, windowMs = WINDOW_MS): void {
    let i = 0;
    while (i < this.t.length && this.t[i]! < now - windowMs) i++;
    if (i > 0) {
      this.t.splice(0, i);
      this.v.splice(0, i);
    }
  }
  get last(): number | undefined {
    return this.v[this.v.length - 1];
  }
}

/** The series' values binned into `width` columns over [now - window, now] (NaN = no value). */
export function bin(s: Series, width: number, now: number, windowMs = WINDOW_MS): number[] {
  const out = new Array<number>(width).fill(Number.NaN);
  const start = now - windowMs;
  for (let i = 0; i < s.t.length; i++) {
    const col = Math.min(width - 1, Math.floor(((s.t[i]! - start) / windowMs) * width));
    if (col >= 0) out[col] = s.v[i]!; // the last value in each column
  }
  return out;
}

function range(values: readonly number[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** One line of block characters: low values ▁, high █, gaps as spaces. */
export function sparkline(values: readonly number[]): string {
  const [min, max] = range(values);
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      if (max === min) return BARS[3];
      return BARS[Math.min(7, Math.floor(((v - min) / (max - min)) * 8))];
    })
    .join('');
}

/** A taller chart: `height` rows of eighth blocks, top row first. */
export function chart(values: readonly number[], height: number): string[] {
  const [min, max] = range(values);
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    let line = '';
    for (const v of values) {
      if (!Number.isFinite(v)) {
        line += ' ';
        continue;
      }
      const level = max === min ? height * 4 : ((v - min) / (max - min)) * (height * 8 - 1) + 1; // in eighths
      const fill = level - r * 8;
      line += fill >= 8 ? '█' : fill <= 0 ? ' ' : BARS[Math.max(0, Math.ceil(fill) - 1)];
    }
    rows.push(line);
  }
  return rows;
}

const fmt = (v: number | undefined, unit?: string) => (v === undefined || !Number.isFinite(v) ? '-' : formatQuantity(v, unit));

/** The `watch --plot` lines: one per numeric reading. */
export function renderSparklines(series: ReadonlyMap<string, Series>, width: number, now: number): string[] {
  const names = [...series.keys()];
  if (names.length === 0) return ['waiting for readings…', '', 'q or Ctrl-C to stop'];
  const label = Math.min(28, Math.max(...names.map((n) => n.length)));
  const stats = names.map((n) => {
    const s = series.get(n)!;
    const [min, max] = range(s.v);
    return `min ${fmt(Number.isFinite(min) ? min : undefined, s.unit)}  max ${fmt(Number.isFinite(max) ? max : undefined, s.unit)}  last ${fmt(s.last, s.unit)}`;
  });
  const statWidth = Math.max(...stats.map((x) => x.length));
  const plotWidth = Math.max(10, width - label - statWidth - 4);
  const lines = names.map((n, i) => {
    const s = series.get(n)!;
    return `${n.slice(0, label).padEnd(label)}  ${sparkline(bin(s, plotWidth, now))}  ${stats[i]}`;
  });
  return [...lines, '', `last ${WINDOW_MS / 1000} s · q or Ctrl-C to stop`];
}

/** The `daqctl plot ID READING` lines. */
export function renderChart(name: string, s: Series | undefined, width: number, height: number, now: number): string[] {
  if (!s || s.v.length === 0) return [`${name}: waiting for readings…`, '', 'q or Ctrl-C to stop'];
  const [min, max] = range(s.v);
  const axis = Math.max(fmt(max, s.unit).length, fmt(min, s.unit).length);
  const plotWidth = Math.max(10, width - axis - 3);
  const rows = chart(bin(s, plotWidth, now), Math.max(3, height - 4));
  const lines = rows.map((r, i) => {
    const tick = i === 0 ? fmt(max, s.unit) : i === rows.length - 1 ? fmt(min, s.unit) : '';
    return `${tick.padStart(axis)} │${r}`;
  });
  lines.unshift(`${name}  last ${fmt(s.last, s.unit)}  min ${fmt(min, s.unit)}  max ${fmt(max, s.unit)}`);
  lines.push(`${''.padStart(axis)} └${'─'.repeat(plotWidth)}`);
  lines.push(`${''.padStart(axis)}  -${WINDOW_MS / 1000} s${'now'.padStart(plotWidth - 5 - String(WINDOW_MS / 1000).length)}  · q or Ctrl-C to stop`);
  return lines;
}

export interface PlotOptions {
  ids: string[];
  /** daqctl plot: one reading of one instrument. */
  reading?: string;
}

/** Runs until q / Ctrl-C / a signal / daqd closing the connection (then exits the process). */
export async function runPlot(ctl: Ctl, o: PlotOptions): Promise<void> {
  const client = await ctl.connect();
  const list = await client.call<{ instruments: InstrumentView[] }>('instrument.list');
  const known = list.instruments.map((i) => i.id);
  const missing = o.ids.filter((id) => !known.includes(id));
  if (missing.length) {
    client.close();
    throw new RpcError(`no instrument ${missing.map((m) => `"${m}"`).join(', ')} (instruments: ${known.join(', ') || 'none'})`, -32001, { kind: 'not_found' });
  }
  const series = new Map<string, Series>();
  const key = (id: string, reading: string) => (o.reading !== undefined ? reading : `${id}.${reading}`);
  const wanted = (id: string, reading: string) => (o.ids.length === 0 || o.ids.includes(id)) && (o.reading === undefined || reading === o.reading);
  const asScreen = process.stdout.isTTY === true && !ctl.json;
  const region = asScreen ? new LiveRegion(process.stdout) : null;
  const stdin = process.stdin;
  const rawKeys = asScreen && stdin.isTTY === true;
  let timer: NodeJS.Timeout | null = null;
  let finished = false;
  const finish = (code: number, message?: string) => {
    if (finished) return;
    finished = true;
    if (timer) clearInterval(timer);
    region?.restore();
    if (rawKeys) {
      stdin.setRawMode(false);
      stdin.pause();
    }
    client.close();
    if (message) process.stderr.write(`daqctl: ${message}\n`);
    process.exit(code);
  };
  process.on('exit', () => {
    if (region?.cursorHidden) writeSync(1, SHOW_CURSOR);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => finish(EXIT.ok));
  client.onClose((err) => finish(EXIT.failed, `daqd closed the connection (${err.message}); plot stopped`));
  client.onNotification((type, params: any) => {
    if (type !== 'reading' || !params || typeof params.instrument !== 'string') return;
    const t = Date.parse(params.ts);
    for (const [name, v] of Object.entries(params.values ?? {})) {
      if (typeof v !== 'number' || !wanted(params.instrument, name)) continue;
      const k = key(params.instrument, name);
      let s = series.get(k);
      if (!s) series.set(k, (s = new Series()));
      s.push(t, v, params.units?.[name]);
      if (!region) process.stdout.write(JSON.stringify({ instrument: params.instrument, reading: name, ts: params.ts, value: v, ...(params.units?.[name] ? { unit: params.units[name] } : {}) }) + '\n');
    }
  });
  await client.call('events.subscribe', { types: ['reading'], ...(o.ids.length ? { instruments: o.ids } : {}) });
  if (!region) return new Promise<never>(() => {});
  const draw = () => {
    const now = Date.now();
    for (const s of series.values()) s.trim(now);
    const lines =
      o.reading !== undefined
        ? renderChart(`${o.ids[0]}.${o.reading}`, series.get(o.reading), region.width, Math.max(8, (process.stdout.rows ?? 24) - 1), now)
        : renderSparklines(series, region.width, now);
    region.draw(lines);
  };
  draw();
  timer = setInterval(draw, REDRAW_MS);
  process.stdout.on('resize', draw);
  if (rawKeys) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', (k: Buffer) => {
      if (k.includes(0x03) || k.includes(0x04) || k.includes(0x71) || k.includes(0x51)) finish(EXIT.ok);
    });
  }
  return new Promise<never>(() => {});
}

export function registerPlotCommand(program: Command, ctl: Ctl): void {
  program
    .command('plot <id> <reading>')
    .description('one reading of one instrument as a live plot over the last minute (q or Ctrl-C to stop; JSON lines off a terminal)')
    .action(async (id: string, reading: string) => {
      await runPlot(ctl, { ids: [id], reading });
    });
}
