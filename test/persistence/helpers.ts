import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { renderConfigChange, renderStats, type WriteAnnotations } from '../../src/persistence/toml-writer.js';

export const NOW = new Date('2026-11-23T06:50:00.123Z');
export const TS = '2026-11-23T06:50:00Z';

export function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8');
}

/** Deep copy of a parsed model that keeps date objects as they are (what the manager does). */
export function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  }
  return value;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit the model freely
export type Model = any;

/**
 * What a file holding `model` reads back as when it had no bare `[instruments]` / `[modules]`
 * header: once the last table under one is removed it is absent from the file (an emptied
 * `[application]` keeps the header a person wrote, so only these two).
 */
export function readBack(model: Model): Model {
  const out = { ...model };
  for (const top of ['instruments', 'modules']) if (out[top] && Object.keys(out[top]).length === 0) delete out[top];
  return out;
}

/** Parse `text`, apply `change` to a copy, render the change into `text`. */
export function edit(text: string, change: (model: Model) => void, ann: WriteAnnotations = {}): { out: string; next: Model } {
  const prev = parse(text);
  const next = copy(prev);
  change(next);
  return { out: renderConfigChange(text, prev, next, { now: NOW, ...ann }), next };
}

/** Replace exactly one occurrence of `find` (fails loudly if it is missing or ambiguous). */
export function replaceOnce(text: string, find: string, replacement: string): string {
  const at = text.indexOf(find);
  if (at < 0 || text.indexOf(find, at + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(find)} in the text`);
  return text.slice(0, at) + replacement + text.slice(at + find.length);
}

export const toCrlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

/** The shapes every golden test runs in: the LF text, CRLF, and a BOM without a final newline. */
export const VARIANTS: Array<[string, (text: string) => string]> = [
  ['LF', (t) => t],
  ['CRLF', toCrlf],
  ['BOM, no final newline', (t) => `\uFEFF${t.replace(/\n$/, '')}`],
];

/**
 * A file taken through changes the way the daemon does it: the model after a change is the
 * intended one (an emptied table stays `{}` in it), or, after a reload, what the file parses to.
 * Each render is given the text daqd itself last wrote (`ownText`), as ConfigFile does, so a
 * person's edit (`handEdit`) is told apart from daqd's own notes.
 */
export function session(text: string, options: { now?: () => Date } = {}) {
  let model: Model = parse(text);
  let ownText = text;
  const counted = { ...renderStats };
  return {
    change(change: (m: Model) => void, numberKind?: (path: string[]) => 'integer' | 'float' | undefined): string {
      const next = copy(model);
      change(next);
      const out = renderConfigChange(text, model, next, { now: options.now?.() ?? NOW, numberKind, ownText });
      if (out !== text) ownText = out; // a change that renders nothing writes nothing
      text = out;
      model = next;
      return text;
    },
    reload() { model = parse(text); },
    /** A person edits the file and daqd reloads it. */
    handEdit(edit: (text: string) => string): string {
      text = edit(text);
      model = parse(text);
      return text;
    },
    get text(): string { return text; },
    get model(): Model { return model; },
    /** Renders that needed the slow, per-edit path (or dt.patch) since the session began. */
    get slowRenders() { return renderStats.careful - counted.careful + renderStats.patchedOps - counted.patchedOps; },
  };
}
