/**
 * Where two versions of a text differ, as one line-aligned region: the writer's edits touch a few
 * lines of a large file, and everything the local verifier (toml-local-verify.ts) and the
 * incremental re-scan (toml-known.ts) do costs the size of this region, not of the file.
 *
 * The region is found from the texts themselves (common prefix, common suffix), not from what the
 * splicer says it changed, so a splicer bug cannot hide an edit from the verifier.
 */

export interface TextRegion {
  /** Start of the region in both texts (a line start). */
  start: number;
  /** End of the region in the old text (a line start, or the old text's length). */
  oldEnd: number;
  /** End of the region in the new text: `oldEnd` plus the length difference. */
  newEnd: number;
}

/** Length of the common prefix, by halving with native string compares (no per-char JS loop). */
function commonPrefix(x: string, y: string, limit: number): number {
  let lo = 0, hi = limit; // x[0, lo) === y[0, lo) is known; the answer is in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x.slice(lo, mid) === y.slice(lo, mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Length of the common suffix, at most `limit`. */
function commonSuffix(x: string, y: string, limit: number): number {
  let lo = 0, hi = limit;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x.slice(x.length - mid, x.length - lo) === y.slice(y.length - mid, y.length - lo)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The smallest line-aligned region outside which `before` and `after` are byte-identical; undefined
 * when the texts are equal. Lines end at LF (a CR before it belongs to the line).
 */
export function changedRegion(before: string, after: string): TextRegion | undefined {
  if (before === after) return undefined;
  const p = commonPrefix(before, after, Math.min(before.length, after.length));
  // Back to the start of the line holding the first difference.
  const start = p === 0 ? 0 : before.lastIndexOf('\n', p - 1) + 1;
  const s = commonSuffix(before, after, Math.min(before.length, after.length) - start);
  let oldEnd = before.length - s;
  // Forward to a line start in both texts. Past `before.length - s` the texts agree, so stepping
  // to the next LF of the old text steps to the same LF of the new one.
  const aligned = (text: string, end: number) => end === start || end === text.length || text.charCodeAt(end - 1) === 10;
  while (!aligned(before, oldEnd) || !aligned(after, oldEnd + (after.length - before.length))) {
    const lf = before.indexOf('\n', oldEnd);
    oldEnd = lf < 0 ? before.length : lf + 1;
  }
  return { start, oldEnd, newEnd: oldEnd + (after.length - before.length) };
}
