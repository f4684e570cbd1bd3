/**
 * Applies one config edit to TOML text by splicing lines, so that everything the edit does not
 * concern stays byte-identical. Returns null for shapes it does not handle (arrays of tables,
 * multi-line values, tables defined by dotted keys, ...); the writer then uses dt.patch() for that
 * edit. The result is always verified by the caller, so "null" and "verify fails" are both safe.
 */
import { parse } from 'smol-toml';
import { getAt, isTable, describePath, type ConfigOp, type ConfigPath, type Table } from './config-diff.js';
import { formatKey, formatKeyPath, kindsOf, renderValue, styleOf, type KindAt, type NumberKind } from './toml-literal.js';
import { isPrefix, type KeyRow, type TomlScan } from './toml-scan.js';
import type { KindCheck } from './toml-verify.js';

export interface SpliceContext {
  /** ISO-8601 UTC timestamp without milliseconds, for the comments the writer leaves. */
  timestamp: string;
  numberKind?: (path: string[]) => NumberKind | undefined;
}

export interface SpliceResult {
  text: string;
  kindChecks: KindCheck[];
}

/** Tables whose direct children get "Added dynamically" / "Removed" notes. */
const NOTED_PARENTS = new Set(['instruments', 'modules']);
const CHANGE_NOTE = /^#\s*daqd: set /;
const REMOVED_NOTE = /^#\s*Removed: /;

interface Section { item: number; path: string[]; arrayTable: boolean; /** first item index after the section */ end: number }

interface Index {
  scan: TomlScan;
  text: string;
  rows: Map<string, number>;
  sections: Section[];
}

const pathKey = (path: readonly string[]) => path.join('\u0000');

function buildIndex(text: string, scan: TomlScan): Index {
  const rows = new Map<string, number>();
  const sections: Section[] = [];
  scan.items.forEach((item, i) => {
    if (item.kind === 'header') {
      const last = sections[sections.length - 1];
      if (last) last.end = i;
      sections.push({ item: i, path: item.path, arrayTable: item.arrayTable, end: scan.items.length });
    } else if (item.kind === 'row' && !item.inArrayTable) {
      rows.set(pathKey([...item.table, ...item.key]), i);
    }
  });
  return { scan, text, rows, sections };
}

const itemAt = <T>(ix: Index, i: number) => ix.scan.items[i] as T;

function coveringRow(ix: Index, path: ConfigPath): { item: number; length: number } | undefined {
  for (let length = path.length; length >= 1; length--) {
    const item = ix.rows.get(pathKey(path.slice(0, length)));
    if (item !== undefined) return { item, length };
  }
  return undefined;
}

function underArrayTable(ix: Index, path: ConfigPath): boolean {
  return ix.sections.some((s) => s.arrayTable && isPrefix(s.path, path));
}

/** Offset just past the last key/value row of a section (its header line if it has none). */
function lastRowEnd(ix: Index, section: Section): { end: number; indent: string } {
  for (let i = section.end - 1; i > section.item; i--) {
    const item = ix.scan.items[i]!;
    if (item.kind === 'row') return { end: item.end, indent: item.indent };
  }
  return { end: ix.scan.items[section.item]!.end, indent: '' };
}

/** Index of the first comment line directly above item `i` (no blank between), or `i` itself. */
function attachedCommentsStart(ix: Index, i: number): number {
  let j = i;
  while (j > 0) {
    const above = ix.scan.items[j - 1]!;
    if (above.kind !== 'comment' || REMOVED_NOTE.test(above.text)) break;
    j--;
  }
  return j;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** Inserts whole lines at a line boundary, keeping a missing final newline missing. */
function insertLines(ix: Index, at: number, lines: string[]): string {
  const { text, scan } = ix;
  const nl = scan.newline;
  if (at >= text.length && !scan.endsWithNewline) return text + nl + lines.join(nl);
  const body = at <= scan.bom && lines[0] === '' ? lines.slice(1) : lines;
  return splice(text, at, at, body.join(nl) + nl);
}

function lineContentEnd(text: string, end: number): number {
  if (text.charCodeAt(end - 1) === 10) end--;
  if (text.charCodeAt(end - 1) === 13) end--;
  return end;
}

const stringsOnly = (sub: readonly (string | number)[]) => {
  const keys: string[] = [];
  for (const k of sub) { if (typeof k !== 'string') break; keys.push(k); }
  return keys;
};

function newValueKinds(path: ConfigPath, ctx: SpliceContext): KindAt {
  return (sub) => ctx.numberKind?.([...path, ...stringsOnly(sub)]);
}

function parseLiteral(literal: string): unknown {
  try {
    return (parse(`v = ${literal}`, { integersAsBigInt: true }) as Table).v;
  } catch {
    return undefined;
  }
}

/** Replace a row's value with the value at its path in `after`, keeping kinds and the inline comment. */
function rewriteRow(ix: Index, itemIndex: number, rowPath: ConfigPath, after: Table, ctx: SpliceContext): SpliceResult | null {
  const row = itemAt<KeyRow>(ix, itemIndex);
  if (row.multiline) return null;
  const oldLiteral = ix.text.slice(row.valueStart, row.valueEnd);
  const oldKinds = kindsOf(parseLiteral(oldLiteral));
  const fresh = newValueKinds(rowPath, ctx);
  const kindAt: KindAt = (sub) => oldKinds(sub) ?? fresh(sub);
  const literal = renderValue(getAt(after, rowPath), describePath(rowPath), kindAt, styleOf(oldLiteral));
  let text = splice(ix.text, row.valueStart, row.valueEnd, literal);
  // One change record per key: it replaces an earlier daqd note right above rather than stacking.
  const was = oldLiteral.length > 80 ? `${oldLiteral.slice(0, 77)}...` : oldLiteral;
  const note = `${row.indent}# daqd: set ${ctx.timestamp} (was ${was})`;
  const above = ix.scan.items[itemIndex - 1];
  if (above?.kind === 'comment' && CHANGE_NOTE.test(above.text)) {
    text = splice(text, above.start, lineContentEnd(ix.text, above.end), note);
  } else {
    text = splice(text, row.start, row.start, note + ix.scan.newline);
  }
  return { text, kindChecks: [{ path: rowPath, kindAt }] };
}

/** `[path]` sections for a new table, sub-tables as their own sections, scalars as rows. */
function sectionLines(path: string[], table: Table, ctx: SpliceContext, lines: string[]): void {
  const entries = Object.entries(table).filter(([, v]) => v !== undefined);
  const scalars = entries.filter(([, v]) => !isTable(v));
  const tables = entries.filter(([, v]) => isTable(v)) as [string, Table][];
  const noted = path.length === 2 && NOTED_PARENTS.has(path[0]!);
  // A table holding only sub-tables needs no header of its own: theirs create it.
  if (noted || scalars.length > 0 || tables.length === 0) {
    lines.push('');
    if (noted) lines.push(`# Added dynamically: ${ctx.timestamp}`);
    lines.push(`[${formatKeyPath(path)}]`);
    for (const [key, value] of scalars) {
      const keyPath = [...path, key];
      lines.push(`${formatKey(key)} = ${renderValue(value, describePath(keyPath), newValueKinds(keyPath, ctx))}`);
    }
  }
  for (const [key, value] of tables) sectionLines([...path, key], value, ctx, lines);
}

function addOp(ix: Index, path: ConfigPath, value: unknown, after: Table, ctx: SpliceContext): SpliceResult | null {
  const parent = path.slice(0, -1);
  const key = path[path.length - 1]!;
  const inline = coveringRow(ix, parent);
  if (inline) return rewriteRow(ix, inline.item, parent.slice(0, inline.length), after, ctx);
  const kindChecks = [{ path, kindAt: newValueKinds(path, ctx) }];

  if (isTable(value)) {
    // After the last section that belongs to the parent (for the root: the last section of all).
    const family = ix.sections.filter((s) => isPrefix(parent, s.path));
    const last = family[family.length - 1];
    let at: number;
    if (last) at = lastRowEnd(ix, last).end;
    else if (parent.length === 0) at = lastRootRowEnd(ix) ?? ix.text.length;
    else return null; // parent defined only by dotted keys or implicitly: let dt.patch decide
    const lines: string[] = [];
    sectionLines([...path], value, ctx, lines);
    return { text: insertLines(ix, at, lines), kindChecks };
  }

  const row = `${formatKey(key)} = ${renderValue(value, describePath(path), newValueKinds(path, ctx))}`;
  if (parent.length === 0) {
    const rootEnd = lastRootRowEnd(ix);
    if (rootEnd !== undefined) return { text: insertLines(ix, rootEnd, [row]), kindChecks };
    const first = ix.sections[0];
    if (!first) return { text: insertLines(ix, ix.text.length, [row]), kindChecks };
    const at = ix.scan.items[attachedCommentsStart(ix, first.item)]!.start;
    return { text: insertLines(ix, at, [row, '']), kindChecks };
  }
  const own = ix.sections.find((s) => !s.arrayTable && pathKey(s.path) === pathKey(parent));
  if (!own) return null;
  const { end, indent } = lastRowEnd(ix, own);
  return { text: insertLines(ix, end, [indent + row]), kindChecks };
}

function lastRootRowEnd(ix: Index): number | undefined {
  const stop = ix.sections[0]?.item ?? ix.scan.items.length;
  for (let i = stop - 1; i >= 0; i--) {
    const item = ix.scan.items[i]!;
    if (item.kind === 'row') return item.end;
  }
  return undefined;
}

interface ItemRange { first: number; last: number; primary: boolean }

function removeOp(ix: Index, path: ConfigPath, after: Table, ctx: SpliceContext): SpliceResult | null {
  const parent = path.slice(0, -1);
  const inline = coveringRow(ix, parent);
  if (inline) return rewriteRow(ix, inline.item, parent.slice(0, inline.length), after, ctx);
  if (ix.sections.some((s) => s.arrayTable && isPrefix(s.path, path) && s.path.length < path.length)) return null;

  const ranges: ItemRange[] = [];
  const { items } = ix.scan;
  const rowRange = (i: number): ItemRange => {
    const above = items[i - 1];
    const first = above?.kind === 'comment' && CHANGE_NOTE.test(above.text) ? i - 1 : i;
    return { first, last: i, primary: false };
  };
  const exact = ix.rows.get(pathKey(path));
  if (exact !== undefined) {
    ranges.push(rowRange(exact));
  } else {
    for (const s of ix.sections) {
      if (!isPrefix(path, s.path)) continue;
      let last = s.item;
      for (let i = s.end - 1; i > s.item; i--) if (items[i]!.kind === 'row') { last = i; break; }
      ranges.push({ first: attachedCommentsStart(ix, s.item), last, primary: s.path.length === path.length && !s.arrayTable });
    }
    // Dotted keys (`params.x = 1`) outside the removed sections.
    for (const [key, i] of ix.rows) {
      const row = items[i] as KeyRow;
      if (isPrefix(path, row.table)) continue;
      if (key.startsWith(pathKey(path) + '\u0000')) ranges.push(rowRange(i));
    }
  }
  if (ranges.length === 0) return null;
  ranges.sort((a, b) => a.first - b.first);

  const noted = path.length === 2 && NOTED_PARENTS.has(path[0]!);
  const id = path[1]!;
  const lines: string[] = [];
  if (noted) lines.push(`# Removed: ${path[0] === 'modules' ? 'module ' : ''}${id} at ${ctx.timestamp}`);
  // The last instrument or module gone: the model still has the (now empty) table, so the file must too.
  if (parent.length > 0 && parentEmptied(ix, path, parent, after)) lines.push(`[${formatKeyPath(parent)}]`);
  const note = lines.length > 0 ? lines.join(ix.scan.newline) : undefined;
  if (note && !ranges.some((r) => r.primary)) ranges[0]!.primary = true;

  let text = ix.text;
  for (let r = ranges.length - 1; r >= 0; r--) {
    const range = ranges[r]!;
    let { first, last } = range;
    const lastItem = items[last]!;
    if (note && range.primary) {
      const atEofWithoutNewline = lastItem.end === ix.text.length && !ix.scan.endsWithNewline;
      text = splice(text, items[first]!.start, lastItem.end, note + (atEofWithoutNewline ? '' : ix.scan.newline));
      continue;
    }
    // Keep the blank-line rhythm: swallow the blank lines after the block (or before it at the end
    // of the file) so that removing a section does not leave a double gap.
    const blankBefore = first === 0 || items[first - 1]!.kind === 'blank';
    if (blankBefore) {
      let after = last;
      while (items[after + 1]?.kind === 'blank') after++;
      if (after > last) last = after;
      else if (last === items.length - 1) while (first > 0 && items[first - 1]!.kind === 'blank') first--;
    }
    text = splice(text, items[first]!.start, items[last]!.end, '');
  }
  return { text, kindChecks: [] };
}

/** Removing `path` leaves its parent empty in the model and nothing else in the file defines it. */
function parentEmptied(ix: Index, path: ConfigPath, parent: ConfigPath, after: Table): boolean {
  const value = getAt(after, parent);
  if (!isTable(value) || Object.keys(value).some((k) => value[k] !== undefined)) return false;
  if (ix.sections.some((s) => isPrefix(parent, s.path) && !isPrefix(path, s.path))) return false;
  for (const i of ix.rows.values()) {
    const row = ix.scan.items[i] as KeyRow;
    const full = [...row.table, ...row.key];
    if (isPrefix(parent, full) && !isPrefix(path, full)) return false;
  }
  return true;
}

function setOp(ix: Index, path: ConfigPath, after: Table, ctx: SpliceContext): SpliceResult | null {
  const row = coveringRow(ix, path);
  if (!row) return null;
  return rewriteRow(ix, row.item, path.slice(0, row.length), after, ctx);
}

/** Applies `op` (whose result model is `after`) to `text`; null when this shape needs dt.patch. */
export function spliceOp(text: string, scan: TomlScan, op: ConfigOp, after: Table, ctx: SpliceContext): SpliceResult | null {
  if (op.path.length === 0) return null;
  const ix = buildIndex(text, scan);
  if (op.kind !== 'remove' && underArrayTable(ix, op.path)) return null;
  if (op.kind === 'set') return setOp(ix, op.path, after, ctx);
  if (op.kind === 'add') return addOp(ix, op.path, op.value, after, ctx);
  return removeOp(ix, op.path, after, ctx);
}

