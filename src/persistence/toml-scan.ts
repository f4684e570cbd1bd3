/**
 * A fast line scanner for TOML text: it finds every table header and key/value row with their exact
 * byte ranges, so the writer can splice changes into a person's file without re-serialising it.
 *
 * It is not a validator (the writer verifies every result with a real parser); it only has to
 * classify lines correctly, which means it must step over multi-line strings, arrays and inline
 * tables so that a `[` or `#` inside a value is never mistaken for a header or comment.
 * Anything it does not understand raises TomlScanError and the writer falls back to dt.patch().
 */

export class TomlScanError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'TomlScanError';
  }
}

interface LineSpan {
  /** Offset of the first character of the line (after a BOM for the first line). */
  start: number;
  /** Offset just past the line's end-of-line sequence (or the text length on a last line without one). */
  end: number;
}
export interface BlankLine extends LineSpan { kind: 'blank' }
export interface CommentLine extends LineSpan { kind: 'comment'; /** offset of the `#` (the text is sliced only when asked for) */ hash: number }
export interface HeaderLine extends LineSpan { kind: 'header'; path: string[]; arrayTable: boolean }
export interface KeyRow extends LineSpan {
  kind: 'row';
  /** Dotted key as written, relative to its table. */
  key: string[];
  /** Header path of the table the row sits in ([] for the root table). */
  table: string[];
  /** True when the row is inside an `[[array.of.tables]]` section (its model path has an index). */
  inArrayTable: boolean;
  indent: string;
  valueStart: number;
  valueEnd: number;
  /** The value spans more than one line (multi-line string, array or inline table). */
  multiline: boolean;
}
export type ScanItem = BlankLine | CommentLine | HeaderLine | KeyRow;

export interface TomlScan {
  items: ScanItem[];
  /** 1 when the text starts with a UTF-8 BOM (U+FEFF), else 0. */
  bom: number;
  newline: '\n' | '\r\n';
  endsWithNewline: boolean;
}

const LF = 10, CR = 13, SPACE = 32, TAB = 9, HASH = 35, EQ = 61, DOT = 46;
const LBRACK = 91, RBRACK = 93, LBRACE = 123, RBRACE = 125, DQUOTE = 34, SQUOTE = 39, BACKSLASH = 92;

function skipWs(text: string, pos: number): number {
  let c = text.charCodeAt(pos);
  while (c === SPACE || c === TAB) c = text.charCodeAt(++pos);
  return pos;
}

/** Steps over an optional comment and the end-of-line; returns the offset of the next line. */
function finishLine(text: string, pos: number): number {
  pos = skipWs(text, pos);
  if (text.charCodeAt(pos) === HASH) {
    const lf = text.indexOf('\n', pos);
    pos = lf < 0 ? text.length : lf;
    // A CR before the LF belongs to the comment's line ending, not its text.
  }
  return endOfLine(text, pos);
}

function endOfLine(text: string, pos: number): number {
  if (pos >= text.length) return text.length;
  const c = text.charCodeAt(pos);
  if (c === LF) return pos + 1;
  if (c === CR && text.charCodeAt(pos + 1) === LF) return pos + 2;
  throw new TomlScanError('expected end of line', pos);
}

function isBareKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\' };

/** Decodes the body of a single-line basic string (between the quotes). */
function decodeBasic(body: string, offset: number): string {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') { out += ch; continue; }
    const esc = body[++i] ?? '';
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) { out += simple; continue; }
    const width = esc === 'u' ? 4 : esc === 'U' ? 8 : esc === 'x' ? 2 : 0;
    const hex = body.slice(i + 1, i + 1 + width);
    if (width === 0 || !/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== width) {
      throw new TomlScanError('bad escape in quoted key', offset + i);
    }
    out += String.fromCodePoint(parseInt(hex, 16));
    i += width;
  }
  return out;
}

/** Parses a (possibly dotted, possibly quoted) key; returns its parts and the offset after it. */
function parseKey(text: string, pos: number): { parts: string[]; pos: number } {
  const parts: string[] = [];
  for (;;) {
    pos = skipWs(text, pos);
    const c = text.charCodeAt(pos);
    if (c === DQUOTE) {
      const end = scanBasicString(text, pos);
      parts.push(decodeBasic(text.slice(pos + 1, end - 1), pos + 1));
      pos = end;
    } else if (c === SQUOTE) {
      const end = scanLiteralString(text, pos);
      parts.push(text.slice(pos + 1, end - 1));
      pos = end;
    } else {
      const from = pos;
      while (isBareKeyChar(text.charCodeAt(pos))) pos++;
      if (pos === from) throw new TomlScanError('expected a key', pos);
      parts.push(text.slice(from, pos));
    }
    pos = skipWs(text, pos);
    if (text.charCodeAt(pos) !== DOT) return { parts, pos };
    pos++;
  }
}

/** `pos` at the opening quote of a single-line basic string; returns the offset after the closing quote. */
function scanBasicString(text: string, pos: number): number {
  for (let i = pos + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i + 1;
    else if (c === LF) break;
  }
  throw new TomlScanError('unterminated string', pos);
}

function scanLiteralString(text: string, pos: number): number {
  const close = text.indexOf("'", pos + 1);
  const lf = text.indexOf('\n', pos + 1);
  if (close < 0 || (lf >= 0 && lf < close)) throw new TomlScanError('unterminated literal string', pos);
  return close + 1;
}

/** Multi-line strings may end with up to two extra quote characters that belong to the content. */
function extendClosingQuotes(text: string, closeAt: number, quote: number): number {
  let end = closeAt + 3;
  for (let extra = 0; extra < 2 && text.charCodeAt(end) === quote; extra++) end++;
  return end;
}

function scanMultilineBasic(text: string, pos: number): number {
  for (let i = pos + 3; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE && text.charCodeAt(i + 1) === DQUOTE && text.charCodeAt(i + 2) === DQUOTE) {
      return extendClosingQuotes(text, i, DQUOTE);
    }
  }
  throw new TomlScanError('unterminated multi-line string', pos);
}

function scanMultilineLiteral(text: string, pos: number): number {
  const close = text.indexOf("'''", pos + 3);
  if (close < 0) throw new TomlScanError('unterminated multi-line literal string', pos);
  return extendClosingQuotes(text, close, SQUOTE);
}

function scanString(text: string, pos: number): number {
  const q = text.charCodeAt(pos);
  const triple = text.charCodeAt(pos + 1) === q && text.charCodeAt(pos + 2) === q;
  if (q === DQUOTE) return triple ? scanMultilineBasic(text, pos) : scanBasicString(text, pos);
  return triple ? scanMultilineLiteral(text, pos) : scanLiteralString(text, pos);
}

/** Arrays and inline tables: track nesting, step over strings and comments inside them. */
function scanBracketed(text: string, pos: number): number {
  let depth = 0;
  for (let i = pos; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === LBRACK || c === LBRACE) { depth++; i++; }
    else if (c === RBRACK || c === RBRACE) { depth--; i++; if (depth === 0) return i; }
    else if (c === DQUOTE || c === SQUOTE) i = scanString(text, i);
    else if (c === HASH) { const lf = text.indexOf('\n', i); i = lf < 0 ? text.length : lf; }
    else i++;
  }
  throw new TomlScanError('unterminated array or inline table', pos);
}

/** Returns the offset just after the value that starts at `pos`. */
export function scanValue(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (c === DQUOTE || c === SQUOTE) return scanString(text, pos);
  if (c === LBRACK || c === LBRACE) return scanBracketed(text, pos);
  // Numbers, booleans, dates and times: up to a comment or the end of the line (a date-time may
  // contain one space), minus trailing blanks.
  let end = pos;
  for (let ch = text.charCodeAt(end); end < text.length && ch !== LF && ch !== CR && ch !== HASH; ) ch = text.charCodeAt(++end);
  while (end > pos && (text.charCodeAt(end - 1) === SPACE || text.charCodeAt(end - 1) === TAB)) end--;
  if (end === pos) throw new TomlScanError('expected a value', pos);
  return end;
}

export function scanToml(text: string): TomlScan {
  const items: ScanItem[] = [];
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const firstLf = text.indexOf('\n');
  const newline = firstLf > 0 && text.charCodeAt(firstLf - 1) === CR ? '\r\n' : '\n';
  let table: string[] = [];
  let inArrayTable = false;
  const arrayTablePaths: string[][] = [];
  let pos = bom;
  while (pos < text.length) {
    const start = pos;
    pos = skipWs(text, pos);
    const c = text.charCodeAt(pos);
    if (pos >= text.length || c === LF || c === CR) {
      items.push({ kind: 'blank', start, end: endOfLine(text, pos) });
    } else if (c === HASH) {
      const lf = text.indexOf('\n', pos);
      items.push({ kind: 'comment', start, end: lf < 0 ? text.length : lf + 1, hash: pos });
    } else if (c === LBRACK) {
      const arrayTable = text.charCodeAt(pos + 1) === LBRACK;
      const key = parseKey(text, pos + (arrayTable ? 2 : 1));
      let p = key.pos;
      if (text.charCodeAt(p) !== RBRACK || (arrayTable && text.charCodeAt(p + 1) !== RBRACK)) {
        throw new TomlScanError('expected ] to close a table header', p);
      }
      p += arrayTable ? 2 : 1;
      table = key.parts;
      // Rows under [[a]] or under any table nested in one map to indexed model paths: not indexed here.
      if (arrayTable) arrayTablePaths.push(table);
      inArrayTable = arrayTablePaths.some((arrayPath) => isPrefix(arrayPath, table));
      items.push({ kind: 'header', start, end: finishLine(text, p), path: table, arrayTable });
    } else {
      const key = parseKey(text, pos);
      let p = key.pos;
      if (text.charCodeAt(p) !== EQ) throw new TomlScanError('expected = after a key', p);
      const valueStart = skipWs(text, p + 1);
      const valueEnd = scanValue(text, valueStart);
      const nl = text.indexOf('\n', valueStart);
      items.push({
        kind: 'row', start, end: finishLine(text, valueEnd), key: key.parts, table, inArrayTable,
        indent: text.slice(start, pos), valueStart, valueEnd, multiline: nl >= 0 && nl < valueEnd,
      });
    }
    pos = items[items.length - 1]!.end;
  }
  const endsWithNewline = text.length === bom || text.endsWith('\n');
  return { items, bom, newline, endsWithNewline };
}

/** Does the comment line match `sticky` (a regex with the y flag) at its `#`? */
export function commentMatches(text: string, line: CommentLine, sticky: RegExp): boolean {
  sticky.lastIndex = line.hash;
  return sticky.test(text);
}

/** Offset of the end of a line's content: `end` (a line's end offset) without its LF or CRLF. */
export function lineContentEnd(text: string, end: number): number {
  if (text.charCodeAt(end - 1) === LF) end--;
  if (text.charCodeAt(end - 1) === CR) end--;
  return end;
}

export function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}
