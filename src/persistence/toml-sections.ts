/**
 * The section list of a scanned TOML text (each `[header]` with the items it spans), which the
 * splicer consults for every edit. Building it walks every item of the file; for a known text
 * (toml-known.ts) it is built once and then advanced with each committed local edit, the way the
 * scan itself is, so a persisted change to a large file does not pay a walk of every line for it.
 */
import type { ScanItem, TomlScan } from './toml-scan.js';

export interface Section {
  item: number;
  path: string[];
  arrayTable: boolean;
  /** first item index after the section */
  end: number;
}

export interface Sections {
  /** The rows before the first header, as a section with no header (item -1). */
  root: Section;
  sections: Section[];
}

/** Built lists by scan. A scan's items must not change while it is a key here (advanceSections moves the list on). */
const built = new WeakMap<TomlScan, Section[]>();

function withRoot(sections: Section[], items: readonly ScanItem[]): Sections {
  return { root: { item: -1, path: [], arrayTable: false, end: sections[0]?.item ?? items.length }, sections };
}

/** The sections of `scan` (remembered per scan object, so a known text's list is built once). */
export function sectionsOf(scan: TomlScan): Sections {
  let sections = built.get(scan);
  if (!sections) {
    sections = [];
    const { items } = scan;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item.kind !== 'header') continue;
      const last = sections[sections.length - 1];
      if (last) last.end = i;
      sections.push({ item: i, path: item.path, arrayTable: item.arrayTable, end: items.length });
    }
    built.set(scan, sections);
  }
  return withRoot(sections, scan.items);
}

/**
 * `old`'s list made current for `next`, the scan after items [first, end) were replaced by
 * `inserted` (toml-known.ts advanceKnown). Nothing is done when `old` had no list built. The
 * sections of `old` are moved in place: `old` must not be used afterwards.
 */
export function advanceSections(old: TomlScan, next: TomlScan, first: number, end: number, inserted: readonly ScanItem[]): void {
  const sections = built.get(old);
  if (!sections) return;
  built.delete(old);
  // A huge insertion (past what a spread may pass) is rare: the list is then built afresh on use.
  if (inserted.length >= 10_000) return;
  const by = inserted.length - (end - first);
  // The list is sorted by item: the sections inside the replaced items give way to the headers
  // among the inserted ones, those after it move by the change in the item count.
  let lo = 0;
  while (lo < sections.length && sections[lo]!.item < first) lo++;
  let hi = lo;
  while (hi < sections.length && sections[hi]!.item < end) hi++;
  const fresh: Section[] = [];
  for (let k = 0; k < inserted.length; k++) {
    const item = inserted[k]!;
    if (item.kind === 'header') fresh.push({ item: first + k, path: item.path, arrayTable: item.arrayTable, end: 0 });
  }
  sections.splice(lo, hi - lo, ...fresh);
  const count = next.items.length;
  for (let k = lo + fresh.length; by !== 0 && k < sections.length; k++) sections[k]!.item += by;
  for (let k = Math.max(0, lo - 1); k < sections.length; k++) {
    sections[k]!.end = k + 1 < sections.length ? sections[k + 1]!.item : count;
  }
  built.set(next, sections);
}
