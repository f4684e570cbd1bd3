/** Human-readable output for daqctl: aligned tables and short value formatting. */

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatValue(v: unknown): string {
  if (typeof v === 'number') {
    if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(3);
    return String(Math.round(v * 1e6) / 1e6);
  }
  if (v === undefined || v === null) return '-';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function formatValues(values: Record<string, unknown> | undefined | null): string {
  if (!values) return '-';
  return Object.entries(values).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ');
}

/** "k=v" words to typed values: numbers stay numbers, true/false stay booleans. */
export function parseAssignments(words: string[]): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected key=value, got "${word}"`);
    out[word.slice(0, eq)] = parseScalar(word.slice(eq + 1));
  }
  return out;
}

export function parseScalar(text: string): number | boolean | string {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text.trim() !== '' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) return Number(text);
  return text;
}

export class UsageError extends Error {}
