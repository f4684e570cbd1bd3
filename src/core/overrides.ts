/**
 * Memory-only changes are overrides on top of the file (issue #17). A change made with
 * `persist: false` (or while persistence is off) moves the running config but not the file; a
 * later reload of an unrelated edit must not undo it, as it used to ("file vs running" put the file
 * back everywhere). A reload now applies what the person changed in the file, and keeps every
 * override whose key the edit did not touch. An edit of the same key replaces the override, and
 * the reload says so. `config.sync` writes the overrides into the file (they stop being overrides).
 *
 * The overrides are derived, never stored: the edits that turn what the file should hold (the
 * persister's `desired`) into the running config. So they cannot drift from either.
 */
import { applyOp, diffConfig, type ConfigOp } from '../persistence/config-diff.js';
import type { ConfigModel, ConfigView } from '../config/model.js';

/** One override for status and instrument.get. */
export interface OverrideView {
  path: string;
  kind: ConfigOp['kind'];
  value?: unknown;
  file?: unknown;
}

const cache = new WeakMap<object, { running: object; ops: ConfigOp[] }>();

/** The edits from what the file should hold to the running config (cached per pair of models). */
export function overridesOf(desired: ConfigView, running: ConfigView): ConfigOp[] {
  const hit = cache.get(desired);
  if (hit && hit.running === running) return hit.ops;
  const ops = desired === running ? [] : diffConfig(desired, running);
  cache.set(desired, { running, ops });
  return ops;
}

export function describeOverrides(ops: readonly ConfigOp[]): OverrideView[] {
  return ops.map((op) => ({
    path: op.path.join('.'),
    kind: op.kind,
    ...(op.kind !== 'remove' ? { value: op.value } : {}),
    ...(op.kind !== 'add' ? { file: op.before } : {}),
  }));
}

const overlaps = (a: readonly string[], b: readonly string[]) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

export interface Rebased {
  /** The new file's config with the overrides it did not touch applied on top. */
  next: ConfigModel;
  kept: ConfigOp[];
  /** Overrides whose key the person's edit changed: the edit wins. */
  replaced: ConfigOp[];
}

/**
 * Put the overrides back on top of a newly loaded file. `oldFile` is what the file held before the
 * edit; an override is replaced when the edit changed its key (or a table around or inside it).
 */
export function rebaseOverrides(overrides: readonly ConfigOp[], oldFile: ConfigView, newFile: ConfigModel): Rebased {
  if (overrides.length === 0) return { next: newFile, kept: [], replaced: [] };
  const edited = diffConfig(oldFile, newFile).map((op) => op.path);
  const kept: ConfigOp[] = [];
  const replaced: ConfigOp[] = [];
  let next = newFile as Record<string, unknown>;
  for (const op of overrides) {
    if (edited.some((path) => overlaps(path, op.path))) {
      replaced.push(op);
      continue;
    }
    next = applyOp(next, op);
    kept.push(op);
  }
  return { next: next as ConfigModel, kept, replaced };
}
