/**
 * How daqctl writes numbers for people. One format per kind of value, so a column never mixes
 * `0.001` with `9.994e-4`:
 *
 * - a **measurement** (a reading, a module's last value) has four significant digits, in
 *   engineering notation with its unit: `499.0 µW`, `1.234 mA`, `7.543 V`. Only plain SI units take
 *   a prefix (PREFIXABLE); a unit that is not one (`degC`, `%`, `dB`, `dBm`, `deg`, or one that already
 *   has a prefix: `nm`, `mm`, `ms`) is kept as it is and the number gets four significant digits:
 *   `20.00 degC`, `800.0 nm`, `1064 nm`. Without a unit: `0.9932`, `42` (whole numbers stay whole),
 *   and outside 1e-3..1e6 an engineering exponent: `499.0e-6`.
 * - a **setting** (a parameter value, what a person typed or will type back) is written exactly,
 *   as in the config file (`800`, `0.005`), only without binary float noise.
 * - a **duration** in milliseconds: `2.32 ms`, `231 ms`, `1.23 s`.
 *
 * `--json` keeps every value as daqd sent it, except durations (jsonReplacer).
 */

const DIGITS = 4;

/** SI units that take a prefix (µW, mA, kHz). Anything else is printed without one. */
const PREFIXABLE = new Set(['W', 'V', 'A', 'Hz', 's', 'm', 'g', 'Pa', 'J', 'F', 'H', 'Ω', 'ohm', 'S', 'T', 'N', 'K', 'bar', 'L', 'Wb', 'Wh', 'VA', 'lm', 'lx', 'mol', 'cd', 'eV']);

const PREFIX_BY_EXPONENT = new Map<number, string>([
  [-15, 'f'],
  [-12, 'p'],
  [-9, 'n'],
  [-6, 'µ'],
  [-3, 'm'],
  [0, ''],
  [3, 'k'],
  [6, 'M'],
  [9, 'G'],
  [12, 'T'],
]);

/** `v` as mantissa (in [1, 1000), DIGITS significant digits) and a power of ten that is a multiple of 3. */
function engineering(v: number): { mantissa: string; exponent: number } {
  if (v === 0) return { mantissa: (0).toFixed(DIGITS - 1), exponent: 0 };
  let exponent = Math.floor(Math.log10(Math.abs(v)) / 3) * 3;
  let mantissa = significant(v / 10 ** exponent);
  // Rounding can carry into the next power of a thousand: 999.96 -> "1000.0" -> 1.000 k.
  if (Math.abs(Number(mantissa)) >= 1000) {
    exponent += 3;
    mantissa = significant(v / 10 ** exponent);
  }
  return { mantissa, exponent };
}

/** DIGITS significant digits in fixed notation (whole numbers from 10^(DIGITS-1) on). */
function significant(v: number): string {
  if (v === 0) return (0).toFixed(DIGITS - 1);
  let magnitude = Math.floor(Math.log10(Math.abs(v)));
  // Rounding can carry into the next digit: 9.9996 is 10.00, not 10.000.
  if (Math.abs(Number(v.toPrecision(DIGITS))) >= 10 ** (magnitude + 1)) magnitude += 1;
  if (magnitude >= DIGITS - 1) return String(Math.round(v));
  return v.toFixed(DIGITS - 1 - magnitude);
}

/** A measurement with its unit (see the module comment). */
export function formatQuantity(v: number, unit?: string): string {
  if (!Number.isFinite(v)) return `${v}${unit ? ` ${unit}` : ''}`;
  if (!unit) return formatUnitless(v);
  if (PREFIXABLE.has(unit)) {
    const { mantissa, exponent } = engineering(v);
    const prefix = PREFIX_BY_EXPONENT.get(exponent);
    if (prefix !== undefined) return `${mantissa} ${prefix}${unit}`;
    return `${mantissa}e${exponent} ${unit}`;
  }
  const abs = Math.abs(v);
  if (abs !== 0 && abs < 1e-4) {
    const { mantissa, exponent } = engineering(v);
    return `${mantissa}e${exponent} ${unit}`;
  }
  return `${significant(v)} ${unit}`;
}

function formatUnitless(v: number): string {
  const abs = Math.abs(v);
  if (Number.isInteger(v) && abs < 1e6) return String(v);
  if (abs >= 1e-3 && abs < 1e6) return significant(v);
  const { mantissa, exponent } = engineering(v);
  return exponent === 0 ? mantissa : `${mantissa}e${exponent}`;
}

/** A reading's value: numbers as measurements (with `unit`), booleans and text as they are. */
export function formatMeasured(v: unknown, unit?: string): string {
  if (typeof v === 'number') return formatQuantity(v, unit);
  if (v === undefined || v === null) return '-';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A setting written exactly as in the config, without float noise (0.1 + 0.2 -> 0.3). */
export function formatSetting(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(12))) : String(v);
  if (v === undefined || v === null) return '-';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A duration given in milliseconds: three significant digits, in s from a second on. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  if (Math.abs(ms) >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  if (ms === 0) return '0 ms';
  return `${Number(ms.toPrecision(3))} ms`;
}

/** Keys daqd uses for durations in milliseconds (persisted.ms, durationMs, timeoutMs, ...). */
function isDurationKey(key: string): boolean {
  return key === 'ms' || key.endsWith('Ms') || key.endsWith('_ms');
}

/**
 * JSON.stringify replacer for --json: durations to 0.01 ms (`"ms": 11.12`, not
 * `11.118575000000419`); every other value exactly as daqd sent it (readings keep their precision).
 */
export function jsonReplacer(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value) && isDurationKey(key)) return Math.round(value * 100) / 100;
  return value;
}
