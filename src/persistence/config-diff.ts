/**
 * The config model as smol-toml's `parse` returns it (plain or null-prototype objects, arrays,
 * numbers or bigints, strings, booleans, Date subclasses), and the list of edits that turns one
 * model into another. Edits are what the writer splices into the file, one at a time.
 */
import { isTable, sameValue } from '../config/model.js';

export type ConfigPath = readonly string[];

export type ConfigOp =
  | { kind: 'set'; path: ConfigPath; before: unknown; value: unknown }
  | { kind: 'add'; path: ConfigPath; value: unknown }
  | { kind: 'remove'; path: ConfigPath; before: unknown };

export type Table = Record<string, unknown>;

// One definition of table-ness and value equality, shared with the runtime diff.
export { isTable, sameValue };

/** The edits that turn `prev` into `next`, tables compared key by key, everything else as a whole. */
export function diffConfig(prev: unknown, next: unknown): ConfigOp[] {
  const ops: ConfigOp[] = [];
  const path: string[] = [];
  const walk = (a: unknown, b: unknown): void => {
    if (!isTable(a) || !isTable(b)) {
      if (!sameValue(a, b)) ops.push({ kind: 'set', path: [...path], before: a, value: b });
      return;
    }
    for (const key in a) {
      if (a[key] !== undefined && b[key] === undefined) ops.push({ kind: 'remove', path: [...path, key], before: a[key] });
    }
    for (const key in b) {
      if (b[key] === undefined) continue;
      if (a[key] === undefined) ops.push({ kind: 'add', path: [...path, key], value: b[key] });
      else if (a[key] !== b[key]) {
        path.push(key);
        walk(a[key], b[key]);
        path.pop();
      }
    }
  };
  walk(prev, next);
  return ops;
}

export function getAt(model: unknown, path: ConfigPath): unknown {
  let node: unknown = model;
  for (const key of path) {
    if (!isTable(node)) return undefined;
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
    const child = node[key];
    const copy: Table = isTable(child) ? { ...child } : {};
    node[key] = copy;
    node = copy;
  }
  const last = op.path[op.path.length - 1];
  if (last === undefined) return isTable((op as { value?: unknown }).value) ? { ...(op as { value: Table }).value } : root;
  if (op.kind === 'remove') delete node[last];
  else node[last] = op.value;
  return root;
}

export function describePath(path: ConfigPath): string {
  return path.length === 0 ? '(whole file)' : path.join('.');
}
