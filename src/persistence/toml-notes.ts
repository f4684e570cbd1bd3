/**
 * The notes daqd leaves in a person's file, and the rules that keep them few and true
 * (docs/persistence.md, "Notes"):
 *
 * - `# daqd: set <time> (was X)` sits directly above a value daqd set. It is kept only while it
 *   stands above the value daqd itself last wrote there. Before a change is rendered, each such
 *   note is looked up in the text daqd last wrote (`ownText`): a note that text did not have,
 *   directly above the same key holding the same value literal, is dropped (a person changed the
 *   value by hand, moved or deleted its line, or wrote the note themselves).
 * - `# Removed: <id> at <time>` (`# Removed: module <id> at <time>` for a module): none for an id
 *   that exists (it was added back), at most one per id (removing an id again replaces its old
 *   note), and at most MAX_REMOVED_NOTES in the file, the oldest dropped first.
 *
 * Tidying only deletes comment lines, so it never changes what the file holds; the writer still
 * verifies every result it returns. Only notes in daqd's exact format are touched, never a
 * person's own comment that happens to start the same way.
 */
import { isTable } from './config-diff.js';
import { commentMatches, lineContentEnd, scanToml, TomlScanError, type CommentLine, type KeyRow, type ScanItem, type TomlScan } from './toml-scan.js';

/** The most `# Removed` notes (instruments and modules together) a file keeps. */
export const MAX_REMOVED_NOTES = 20;

/** Start of a `# daqd: set` change record (sticky: matched at a comment's `#`). */
export const CHANGE_NOTE = /#\s*daqd: set /y;

const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`;
/** A whole `# Removed` comment as daqd writes it (from the `#` to the end of the line's content). */
const REMOVED_NOTE_LINE = new RegExp(String.raw`^#[ \t]*Removed: (module )?(\S+) at (${TIME})[ \t]*$`);
/** The same over a whole text, to decide cheaply whether a scan is needed at all. */
const REMOVED_NOTE_ANYWHERE = new RegExp(String.raw`^[ \t]*#[ \t]*Removed: (module )?(\S+) at ${TIME}[ \t]*\r?$`, 'gm');

/** The top-level tables whose children get "# Removed" notes. */
export type NotedTop = 'instruments' | 'modules';

interface RemovedNote {
  item: number;
  top: NotedTop;
  id: string;
  /** Its timestamp (ISO-8601 UTC to the second: sorts as text). */
  at: string;
}

/** Is `id` a table under `top` in `model`? Own keys only: an id may be any name, `constructor` too. */
export function hasTableAt(model: unknown, top: NotedTop, id: string): boolean {
  if (!isTable(model) || !Object.hasOwn(model, top)) return false;
  const table = model[top];
  return isTable(table) && Object.hasOwn(table, id) && table[id] !== undefined;
}

function scanOrUndefined(text: string): TomlScan | undefined {
  try {
    return scanToml(text);
  } catch (err) {
    if (err instanceof TomlScanError) return undefined; // not ours to judge: leave every note
    throw err;
  }
}

function commentText(text: string, line: CommentLine): string {
  return text.slice(line.hash, lineContentEnd(text, line.end)).trimEnd();
}

function removedNoteAt(text: string, items: readonly ScanItem[], i: number): RemovedNote | undefined {
  const item = items[i];
  if (item?.kind !== 'comment') return undefined;
  const m = REMOVED_NOTE_LINE.exec(commentText(text, item));
  if (!m) return undefined;
  return { item: i, top: m[1] ? 'modules' : 'instruments', id: m[2]!, at: m[3]! };
}

function removedNotes(text: string, scan: TomlScan): RemovedNote[] {
  const notes: RemovedNote[] = [];
  for (let i = 0; i < scan.items.length; i++) {
    const note = removedNoteAt(text, scan.items, i);
    if (note) notes.push(note);
  }
  return notes;
}

/** A `# daqd: set` note and the row under it, as one comparable string. */
function setNoteSignature(text: string, note: CommentLine, row: KeyRow): string {
  return JSON.stringify([[...row.table, ...row.key], commentText(text, note), text.slice(row.valueStart, row.valueEnd)]);
}

function isSetNote(text: string, item: ScanItem | undefined): item is CommentLine {
  return item?.kind === 'comment' && commentMatches(text, item, CHANGE_NOTE);
}

/** The set notes of daqd's own last text, each with the key and value literal it stood above. */
function ownSetNotes(ownText: string): Set<string> | undefined {
  const scan = scanOrUndefined(ownText);
  if (!scan) return undefined;
  const own = new Set<string>();
  scan.items.forEach((item, i) => {
    const row = scan.items[i + 1];
    if (isSetNote(ownText, item) && row?.kind === 'row') own.add(setNoteSignature(ownText, item, row));
  });
  return own;
}

/** Item indices of the `# daqd: set` notes in `text` that do not stand above what daqd last wrote. */
function staleSetNotes(text: string, scan: TomlScan, ownText: string): number[] {
  const own = ownSetNotes(ownText);
  if (!own) return [];
  const stale: number[] = [];
  scan.items.forEach((item, i) => {
    if (!isSetNote(text, item)) return;
    const row = scan.items[i + 1];
    if (row?.kind !== 'row' || !own.has(setNoteSignature(text, item, row))) stale.push(i);
  });
  return stale;
}

/**
 * Deletes whole lines (scan item indices), keeping the blank-line rhythm: a run of deleted lines
 * with a blank line (or the start of the file) above it takes the blank lines below it along, or
 * at the end of the file the blank lines above it, so that no double gap is left behind.
 */
export function deleteLines(text: string, scan: TomlScan, doomed: readonly number[]): string {
  const { items } = scan;
  const sorted = [...new Set(doomed)].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (let k = 0; k < sorted.length; k++) {
    let first = sorted[k]!;
    let last = first;
    while (sorted[k + 1] === last + 1) last = sorted[++k]!;
    if (first === 0 || items[first - 1]!.kind === 'blank') {
      let after = last;
      while (items[after + 1]?.kind === 'blank') after++;
      if (after > last) last = after;
      else if (last === items.length - 1) while (first > 0 && items[first - 1]!.kind === 'blank') first--;
    }
    const previous = ranges[ranges.length - 1];
    // Ranges that meet (one took the blank lines up to the next) are deleted as one.
    if (previous && first <= previous[1] + 1) {
      previous[0] = Math.min(previous[0], first);
      previous[1] = Math.max(previous[1], last);
    } else {
      ranges.push([first, last]);
    }
  }
  let out = text;
  for (let r = ranges.length - 1; r >= 0; r--) {
    const [first, last] = ranges[r]!;
    out = out.slice(0, items[first]!.start) + out.slice(items[last]!.end);
  }
  return out;
}

/** Does any `# Removed` note in `text` (by a cheap line match) satisfy `wanted`? */
function anyRemovedNote(text: string, wanted: (top: NotedTop, id: string) => boolean): boolean {
  if (!text.includes('Removed: ')) return false;
  for (const m of text.matchAll(REMOVED_NOTE_ANYWHERE)) if (wanted(m[1] ? 'modules' : 'instruments', m[2]!)) return true;
  return false;
}

/**
 * Before a change from `prev` to `next` is spliced into `text`: drops the `# daqd: set` notes that
 * no longer stand above the value daqd wrote (when `ownText`, daqd's own last text, is known and
 * differs), and the `# Removed` notes of ids that exist before or after the change (added back, or
 * removed again: the change writes that id's one fresh note).
 */
export function tidyNotesBefore(text: string, prev: unknown, next: unknown, ownText: string | undefined): string {
  const known = (top: NotedTop, id: string) => hasTableAt(prev, top, id) || hasTableAt(next, top, id);
  // Equal texts: no person's edit since daqd's own write, so every set note is daqd's and true.
  const setNotesBase = ownText !== undefined && ownText !== text && text.includes('daqd: set') ? ownText : undefined;
  const checkRemoved = anyRemovedNote(text, known);
  if (setNotesBase === undefined && !checkRemoved) return text;
  const scan = scanOrUndefined(text);
  if (!scan) return text;
  const doomed = setNotesBase === undefined ? [] : staleSetNotes(text, scan, setNotesBase);
  if (checkRemoved) for (const note of removedNotes(text, scan)) if (known(note.top, note.id)) doomed.push(note.item);
  return doomed.length > 0 ? deleteLines(text, scan, doomed) : text;
}

/**
 * After a change: keeps the newest MAX_REMOVED_NOTES `# Removed` notes. Newest by timestamp, the
 * later line winning a tie, and the notes this change wrote (`fresh`) always count as newer than
 * the others, so a clock set back never drops the note just written.
 */
export function boundRemovedNotes(text: string, fresh: (top: NotedTop, id: string) => boolean): string {
  if (!text.includes('Removed: ') || (text.match(REMOVED_NOTE_ANYWHERE)?.length ?? 0) <= MAX_REMOVED_NOTES) return text;
  const scan = scanOrUndefined(text);
  if (!scan) return text;
  const notes = removedNotes(text, scan);
  if (notes.length <= MAX_REMOVED_NOTES) return text;
  const rank = (n: RemovedNote) => (fresh(n.top, n.id) ? 1 : 0);
  notes.sort((a, b) => rank(a) - rank(b) || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0) || a.item - b.item);
  return deleteLines(text, scan, notes.slice(0, notes.length - MAX_REMOVED_NOTES).map((n) => n.item));
}
