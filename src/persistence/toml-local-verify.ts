/**
 * Verifies an edit of a known text (toml-known.ts) by looking only at the lines it changed, so a
 * persisted change costs about the size of the change rather than a re-parse of the whole file.
 *
 * It either proves what a full verification (whyNotExactly) would conclude, that the new text
 * reads back as exactly `next` with the number kinds the writer wanted, or gives up (undefined)
 * and the caller runs the full verification, whose verdict and message then stand. It never
 * refuses on its own. The proof, for old text B (known to read back as `prev`) and new text N:
 *
 * 1. B and N differ in one line-aligned region (toml-region.ts): old items O, new lines M.
 * 2. M scans, and parses on its own under the header in effect where it starts: it is valid TOML
 *    that ends on a statement boundary, so the rest of N is read as in B. The rows after the
 *    region still read in the same table (else it gives up).
 * 3. Nothing M defines collides with anything the rest of the file (B without O) touches: looked
 *    up in B's touch index minus O's touches (toml-touches.ts); any doubt gives up. Removing
 *    whole statements from a valid file leaves it valid (every TOML conflict is between two).
 * 4. Below the common prefix q of every path O, M or the change touches, the expected reading
 *    (prev's subtree, minus what only O defined, plus M's parse) equals next's; outside q the file
 *    and the change leave everything as it was; the tables on the way to q still exist.
 * 5. The number kinds the splicer asked for hold in M's parse (whose subtree nobody else touches).
 *
 * Arrays of tables are not modelled: a file with any gives up (the full verification runs).
 */
import { getAt, isTable, sameValue, type ConfigOp, type Table } from './config-diff.js';
import { indexOf, type KnownDoc, type LocalEdit } from './toml-known.js';
import { formatKeyPath } from './toml-literal.js';
import { changedRegion } from './toml-region.js';
import { isPrefix, scanToml, type ScanItem } from './toml-scan.js';
import { countTouches, Mode, pathKey, touchesOf, type ModeCounts, type Touch } from './toml-touches.js';
import { kindMismatch, parseExact, type KindCheck } from './toml-verify.js';

/** Index of the first item ending after `offset` (items cover the text without gaps). */
function itemAt(items: readonly ScanItem[], offset: number): number {
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]!.end > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The table rows read in after `items`, starting in `table`. */
function tableAfter(items: readonly ScanItem[], table: readonly string[]): readonly string[] {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (item.kind === 'header') return item.path;
  }
  return table;
}

const samePath = (a: readonly string[], b: readonly string[]) => a.length === b.length && isPrefix(a, b);

function commonPrefix(paths: Iterable<readonly string[]>): string[] | undefined {
  let q: string[] | undefined;
  for (const path of paths) {
    if (!q) { q = [...path]; continue; }
    let k = 0;
    while (k < q.length && k < path.length && q[k] === path[k]) k++;
    q.length = k;
  }
  return q;
}

/** Copies the tables of a subtree (leaves shared), so deleting and merging into it is safe. */
function copyTables(value: unknown): unknown {
  if (!isTable(value)) return value;
  const out: Table = {};
  for (const key of Object.keys(value)) {
    if (value[key] === undefined) continue;
    Object.defineProperty(out, key, { value: copyTables(value[key]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function deleteAt(root: unknown, rel: readonly string[]): void {
  let node = root;
  for (let k = 0; k < rel.length - 1; k++) {
    if (!isTable(node) || !Object.hasOwn(node, rel[k]!)) return;
    node = node[rel[k]!];
  }
  if (isTable(node)) delete node[rel[rel.length - 1]!];
}

/** `add` (a fresh parse) merged into `base` (fresh tables): tables key by key, anything else replaced. */
function merge(base: unknown, add: unknown): unknown {
  if (!isTable(base) || !isTable(add)) return add;
  for (const key of Object.keys(add)) {
    const merged = merge(Object.hasOwn(base, key) ? base[key] : undefined, add[key]);
    Object.defineProperty(base, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return base;
}

const isEmptyTable = (v: unknown) => isTable(v) && Object.keys(v).every((k) => v[k] === undefined);
const total = (c: Readonly<ModeCounts> | undefined) => (c ? c[0] + c[1] + c[2] + c[3] : 0);

/**
 * Proves that `text` (an edit of `known.text`, made for the change `ops` from `known.model` to
 * `next`) reads back as exactly `next` with the `kindChecks`; undefined when it cannot.
 */
export function verifyLocally(
  known: KnownDoc,
  text: string,
  next: unknown,
  ops: readonly ConfigOp[],
  kindChecks: readonly KindCheck[],
): LocalEdit | undefined {
  const index = indexOf(known);
  if (!index || index.arrayTables) return undefined;
  const found = changedRegion(known.text, text);
  if (!found) return undefined;
  const { items } = index.scan;
  let { start, oldEnd } = found;
  if (index.scan.bom && start === 0) return undefined; // the BOM is no line of its own: leave that to the full check
  // Whole items: a multi-line value the region cuts into is part of it.
  const first = itemAt(items, start);
  if (first < items.length && items[first]!.start < start) start = items[first]!.start;
  let end = itemAt(items, oldEnd);
  if (end < items.length && items[end]!.start < oldEnd) {
    oldEnd = items[end]!.end;
    end++;
  }
  const newEnd = oldEnd + (text.length - known.text.length);
  const mid = text.slice(start, newEnd);
  if (mid !== '' && !mid.endsWith('\n') && newEnd !== text.length) return undefined;

  let midItems: ScanItem[];
  try {
    midItems = scanToml(mid).items;
  } catch {
    return undefined;
  }
  let table: readonly string[] = [];
  for (let i = first - 1; i >= 0; i--) {
    const item = items[i]!;
    if (item.kind === 'header') { table = item.path; break; }
  }
  const oldItems = items.slice(first, end);
  if (midItems.some((item) => item.kind === 'header' && item.arrayTable)) return undefined;
  if (!samePath(tableAfter(oldItems, table), tableAfter(midItems, table))) {
    for (let i = end; i < items.length; i++) {
      const item = items[i]!;
      if (item.kind === 'row') return undefined;
      if (item.kind === 'header') break;
    }
  }

  // 3. Collisions with the rest of the file.
  const removed = touchesOf(oldItems, table);
  const added = touchesOf(midItems, table);
  const removedCounts = countTouches(removed);
  const addedCounts = countTouches(added);
  const rest = (key: string): ModeCounts | undefined => {
    const all = index.touches.get(key);
    if (!all) return undefined;
    const gone = removedCounts.get(key);
    return gone ? [all[0] - gone[0], all[1] - gone[1], all[2] - gone[2], all[3] - gone[3]] : [all[0], all[1], all[2], all[3]];
  };
  for (const t of added) {
    const r = rest(t.key);
    if (total(r) === 0) continue;
    if (t.mode === Mode.Implicit ? r![Mode.Dotted] + r![Mode.Value] > 0 : t.mode === Mode.Header ? r![Mode.Header] + r![Mode.Dotted] + r![Mode.Value] > 0 : true) {
      return undefined;
    }
  }

  // 2. The new lines on their own, in their table.
  let parsedMid: unknown;
  try {
    parsedMid = parseExact(table.length > 0 ? `[${formatKeyPath(table)}]\n${mid}` : mid);
  } catch {
    return undefined;
  }

  /** The new items at their offsets in the new text, rows in their tables, for advanceKnown. */
  const proof = (): LocalEdit => {
    for (const item of midItems) {
      item.start += start;
      item.end += start;
      if (item.kind === 'comment') item.hash += start;
      else if (item.kind === 'row') {
        item.valueStart += start;
        item.valueEnd += start;
      }
    }
    let current = table;
    for (const item of midItems) {
      if (item.kind === 'header') current = item.path;
      else if (item.kind === 'row') item.table = [...current];
    }
    return { region: { start, oldEnd, newEnd }, first, end, items: midItems, removed, added };
  };

  // 4. The reading under q.
  const defining = (t: Touch) => t.mode !== Mode.Implicit;
  const q = commonPrefix([...removed.filter(defining), ...added.filter(defining)].map((t) => t.path).concat(ops.map((op) => [...op.path])));
  if (!q || q.length === 0) return undefined;
  for (let k = 1; k < q.length; k++) {
    const key = pathKey(q.slice(0, k));
    const r = rest(key), m = addedCounts.get(key);
    if (k === 1 && total(r) === 0 && total(m) === 0) {
      // Nothing in the new text is under this top-level key any more. It reads back as absent,
      // which the full check accepts for an emptied top-level table (the last instrument removed).
      return isEmptyTable(getAt(next, q.slice(0, 1))) && kindChecks.length === 0 ? proof() : undefined;
    }
    const stays = total(r) - (r?.[Mode.Value] ?? 0) + total(m) - (m?.[Mode.Value] ?? 0) > 0;
    if (!stays || (r?.[Mode.Value] ?? 0) > 0 || (m?.[Mode.Value] ?? 0) > 0 || !isTable(getAt(next, q.slice(0, k)))) return undefined;
  }
  let expected = copyTables(getAt(known.model, q));
  const gone = removed.filter((t) => t.path.length >= q.length && total(rest(t.key)) === 0).sort((a, b) => a.path.length - b.path.length);
  for (const t of gone) {
    if (t.path.length === q.length) expected = undefined;
    else deleteAt(expected, t.path.slice(q.length));
  }
  const fresh = getAt(parsedMid, q);
  if (fresh !== undefined) expected = merge(expected, fresh);
  if (!sameValue(expected, getAt(next, q))) return undefined;

  // 5. Number kinds, where the new lines alone define the value.
  for (const check of kindChecks) {
    if (!isPrefix(q, check.path) || total(rest(pathKey(check.path))) > 0) return undefined;
    if (kindMismatch(parsedMid, next, check)) return undefined;
  }

  return proof();
}
