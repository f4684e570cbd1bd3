/**
 * The config model as smol-toml's `parse` returns it (plain or null-prototype objects, arrays,
 * numbers or bigints, strings, booleans, Date subclasses), and the list of edits that turns one
 * model into another. Edits are what the writer splices into the file, one at a time.
 */
import { isTable, sameValue, setOwn } from '../config/model.js';

export type ConfigPath = readonly string[];

export type ConfigOp =
  | { kind: 'set'; path: ConfigPath; before: unknown; value: unknown }
  | { kind: 'add'; path: ConfigPath; value: unknown }
  | { kind: 'remove'; path: ConfigPath; before: unknown };

export type Table = Record<string, unknown>;

// One definition of table-ness and value equality, shared with the runtime diff.
export { isTable, sameValue };

/**
 * The edits that turn `prev` into `next`, tables compared key by key, everything else as a whole.
 * Runs over the whole model on every persisted change: no closure, no allocation for equal parts,
 * leaves compared inline before sameValue is asked.
 */
export function diffConfig(prev: unknown, next: unknown): ConfigOp[] {
  const ops: ConfigOp[] = [];
  if (isTable(prev) && isTable(next)) diffTables(prev, next, [], ops);
  else if (!sameValue(prev, next)) ops.push({ kind: 'set', path: [], before: prev, value: next });
  return ops;
}

function diffTables(a: Table, b: Table, path: string[], ops: ConfigOp[]): void {
  // Removals first (the order callers see), found by a second walk only when needed: when every
  // own key of `a` is matched by a defined key of `b`, nothing was removed.
  const at = ops.length;
  let matched = 0;
  for (const key in b) {
    const bv = b[key];
    if (bv === undefined) continue;
    const av = a[key];
    if (av === undefined) {
      ops.push({ kind: 'add', path: [...path, key], value: bv });
      continue;
    }
    if (Object.hasOwn(a, key)) matched++;
    if (av !== bv) {
      if (typeof av === 'object' && typeof bv === 'object' && isTable(av) && isTable(bv)) {
        path.push(key);
        diffTables(av, bv, path, ops);
        path.pop();
      } else if (!(Array.isArray(av) && Array.isArray(bv) ? sameArray(av, bv) : sameValue(av, bv))) {
        ops.push({ kind: 'set', path: [...path, key], before: av, value: bv });
      }
    }
  }
  if (Object.keys(a).length === matched) return;
  const removed: ConfigOp[] = [];
  for (const key in a) {
    if (a[key] !== undefined && b[key] === undefined) removed.push({ kind: 'remove', path: [...path, key], before: a[key] });
  }
  if (removed.length > 0) ops.splice(at, 0, ...removed);
}

/** sameValue for two arrays, identical items compared inline (most arrays in a config are short lists of numbers). */
function sameArray(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !sameValue(a[i], b[i])) return false;
  return true;
}

export function getAt(model: unknown, path: ConfigPath): unknown {
  let node: unknown = model;
  for (const key of path) {
    if (!isTable(node) || !Object.hasOwn(node, key)) return undefined; // own keys only: "constructor" is a key
    node = node[key];
  }
  return node;
}

/**
 * Applies one edit, copying only the tables along its path so the rest of the model (and its date
 * objects) is shared, never cloned.
 */
export function applyOp(model: unknown, op: ConfigOp): Table {
  const root: Table = isTable(model) ? { ...model } : {};
  let node = root;
  for (const key of op.path.slice(0, -1)) {
    const child = Object.hasOwn(node, key) ? node[key] : undefined;
    const copy: Table = isTable(child) ? { ...child } : {};
    setOwn(node, key, copy); // a key named __proto__ is a key like any other
    node = copy;
  }
  const last = op.path[op.path.length - 1];
  if (last === undefined) return isTable((op as { value?: unknown }).value) ? { ...(op as { value: Table }).value } : root;
  if (op.kind === 'remove') delete node[last];
  else setOwn(node, last, op.value);
  return root;
}

/**
 * Applies one edit to `model` itself, pushing what undoes it onto `undo` (run in reverse order).
 * For a model its owner keeps private (ConfigFile's base): no copy of the tables along the path.
 * False (nothing done) for an edit of the whole model.
 */
export function applyOpInPlace(model: Table, op: ConfigOp, undo: Array<() => void>): boolean {
  if (op.path.length === 0) return false;
  const put = (table: Table, key: string, value: unknown, remove: boolean) => {
    const had = Object.hasOwn(table, key);
    const old = had ? table[key] : undefined;
    undo.push(had ? () => setOwn(table, key, old) : () => { delete table[key]; });
    if (remove) delete table[key];
    else setOwn(table, key, value);
  };
  let node = model;
  for (const key of op.path.slice(0, -1)) {
    const child = Object.hasOwn(node, key) ? node[key] : undefined;
    if (isTable(child)) {
      node = child;
    } else {
      const fresh: Table = {};
      put(node, key, fresh, false);
      node = fresh;
    }
  }
  const last = op.path[op.path.length - 1]!;
  if (op.kind === 'remove') {
    if (Object.hasOwn(node, last)) put(node, last, undefined, true);
  } else {
    put(node, last, op.value, false);
  }
  return true;
}

export function describePath(path: ConfigPath): string {
  return path.length === 0 ? '(whole file)' : path.join('.');
}
