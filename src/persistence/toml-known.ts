/**
 * A text daqd knows the exact reading of: `model` is what the whole text parses to (checked by a
 * full parse, or by a local verification from an earlier known text). With it the writer can scan
 * the text once and then keep the scan and the touch index current edit by edit, and verify an edit
 * by looking only at the lines it changed (toml-local-verify.ts): a persisted change to a large
 * file then costs about what the changed lines cost, not what the file costs.
 *
 * The scan and the index are built on first use and then advanced in place when an edit is
 * committed, so a KnownDoc must be dropped (not reused) once a newer one was made from it.
 */
import { scanToml, TomlScanError, type ScanItem, type TomlScan } from './toml-scan.js';
import { TouchIndex, type Touch } from './toml-touches.js';
import type { TextRegion } from './toml-region.js';
import { advanceSections } from './toml-sections.js';

export interface KnownDoc {
  readonly text: string;
  /** What `text` reads back as (whyNotExactly(text, model) holds). Never mutated. */
  readonly model: unknown;
  /** Built on first use; undefined inside when the scanner cannot read the text. */
  index?: { scan: TomlScan; touches: TouchIndex; arrayTables: boolean } | undefined;
  indexed?: boolean;
}

/** An edit the local verifier proved: the old items [first, end) became `items`. */
export interface LocalEdit {
  region: TextRegion;
  first: number;
  end: number;
  /** The new region's scan items, at their offsets in the new text, rows in their tables. */
  items: ScanItem[];
  removed: Touch[];
  added: Touch[];
}

export function knownDoc(text: string, model: unknown): KnownDoc {
  return { text, model };
}

/** The known text's scan and touch index (built once). */
export function indexOf(known: KnownDoc): KnownDoc['index'] {
  if (!known.indexed) {
    known.indexed = true;
    try {
      const scan = scanToml(known.text);
      known.index = {
        scan,
        touches: TouchIndex.of(scan),
        arrayTables: scan.items.some((item) => item.kind === 'header' && item.arrayTable),
      };
    } catch (err) {
      if (!(err instanceof TomlScanError)) throw err;
      known.index = undefined;
    }
  }
  return known.index;
}

function shift(item: ScanItem, by: number): void {
  item.start += by;
  item.end += by;
  if (item.kind === 'comment') item.hash += by;
  else if (item.kind === 'row') {
    item.valueStart += by;
    item.valueEnd += by;
  }
}

/**
 * The known doc for `text`, made from `known` and the local edit that turned its text into `text`.
 * `known`'s scan items after the edit are moved in place, and so is the splicer's section list
 * when one was built for the scan (toml-sections.ts): `known` must not be used afterwards.
 */
export function advanceKnown(known: KnownDoc, edit: LocalEdit, text: string, model: unknown): KnownDoc {
  const index = known.index;
  if (!index) return knownDoc(text, model);
  const { scan, touches } = index;
  const by = edit.region.newEnd - edit.region.oldEnd;
  const items = scan.items; // moved in place: no new array of every line per write
  if (by !== 0) for (let i = edit.end; i < items.length; i++) shift(items[i]!, by);
  if (edit.items.length < 10_000) {
    items.splice(edit.first, edit.end - edit.first, ...edit.items);
  } else {
    // A spread that large could pass the engine's argument limit.
    const tail = items.splice(edit.first);
    for (const item of edit.items) items.push(item);
    for (let i = edit.end - edit.first; i < tail.length; i++) items.push(tail[i]!);
  }
  touches.apply(edit.removed, -1);
  touches.apply(edit.added, 1);
  const firstLf = text.indexOf('\n');
  const next: TomlScan = {
    items,
    bom: scan.bom,
    newline: firstLf > 0 && text.charCodeAt(firstLf - 1) === 13 ? '\r\n' : '\n',
    endsWithNewline: text.length === scan.bom || text.endsWith('\n'),
  };
  advanceSections(scan, next, edit.first, edit.end, edit.items);
  known.index = undefined;
  known.indexed = true;
  return { text, model, index: { scan: next, touches, arrayTables: false }, indexed: true };
}
