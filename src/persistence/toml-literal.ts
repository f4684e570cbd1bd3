/**
 * Renders model values as TOML literals for splicing into a file. Unlike a whole-document
 * stringifier it takes the number kind per path, so a value written over `1.0` stays a float and a
 * new `5.0` the caller asked for stays a float, while an untouched neighbour keeps its own kind.
 */
import { DaqError } from '../errors.js';
import { isTable } from './config-diff.js';

export type NumberKind = 'integer' | 'float';
/** Path below the rendered value (keys and array indices) -> the kind a number there should have. */
export type KindAt = (subpath: readonly (string | number)[]) => NumberKind | undefined;

export interface LiteralStyle {
  /** `[ 1, 2 ]` rather than `[1, 2]` (copied from the literal being replaced). */
  bracketSpacing?: boolean;
  /** Write a top-level string as a 'literal string' when it needs no escapes (the old one was). */
  literalString?: boolean;
  /** Keep the base of an integer written as 0x.., 0o.. or 0b.. (non-negative values only). */
  intPrefix?: '0x' | '0o' | '0b';
  /** Hex digits were written in upper case (0xFF). */
  hexUpper?: boolean;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what needs escaping
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f"\\]/g;
const SHORT_ESCAPES: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

function fail(where: string, why: string): never {
  throw new DaqError('persist_failed', `cannot write ${where} to the config file: ${why}`, { details: { key: where } });
}

export function basicString(value: string, where = 'a string'): string {
  if (LONE_SURROGATE.test(value)) fail(where, 'the text contains an unpaired UTF-16 surrogate, which UTF-8 cannot store');
  return `"${value.replace(NEEDS_ESCAPE, (ch) => SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

export function formatKey(key: string): string {
  return BARE_KEY.test(key) ? key : basicString(key, `key "${key}"`);
}

export function formatKeyPath(path: readonly string[]): string {
  return path.map(formatKey).join('.');
}

function renderFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  const s = Object.is(n, -0) ? '-0' : String(n);
  // JS prints integral floats without a fraction ("12"); TOML needs one to stay a float. "1e+21" is valid TOML.
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

function renderNumber(n: number | bigint, kind: NumberKind | undefined, style: LiteralStyle, where: string): string {
  if (typeof n === 'bigint') {
    if (n < -(2n ** 63n) || n >= 2n ** 63n) fail(where, `${n} is outside TOML's 64-bit integer range`);
    return renderInteger(n, style);
  }
  // An integer only where one was (or is asked for) and the number is exactly representable as one.
  const integral = Number.isSafeInteger(n) && !Object.is(n, -0);
  if (integral && kind !== 'float') return renderInteger(BigInt(n), style);
  return renderFloat(n);
}

function renderInteger(n: bigint, style: LiteralStyle): string {
  if (style.intPrefix && n >= 0n) {
    const radix = { '0x': 16, '0o': 8, '0b': 2 }[style.intPrefix];
    const digits = n.toString(radix);
    return style.intPrefix + (style.hexUpper ? digits.toUpperCase() : digits);
  }
  return n.toString();
}

export function renderValue(
  value: unknown,
  where: string,
  kindAt: KindAt = () => undefined,
  style: LiteralStyle = {},
  subpath: (string | number)[] = [],
): string {
  switch (typeof value) {
    case 'string':
      if (style.literalString && subpath.length === 0 && !/['\u0000-\u0008\u000a-\u001f\u007f]/.test(value) && !LONE_SURROGATE.test(value)) {
        return `'${value}'`;
      }
      return basicString(value, where);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
    case 'bigint':
      return renderNumber(value, kindAt(subpath), subpath.length === 0 ? style : {}, where);
    default:
      break;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) fail(where, 'the date is invalid');
    // smol-toml's TomlDate and toml-patch's LocalDate & co. print their own TOML form here.
    return value.toISOString();
  }
  const pad = style.bracketSpacing ? ' ' : '';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item, i) => renderValue(item, where, kindAt, { bracketSpacing: style.bracketSpacing }, [...subpath, i]));
    return `[${pad}${items.join(', ')}${pad}]`;
  }
  if (isTable(value)) {
    const pairs = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${formatKey(k)} = ${renderValue(v, where, kindAt, { bracketSpacing: style.bracketSpacing }, [...subpath, k])}`);
    return pairs.length === 0 ? '{}' : `{ ${pairs.join(', ')} }`;
  }
  return fail(where, value === null ? 'TOML has no null value (remove the key instead)' : `a ${typeof value} is not a TOML value`);
}

/** Number kinds of a parsed literal (parsed with integersAsBigInt): bigint -> integer, number -> float. */
export function kindsOf(parsed: unknown): KindAt {
  return (subpath) => {
    let node: unknown = parsed;
    for (const key of subpath) {
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string | number, unknown>)[key];
    }
    if (typeof node === 'bigint') return 'integer';
    if (typeof node === 'number') return 'float';
    return undefined;
  };
}

/** The style of an existing literal, so the replacement looks like what the person wrote. */
export function styleOf(literal: string): LiteralStyle {
  const prefix = /^(0x|0o|0b)/.exec(literal)?.[1] as LiteralStyle['intPrefix'];
  return {
    bracketSpacing: /^[[{]\s/.test(literal),
    literalString: literal.startsWith("'") && !literal.startsWith("'''"),
    ...(prefix ? { intPrefix: prefix, hexUpper: /[A-F]/.test(literal) } : {}),
  };
}
