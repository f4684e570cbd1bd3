/**
 * Applies one config edit to TOML text by splicing lines, so that everything the edit does not
 * concern stays byte-identical. Returns null for shapes it does not handle (arrays of tables,
 * multi-line values, tables defined by dotted keys, ...); the writer then uses dt.patch() for that
 * edit. The result is always verified by the caller, so "null" and "verify fails" are both safe.
 */
import { parse } from 'smol-toml';
import { getAt, isTable, describePath, type ConfigOp, type ConfigPath, type Table } from './config-diff.js';
import { formatKey, formatKeyPath, kindsOf, renderValue, styleOf, type KindAt, type NumberKind } from './toml-literal.js';
import { CHANGE_NOTE } from './toml-notes.js';
import { commentMatches, isPrefix, lineContentEnd, type KeyRow, type ScanItem, type TomlScan } from './toml-scan.js';
import type { KindCheck } from './toml-verify.js';
import { sectionsOf, type Section, type Sections } from './toml-sections.js';

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
const REMOVED_NOTE = /#\s*Removed: /y;
/** The "# Removed" notes daqd leaves for each noted parent (a module's note names it a module). */
const REMOVED_CHILD_NOTE = new Map<string, RegExp>([
  ['modules', /#\s*Removed: module \S+ at /y],
  ['instruments', /#\s*Removed: (?!module \S+ at )\S+ at /y],
]);

const isEmptyTable = (value: unknown) => isTable(value) && Object.keys(value).every((k) => value[k] === undefined);

interface Index extends Sections {
  scan: TomlScan;
  text: string;
}

function buildIndex(text: string, scan: TomlScan): Index {
  return { scan, text, ...sectionsOf(scan) };
}

const itemAt = <T>(ix: Index, i: number) => ix.scan.items[i] as T;

function keyEquals(key: readonly string[], path: readonly string[], from: number): boolean {
  if (key.length !== path.length - from) return false;
  for (let i = 0; i < key.length; i++) if (key[i] !== path[from + i]) return false;
  return true;
}

/** Sections (root included) whose rows can define keys under `path`: those whose header is a proper prefix. */
function ownersOf(ix: Index, path: ConfigPath): Section[] {
  const owners = [ix.root];
  for (const s of ix.sections) if (!s.arrayTable && s.path.length < path.length && isPrefix(s.path, path)) owners.push(s);
  return owners;
}

/** The row whose full path (header + dotted key) is exactly `path`. */
function findRow(ix: Index, path: ConfigPath): number | undefined {
  for (const s of ownersOf(ix, path)) {
    for (let i = s.item + 1; i < s.end; i++) {
      const item = ix.scan.items[i]!;
      if (item.kind === 'row' && !item.inArrayTable && keyEquals(item.key, path, s.path.length)) return i;
    }
  }
  return undefined;
}

/** Rows outside sections under `path` whose full path lies under `path` (dotted keys like `params.x = 1`). */
function rowsUnder(ix: Index, path: ConfigPath): number[] {
  const found: number[] = [];
  for (const s of ownersOf(ix, path)) {
    for (let i = s.item + 1; i < s.end; i++) {
      const item = ix.scan.items[i]!;
      if (item.kind === 'row' && !item.inArrayTable && isPrefix(path.slice(s.path.length), item.key)) found.push(i);
    }
  }
  return found;
}

function coveringRow(ix: Index, path: ConfigPath): { item: number; length: number } | undefined {
  for (let length = path.length; length >= 1; length--) {
    const item = findRow(ix, path.slice(0, length));
    if (item !== undefined) return { item, length };
  }
  return undefined;
}

const isNote = (ix: Index, item: ScanItem | undefined, note: RegExp) => item?.kind === 'comment' && commentMatches(ix.text, item, note);

function underArrayTable(ix: Index, path: ConfigPath): boolean {
  return ix.sections.some((s) => s.arrayTable && isPrefix(s.path, path));
}

/** Item index of the last key/value row of a section (its header if it has none). */
function lastRowItem(ix: Index, section: Section): number {
  for (let i = section.end - 1; i > section.item; i--) if (ix.scan.items[i]!.kind === 'row') return i;
  return section.item;
}

/** Offset just past the last key/value row of a section (its header line if it has none). */
function lastRowEnd(ix: Index, section: Section): { end: number; indent: string } {
  const item = ix.scan.items[lastRowItem(ix, section)]!;
  return { end: item.end, indent: item.kind === 'row' ? item.indent : '' };
}

/**
 * Where a new table goes after `section`: past its last row and the section's trailing comments,
 * the comment lines directly under that row (no blank line between), so a note a person wrote
 * under a table stays under it. A comment block that runs straight into the next header (no blank
 * line before the header either) belongs to that header and stays with it; a comment separated
 * from the last row by a blank line (a divider like `# --- Modules ---`) belongs to what follows.
 */
function afterSection(ix: Index, section: Section): number {
  const { items } = ix.scan;
  const last = lastRowItem(ix, section);
  let end = last;
  while (items[end + 1]?.kind === 'comment') end++;
  if (end > last && items[end + 1]?.kind === 'header') end = last;
  return items[end]!.end;
}

/** Index of the first comment line directly above item `i` (no blank between), or `i` itself. */
function attachedCommentsStart(ix: Index, i: number): number {
  let j = i;
  while (j > 0) {
    const above = ix.scan.items[j - 1]!;
    if (above.kind !== 'comment' || isNote(ix, above, REMOVED_NOTE)) break;
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
  // One change record per key: it replaces an earlier daqd note right above rather than stacking.
  const was = oldLiteral.length > 80 ? `${oldLiteral.slice(0, 77)}...` : oldLiteral;
  const note = `${row.indent}# daqd: set ${ctx.timestamp} (was ${was})`;
  const above = ix.scan.items[itemIndex - 1];
  // Both edits in one concatenation of the original (slicing an edited text would copy it whole).
  const { text: t } = ix;
  const line = t.slice(row.start, row.valueStart) + literal + t.slice(row.valueEnd, row.end);
  const text = above?.kind === 'comment' && isNote(ix, above, CHANGE_NOTE)
    ? t.slice(0, above.start) + note + t.slice(lineContentEnd(t, above.end), row.start) + line + t.slice(row.end)
    : t.slice(0, row.start) + note + ix.scan.newline + line + t.slice(row.end);
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
    // An empty top-level table reads back the same as none: never write a header a person did not.
    if (parent.length === 0 && isEmptyTable(value)) return { text: ix.text, kindChecks: [] };
    // After the last section that belongs to the parent; a new top-level table where its family was.
    const family = ix.sections.filter((s) => isPrefix(parent, s.path));
    const last = family[family.length - 1];
    let at: number;
    if (parent.length === 0) at = firstOfFamilyAt(ix, key);
    else if (last) at = afterSection(ix, last);
    // A top-level table whose last child was removed: the file holds nothing under it any more.
    else if (parent.length === 1 && rowsUnder(ix, parent).length === 0) at = firstOfFamilyAt(ix, parent[0]!);
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
  const own = ix.sections.find((s) => !s.arrayTable && s.path.length === parent.length && isPrefix(s.path, parent));
  if (!own) return null;
  const { end, indent } = lastRowEnd(ix, own);
  return { text: insertLines(ix, end, [indent + row]), kindChecks };
}

/**
 * Where the first table under top-level key `top` goes when the file has none: right after daqd's
 * last "# Removed" note for that key (where its tables were), if only comments and blank lines
 * lie between the note and the next header; otherwise after the last section of the file.
 */
function firstOfFamilyAt(ix: Index, top: string): number {
  const { items } = ix.scan;
  const note = REMOVED_CHILD_NOTE.get(top);
  for (let i = items.length - 1; note && i >= 0; i--) {
    if (!isNote(ix, items[i], note)) continue;
    let j = i + 1;
    while (items[j]?.kind === 'blank' || items[j]?.kind === 'comment') j++;
    if (j === items.length || items[j]!.kind === 'header') return items[i]!.end;
  }
  const last = ix.sections[ix.sections.length - 1];
  return last ? afterSection(ix, last) : lastRootRowEnd(ix) ?? ix.text.length;
}

function lastRootRowEnd(ix: Index): number | undefined {
  const stop = ix.sections[0]?.item ?? ix.scan.items.length;
  for (let i = stop - 1; i >= 0; i--) {
    const item = ix.scan.items[i]!;
    if (item.kind === 'row') return item.end;
  }
  return undefined;
}

interface ItemRange { first: number; last: number; primary: boolean; section: boolean }

function removeOp(ix: Index, path: ConfigPath, before: unknown, after: Table, ctx: SpliceContext): SpliceResult | null {
  const parent = path.slice(0, -1);
  const inline = coveringRow(ix, parent);
  if (inline) return rewriteRow(ix, inline.item, parent.slice(0, inline.length), after, ctx);
  if (ix.sections.some((s) => s.arrayTable && isPrefix(s.path, path) && s.path.length < path.length)) return null;

  const ranges: ItemRange[] = [];
  const { items } = ix.scan;
  const rowRange = (i: number): ItemRange => {
    const above = items[i - 1];
    const first = isNote(ix, above, CHANGE_NOTE) ? i - 1 : i;
    return { first, last: i, primary: false, section: false };
  };
  const exact = findRow(ix, path);
  if (exact !== undefined) {
    ranges.push(rowRange(exact));
  } else {
    for (const s of ix.sections) {
      if (!isPrefix(path, s.path)) continue;
      let last = s.item;
      for (let i = s.end - 1; i > s.item; i--) if (items[i]!.kind === 'row') { last = i; break; }
      ranges.push({ first: attachedCommentsStart(ix, s.item), last, primary: s.path.length === path.length && !s.arrayTable, section: true });
    }
    // Dotted keys (`params.x = 1`) outside the removed sections.
    for (const i of rowsUnder(ix, path)) ranges.push(rowRange(i));
  }
  // An empty table the file never held (an emptied top-level table reads back as absent): nothing to do.
  if (ranges.length === 0) return isEmptyTable(before) ? { text: ix.text, kindChecks: [] } : null;
  ranges.sort((a, b) => a.first - b.first);

  const noted = path.length === 2 && NOTED_PARENTS.has(path[0]!);
  const id = path[1]!;
  const lines: string[] = [];
  if (noted) lines.push(`# Removed: ${path[0] === 'modules' ? 'module ' : ''}${id} at ${ctx.timestamp}`);
  // An emptied top-level table (the last instrument or module gone) reads back as absent, so no
  // header is written for it. An emptied sub-table stays in the file, as the model keeps it (a
  // reload would otherwise see `params = {}` turn into no params): usually its own header is
  // still there; if only the removed part defined it, it is written where that part was.
  if (parent.length > 1 && parentEmptied(ix, path, parent, after)) {
    const sectionFirst = ranges.findIndex((r) => r.section);
    if (sectionFirst >= 0) {
      lines.push(`[${formatKeyPath(parent)}]`);
      if (!ranges.some((r) => r.primary)) ranges[sectionFirst]!.primary = true;
    } else {
      // Only dotted rows (`params.gain = 1`) defined it: an empty inline table in their place, since a
      // header there would capture the rows after it.
      const row = items[ranges[0]!.last] as KeyRow;
      lines.push(`${row.indent}${formatKeyPath(parent.slice(row.table.length))} = {}`);
    }
  }
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
  return rowsUnder(ix, parent).every((i) => {
    const row = ix.scan.items[i] as KeyRow;
    return isPrefix(path, [...row.table, ...row.key]);
  });
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
  return removeOp(ix, op.path, op.before, after, ctx);
}

