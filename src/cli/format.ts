/** Human-readable output for daqctl: aligned tables that fit the width, and values (numbers.ts). */
import { formatMeasured, formatSetting } from './numbers.js';

/**
 * The width tables must fit: the terminal's on a terminal, 80 columns otherwise (a pipe, a log,
 * a test), so a line never wraps where a person reads it.
 */
export function outputWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stream.isTTY && stream.columns ? stream.columns : 80;
}

const GAP = 2;
const MIN_COLUMN = 6;

/**
 * Aligned columns, two spaces apart, the last one unpadded. If the table is wider than `width`,
 * the widest columns are cut (cells end in "…") until it fits; the first column (the id) is never
 * cut.
 */
export function table(headers: string[], rows: (string | number)[][], width = outputWidth()): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  // Cut the widest column down towards the next widest, again and again: long columns end up
  // equally long rather than one of them cut to nothing.
  while (total() > width) {
    const flexible = widths.map((w, i) => ({ w, i })).filter(({ w, i }) => i > 0 && w > MIN_COLUMN).sort((a, b) => b.w - a.w);
    if (flexible.length === 0) break; // nothing left to cut: the table is as narrow as it gets
    const next = Math.max(flexible[1]?.w ?? MIN_COLUMN, MIN_COLUMN);
    widths[flexible[0]!.i]! -= Math.max(1, Math.min(total() - width, flexible[0]!.w - next));
  }
  return cells
    .map((r) =>
      r
        .map((c, i) => {
          const cut = cutTo(c, widths[i]!);
          return i === r.length - 1 ? cut : cut.padEnd(widths[i]!);
        })
        .join(' '.repeat(GAP))
        .trimEnd(),
    )
    .join('\n');
}

/** `text` cut to `width` characters, the cut marked with "…". */
export function cutTo(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** A setting (parameter value) exactly as in the config; see numbers.ts. */
export const formatValue = formatSetting;

/** "k=v k=v" of settings (parameter values, module roles). */
export function formatValues(values: Record<string, unknown> | undefined | null): string {
  if (!values) return '-';
  return Object.entries(values).map(([k, v]) => `${k}=${formatSetting(v)}`).join(' ');
}

/**
 * "power=499.0 µW shutter=false": a reading's values as measurements with their units. A text
 * value `<name>_unit` that only repeats the unit of `<name>` (the power meter's power_unit=W) is
 * left out: the unit is already beside the number.
 */
export function formatReadingValues(values: Record<string, unknown> | undefined | null, units?: Record<string, string>, separator = ' '): string {
  if (!values) return '-';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (k.endsWith('_unit') && typeof v === 'string' && unitOf(units, k.slice(0, -'_unit'.length)) === v) continue;
    parts.push(`${k}=${formatMeasured(v, unitOf(units, k))}`);
  }
  return parts.join(separator) || '-';
}

function unitOf(units: Record<string, string> | undefined, name: string): string | undefined {
  return units && Object.hasOwn(units, name) ? units[name] : undefined;
}

export { UsageError } from './exit.js';
