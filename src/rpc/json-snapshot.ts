/**
 * A private copy of a JSON value's content, and the check that another value has that very content
 * (issue 25: reads within 2x of a bare server). json-text.ts keeps the JSON text of the last answer
 * a script asked for in a loop; a new answer reuses that text only when `matches` says the new
 * value would give exactly the same text. Comparing ~100 leaves costs a fraction of JSON.stringify
 * of a 2.5 kB status, and of the answer's copy through the kernel that follows.
 *
 * Why a copy and not the value itself: a status source may hand out one object and edit it in
 * place (a counter object it keeps), so "the same object" proves nothing about its text. The copy
 * is this module's alone: nobody can edit it after its text was made.
 *
 * What `matches` promises: matches(v, snapshotOf(w)) only if JSON.stringify(v) === JSON.stringify(w)
 * at the time the snapshot was taken. It may say "no" for equal values (NaN, class instances,
 * toJSON, getters, proxies, very deep values are always "no"); the caller then simply stringifies
 * again. A copy holds data properties only (a getter or a proxy could answer differently to the
 * read that made the text and the read that made the copy), so the two reads see the same values.
 */
import { types } from 'node:util';

/** A plain object's own enumerable keys, in JSON.stringify's order, and their values' snapshots. */
class ObjectSnap {
  constructor(
    readonly keys: string[],
    readonly values: Snap[],
  ) {}
}

class ArraySnap {
  constructor(readonly values: Snap[]) {}
}

/** A value whose JSON text never changes (registered with reuseJson: replaced, never edited): compared by identity. */
class SameObject {
  constructor(readonly ref: object) {}
}

/** A value this module does not copy (class instance, toJSON, too deep): never matches anything. */
const OPAQUE: unique symbol = Symbol('opaque');

/** A primitive (or function: JSON leaves those out, the same function the same way) stands for itself. */
export type Snap = ObjectSnap | ArraySnap | SameObject | typeof OPAQUE | string | number | boolean | bigint | symbol | null | undefined | ((...args: never[]) => unknown);

/** Deeper than this is OPAQUE (a status is 3 levels deep; a cycle ends here instead of recursing). */
const MAX_DEPTH = 12;

/** An object or array JSON.stringify writes from its own keys alone: no toJSON (own, even non-enumerable, or inherited), no proxy. */
function plainJson(v: object, proto: object | null): boolean {
  const ok = Array.isArray(v) ? proto === Array.prototype : proto === Object.prototype || proto === null;
  return ok && typeof (v as { toJSON?: unknown }).toJSON !== 'function' && !types.isProxy(v);
}

/** Whether every own enumerable key of `v` holds a value (no getter): checked when a copy is made. */
function dataOnly(v: object, keys: readonly string[]): boolean {
  for (const key of keys) if (Object.getOwnPropertyDescriptor(v, key)?.get !== undefined) return false;
  return true;
}

/** A private copy of `value`'s JSON content; `immutable(o)` says an object is never edited (compare it by identity). */
export function snapshotOf(value: unknown, immutable: (o: object) => boolean, depth = 0): Snap {
  if (typeof value !== 'object' || value === null) return value as Snap;
  if (immutable(value)) return new SameObject(value);
  if (depth >= MAX_DEPTH) return OPAQUE;
  if (!plainJson(value, Object.getPrototypeOf(value) as object | null)) return OPAQUE;
  const keys = Object.keys(value);
  if (!dataOnly(value, keys)) return OPAQUE;
  if (Array.isArray(value)) {
    const values = new Array<Snap>(value.length);
    for (let i = 0; i < value.length; i++) values[i] = snapshotOf(value[i], immutable, depth + 1);
    return new ArraySnap(values);
  }
  const values = new Array<Snap>(keys.length);
  for (let i = 0; i < keys.length; i++) values[i] = snapshotOf((value as Record<string, unknown>)[keys[i]!], immutable, depth + 1);
  return new ObjectSnap(keys, values);
}

/** Whether `value` would give exactly the JSON text the snapshot's value gave (see the header). */
export function matches(value: unknown, snap: Snap): boolean {
  if (typeof snap !== 'object' || snap === null) return value === snap;
  if (snap instanceof SameObject) return value === snap.ref;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value) !== snap instanceof ArraySnap || !plainJson(value, Object.getPrototypeOf(value) as object | null)) return false;
  if (snap instanceof ArraySnap) {
    const array = value as unknown[];
    if (array.length !== snap.values.length) return false;
    for (let i = 0; i < array.length; i++) if (!matches(array[i], snap.values[i])) return false;
    return true;
  }
  const { keys, values } = snap as ObjectSnap;
  return keysMatch(value, keys, values);
}

/**
 * Whether a plain object's own enumerable keys are `keys`, in that order, and each value matches its
 * snapshot: for-in walks own enumerable string keys in Object.keys order (and, with no prototype or
 * Object.prototype's, nothing inherited), the order JSON.stringify writes.
 */
export function keysMatch(value: object, keys: readonly string[], values: readonly Snap[]): boolean {
  let i = 0;
  for (const key in value) {
    if (i >= keys.length || keys[i] !== key || !matches((value as Record<string, unknown>)[key], values[i]!)) return false;
    i++;
  }
  return i === keys.length;
}
