/**
 * Which nodes of the config tree each statement of a TOML file touches, and how, counted over a
 * whole file. TOML's "defined twice" errors are all between two statements touching the same node
 * in incompatible ways, so the local verifier (toml-local-verify.ts) can tell whether the lines an
 * edit wrote could collide with the rest of the file by looking up the nodes those lines touch,
 * instead of re-parsing everything.
 *
 * Every statement touches every ancestor of what it defines, so anything defined under a node
 * touches the node itself: "nobody outside the edit touches n" means "nothing outside the edit is
 * at or under n".
 */
import type { ScanItem, TomlScan } from './toml-scan.js';

/** How a statement touches a node (an index into ModeCounts). */
export const Mode = {
  /** An ancestor of a `[header]` (created implicitly). */
  Implicit: 0,
  /** The path of a `[header]`. */
  Header: 1,
  /** An intermediate part of a dotted key (`a.b = 1` touches `a` so). */
  Dotted: 2,
  /** The full path of a key/value row (the value, whatever its type). */
  Value: 3,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export interface Touch {
  path: string[];
  key: string;
  mode: Mode;
}

/** Counts per mode, indexed by Mode. */
export type ModeCounts = [number, number, number, number];

/** Unambiguous for any key text (a key may hold any character, separators included). */
export function pathKey(path: readonly string[]): string {
  return JSON.stringify(path);
}

const touch = (path: string[], mode: Mode): Touch => ({ path, key: pathKey(path), mode });

/**
 * The touches of a run of scan items, rows read in `table` until the run's first header. Headers
 * of arrays of tables are not modelled (their rows land in array elements): callers refuse them.
 */
export function touchesOf(items: readonly ScanItem[], table: readonly string[]): Touch[] {
  const out: Touch[] = [];
  let current = table;
  for (const item of items) {
    if (item.kind === 'header') {
      current = item.path;
      for (let k = 1; k < item.path.length; k++) out.push(touch(item.path.slice(0, k), Mode.Implicit));
      out.push(touch(item.path, Mode.Header));
    } else if (item.kind === 'row') {
      const full = [...current, ...item.key];
      for (let k = current.length + 1; k < full.length; k++) out.push(touch(full.slice(0, k), Mode.Dotted));
      out.push(touch(full, Mode.Value));
    }
  }
  return out;
}

export function countTouches(touches: readonly Touch[]): Map<string, ModeCounts> {
  const counts = new Map<string, ModeCounts>();
  for (const t of touches) {
    let c = counts.get(t.key);
    if (!c) counts.set(t.key, (c = [0, 0, 0, 0]));
    c[t.mode]++;
  }
  return counts;
}

/** Touch counts of every node of one text, kept up to date as edits are committed. */
export class TouchIndex {
  private readonly counts: Map<string, ModeCounts>;

  private constructor(counts: Map<string, ModeCounts>) {
    this.counts = counts;
  }

  static of(scan: TomlScan): TouchIndex {
    return new TouchIndex(countTouches(touchesOf(scan.items, [])));
  }

  get(key: string): Readonly<ModeCounts> | undefined {
    return this.counts.get(key);
  }

  /** Every node with its counts, sorted (to compare an advanced index with a fresh one). */
  entries(): [string, ModeCounts][] {
    return [...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Counts the touches in (sign 1) or out (sign -1). */
  apply(touches: readonly Touch[], sign: 1 | -1): void {
    for (const t of touches) {
      let c = this.counts.get(t.key);
      if (!c) this.counts.set(t.key, (c = [0, 0, 0, 0]));
      c[t.mode] += sign;
      if (c[0] === 0 && c[1] === 0 && c[2] === 0 && c[3] === 0) this.counts.delete(t.key);
    }
  }
}
