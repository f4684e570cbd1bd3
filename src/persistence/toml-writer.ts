/**
 * Renders a config change into a person's TOML file, changing only what differs (pure, no I/O).
 *
 * Each edit from prev to next is spliced into the text line by line (toml-splice.ts); shapes the
 * splicer does not handle go through @decimalturn/toml-patch's patch() for that one edit. Nothing is
 * returned unless it reads back as exactly `next`, number kinds included: if the fast splice of all
 * edits does not verify, the edits are redone one at a time, each verified, each falling back to
 * dt.patch(), and if that does not verify either the change is refused with `persist_failed`.
 *
 * Given the known reading of the text (ann.known, toml-known.ts) the fast path verifies only the
 * lines the edits changed (toml-local-verify.ts); when that cannot prove the result, the full
 * re-parse decides, as without it.
 */
import * as dt from '@decimalturn/toml-patch';
import { DaqError, describeError } from '../errors.js';
import { applyOp, applyOpInPlace, describePath, diffConfig, getAt, type ConfigOp, type Table } from './config-diff.js';
import { kindsOf, type KindAt, type NumberKind } from './toml-literal.js';
import { boundRemovedNotes, hasTableAt, tidyNotesBefore, type NotedTop } from './toml-notes.js';
import { scanToml, TomlScanError } from './toml-scan.js';
import { spliceOp, type SpliceContext, type SpliceResult } from './toml-splice.js';
import { kindDrift, parseExact, whyNotExactly, type KindCheck } from './toml-verify.js';
import { indexOf, type KnownDoc, type LocalEdit } from './toml-known.js';
import { verifyLocally } from './toml-local-verify.js';

export interface WriteAnnotations {
  now?: Date; // timestamp for comments (default new Date())
  /** How a number that is new in the file should be written: 'float' -> 5.0, default integer-if-integral. */
  numberKind?: (path: string[]) => NumberKind | undefined;
  /**
   * The text daqd last wrote itself (or first loaded): a `# daqd: set` note in the text rendered
   * into is kept only if this text had the same note directly above the same key and value
   * (toml-notes.ts). ConfigFile fills it in; undefined keeps every set note.
   */
  ownText?: string;
  /**
   * What the text rendered into is known to read back as (ConfigFile keeps it). Used only when
   * its text and model are the very ones passed in: then the result is verified locally.
   */
  known?: KnownDoc;
  /**
   * A model equal in value to `prev` that shares the tables `next` did not change (ConfigFile's
   * frozen last-written model): the diff runs from it and skips shared tables by identity.
   */
  diffFrom?: unknown;
}

/** A rendered change: the text, the edits it made, and the local proof when there was one. */
export interface RenderedEdit {
  text: string;
  ops: ConfigOp[];
  /** Set when the fast path's result was verified locally against `ann.known`. */
  local?: LocalEdit;
}

/** How changes were rendered since start (for tests, the benchmark and status output). */
export const renderStats = { spliced: 0, careful: 0, patchedOps: 0, refused: 0, verifiedLocally: 0, diffedFromShared: 0 };

/** ISO-8601 UTC to the second, as used in the comments daqd leaves in the file. */
export function commentTimestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A file that ended without a final newline keeps ending without one, and vice versa. */
function keepFinalNewline(original: string, result: string): string {
  const originalEnds = original.replace(/^\uFEFF/, '') === '' || original.endsWith('\n');
  if (!originalEnds && result.endsWith('\n')) return result.replace(/\r?\n$/, '');
  if (originalEnds && result !== '' && !result.endsWith('\n')) {
    return result + (original.includes('\r\n') ? '\r\n' : '\n');
  }
  return result;
}

function trySplice(text: string, op: ConfigOp, after: Table, ctx: SpliceContext, known?: KnownDoc): SpliceResult | null {
  try {
    // The known text's scan is kept current edit by edit: no re-scan of a large file per change.
    const scan = (known?.text === text ? indexOf(known)?.scan : undefined) ?? scanToml(text);
    return spliceOp(text, scan, op, after, ctx);
  } catch (err) {
    if (err instanceof TomlScanError) return null;
    throw err;
  }
}

/** One edit through dt.patch(), verified against `after` and guarded against number-kind drift. */
function patchWithToml(text: string, op: ConfigOp, after: Table, ctx: SpliceContext, original: string): { text: string } | { reason: string } {
  try {
    const target = applyOp(dt.parse(text), op);
    const format = dt.TomlFormat.autoDetectFormat(text);
    format.inlineTableStart = 99; // new tables as [sections], never inline (hazards D1, D3)
    const candidate = keepFinalNewline(original, dt.patch(text, target, format));
    const before = parseExact(text);
    const oldKinds = kindsOf(getAt(before, op.path));
    const kindAt: KindAt = (sub) => oldKinds(sub) ?? ctx.numberKind?.([...op.path, ...sub.map(String)]);
    const checks: KindCheck[] = op.kind === 'remove' ? [] : [{ path: op.path, kindAt }];
    const reason = whyNotExactly(candidate, after, checks);
    if (reason) return { reason };
    const drift = kindDrift(before, parseExact(candidate), op.path);
    return drift ? { reason: `toml-patch changed a number's type elsewhere (${drift})` } : { text: candidate };
  } catch (err) {
    if (err instanceof DaqError) throw err;
    return { reason: `toml-patch failed (${describeError(err).split('\n')[0]})` };
  }
}

/** Render `next` into `text` (which parses to `prev`), changing only what differs. Throws DaqError
 *  'persist_failed' if the result does not re-parse to exactly `next`. */
export function renderConfigChange(text: string, prev: unknown, next: unknown, ann: WriteAnnotations = {}): string {
  return renderConfigEdit(text, prev, next, ann).text;
}

/** renderConfigChange, also returning the edits and the local proof (for ConfigFile's known text). */
export function renderConfigEdit(text: string, prev: unknown, next: unknown, ann: WriteAnnotations = {}): RenderedEdit {
  // Removals last, so a "# Removed" note stays where the table was rather than above a sibling
  // added in the same change.
  if (ann.diffFrom !== undefined) renderStats.diffedFromShared++;
  const diff = diffConfig(ann.diffFrom ?? prev, next);
  const ops = [...diff.filter((op) => op.kind !== 'remove'), ...diff.filter((op) => op.kind === 'remove')];
  if (ops.length === 0) return { text, ops };
  const known = ann.known !== undefined && ann.known.text === text && ann.known.model === prev ? ann.known : undefined;
  const ctx: SpliceContext = { timestamp: commentTimestamp(ann.now ?? new Date()), numberKind: ann.numberKind };
  // Notes that are no longer true go before the edits (so a removal writes its id's only note),
  // the bound on "# Removed" notes after them; neither changes what the file holds.
  const start = tidyNotesBefore(text, prev, next, ann.ownText);
  const removedNow = (top: NotedTop, id: string) => hasTableAt(prev, top, id) && !hasTableAt(next, top, id);
  const finish = (result: string) => keepFinalNewline(text, boundRemovedNotes(result, removedNow));

  // Fast path: splice every edit, verify once.
  let current = start;
  const checks: KindCheck[] = [];
  let usable = true;
  if (known) {
    // The known model is its owner's private copy: each edit is applied to it in place for the
    // splicer (copying a table of a thousand instruments per edit costs more than the splice) and
    // undone before anything else reads it.
    const undo: Array<() => void> = [];
    try {
      for (const op of ops) {
        if (!applyOpInPlace(known.model as Table, op, undo)) { usable = false; break; }
        const spliced = trySplice(current, op, known.model as Table, ctx, known);
        if (!spliced) { usable = false; break; }
        current = spliced.text;
        checks.push(...spliced.kindChecks);
      }
    } finally {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
    }
  } else {
    let model = prev as Table;
    for (const op of ops) {
      const after = applyOp(model, op);
      const spliced = trySplice(current, op, after, ctx);
      if (!spliced) { usable = false; break; }
      current = spliced.text;
      checks.push(...spliced.kindChecks);
      model = after;
    }
  }
  if (usable) {
    current = finish(current);
    const local = known ? verifyLocally(known, current, next, ops, checks) : undefined;
    if (local || whyNotExactly(current, next, checks) === undefined) {
      renderStats.spliced++;
      if (local) renderStats.verifiedLocally++;
      return local ? { text: current, ops, local } : { text: current, ops };
    }
  }
  renderStats.careful++;

  // Careful path: one edit at a time, each verified, dt.patch() where splicing is not enough.
  current = start;
  let model = prev as Table;
  for (const op of ops) {
    const after = applyOp(model, op);
    const spliced = trySplice(current, op, after, ctx, known);
    let reason: string | undefined;
    if (spliced) {
      const candidate = keepFinalNewline(text, spliced.text);
      reason = whyNotExactly(candidate, after, spliced.kindChecks);
      if (!reason) { current = candidate; model = after; continue; }
    }
    renderStats.patchedOps++;
    const patched = patchWithToml(current, op, after, ctx, text);
    if ('reason' in patched) {
      renderStats.refused++;
      throw new DaqError(
        'persist_failed',
        `could not write the change to ${describePath(op.path)} into the config file: ${reason ?? patched.reason}; the file was left as it was`,
        { details: { key: describePath(op.path), reason: patched.reason } },
      );
    }
    current = patched.text;
    model = after;
  }
  current = finish(current);
  const final = whyNotExactly(current, next);
  if (final) {
    renderStats.refused++;
    throw new DaqError('persist_failed', `could not write the config change: ${final}; the file was left as it was`);
  }
  return { text: current, ops };
}
