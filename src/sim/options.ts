/** Turning `--option k=v` strings and config tables into driver options for the simulator CLI. */

/** "a.b=3" -> { a: { b: 3 } }; values that look like numbers / booleans become those. */
export function parseOptionPairs(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--option expects key=value (got ${JSON.stringify(pair)})`);
    const path = pair.slice(0, eq).split('.');
    let target = out;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (typeof next !== 'object' || next === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = coerce(pair.slice(eq + 1));
  }
  return out;
}

function coerce(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  return text;
}

/** Deep merge of plain objects; `over` wins. */
export function mergeOptions(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlain(prev) && isPlain(value) ? mergeOptions(prev, value) : value;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys of an instrument table that are not driver options. */
export const COMMON_INSTRUMENT_KEYS = new Set([
  'driver',
  'port',
  'params',
  'baud_rate',
  'data_bits',
  'parity',
  'stop_bits',
  'flow_control',
  'poll_interval_ms',
  'poll_ms',
  'timeout_ms',
  'enabled',
  'description',
  'name',
  'record',
  'publish',
]);
