/**
 * Property test: random hand-style configs (comments, blank lines, quoted keys, CRLF, BOM, missing
 * final newline) and random edit sequences. After every edit the file must read back as the
 * intended model with every number keeping its kind, and every comment that belongs to a table or
 * key still present must still be there. Seeded, so a failure names a reproducible case.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { renderConfigChange, renderStats } from '../../src/persistence/toml-writer.js';
import { diffConfig } from '../../src/persistence/config-diff.js';
import { MAX_REMOVED_NOTES } from '../../src/persistence/toml-notes.js';
import { scanToml, type KeyRow } from '../../src/persistence/toml-scan.js';
import { copy, readBack, type Model } from './helpers.js';
import { mulberry32 } from '../helpers/prng.js';

/** mulberry32: small, fast, seedable. */
function prng(seed: number) {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

interface Comment { token: string; table: string; key?: string }

interface Generated { text: string; comments: Comment[] }

const STRINGS = ['sim', '/dev/ttyUSB0', 'a "quoted" word', 'tab\there', 'ünïcødé µm', 'back\\slash', "it's", 'line\nbreak', ''];

function literalFor(rng: Rng): string {
  switch (rng.int(0, 7)) {
    case 0: return String(rng.int(-5, 100000));
    case 1: return `${rng.int(0, 99)}.0`;
    case 2: return `${rng.int(0, 99)}.${rng.int(1, 99)}`;
    case 3: return rng.pick(['true', 'false']);
    case 4: return `'${rng.pick(['info', 'C:\\data', 'x y'])}'`;
    case 5: return `[${Array.from({ length: rng.int(0, 4) }, () => rng.int(0, 9)).join(', ')}]`;
    case 6: return rng.pick(['0x1F', '1e3', '-0.5', '2.5e-3']);
    default: return JSON.stringify(rng.pick(STRINGS));
  }
}

function keyFor(rng: Rng, used: Set<string>): string {
  for (;;) {
    const key = rng.chance(0.1) ? `"${rng.pick(['with space', 'dot.ted', 'ключ'])}"` : `${rng.pick(['gain', 'rate', 'mode', 'limit', 'offset', 'label', 'count'])}_${rng.int(0, 99)}`;
    if (!used.has(key)) { used.add(key); return key; }
  }
}

function generate(rng: Rng): Generated {
  const lines: string[] = [];
  const comments: Comment[] = [];
  let serial = 0;
  const comment = (table: string, key?: string) => {
    const token = `note-${serial++}`;
    comments.push({ token, table, ...(key ? { key } : {}) });
    return `# ${token}`;
  };
  const blank = () => { if (rng.chance(0.5)) lines.push(''); };
  const section = (path: string, fixed: Array<[string, string]>, extra: number) => {
    blank();
    for (let i = rng.int(0, 2); i > 0; i--) lines.push(comment(path));
    lines.push(`[${path}]${rng.chance(0.2) ? `  ${comment(path)}` : ''}`);
    const used = new Set(fixed.map(([k]) => k));
    const rows: Array<[string, string]> = [...fixed];
    for (let i = 0; i < extra; i++) rows.push([keyFor(rng, used), literalFor(rng)]);
    for (const [key, literal] of rows) {
      const bare = key.replace(/^"|"$/g, '');
      if (rng.chance(0.15)) lines.push(comment(path, bare));
      lines.push(`${key} = ${literal}${rng.chance(0.3) ? `${' '.repeat(rng.int(1, 6))}${comment(path, bare)}` : ''}`);
      if (rng.chance(0.1)) lines.push('');
    }
  };

  if (rng.chance(0.6)) { lines.push(comment('')); blank(); }
  if (rng.chance(0.3)) lines.push(`version = ${rng.int(1, 3)}`);
  section('application', [['name', '"lab"']], rng.int(0, 3));
  if (rng.chance(0.7)) section('application.dynamic_config', [['enable_persistence', 'true']], rng.int(0, 2));
  const instruments = rng.int(1, 6);
  for (let i = 0; i < instruments; i++) {
    section(`instruments.i${i}`, [['driver', '"sim"'], ['port', `"/dev/ttyS${i}"`]], rng.int(0, 3));
    if (rng.chance(0.7)) section(`instruments.i${i}.params`, [], rng.int(1, 4));
  }
  for (let i = rng.int(0, 3); i > 0; i--) {
    section(`modules.m${i}`, [['type', '"scan"']], rng.int(0, 1));
    if (rng.chance(0.8)) section(`modules.m${i}.roles`, [['meter', '"i0"']], 0);
  }
  if (rng.chance(0.3)) { lines.push(''); lines.push(comment('')); }

  let text = lines.join('\n') + '\n';
  if (rng.chance(0.3)) text = text.replace(/\n/g, '\r\n');
  if (rng.chance(0.15)) text = text.replace(/\r?\n$/, '');
  if (rng.chance(0.15)) text = `\uFEFF${text}`;
  return { text, comments };
}


/** Joins paths in the kind maps (keys may contain dots). */
const SEP = '|';

/** Every numeric leaf's kind, as the file says (integersAsBigInt). */
function kinds(model: unknown, path: string[] = [], out = new Map<string, 'integer' | 'float'>()) {
  if (typeof model === 'bigint') out.set(path.join(SEP), 'integer');
  else if (typeof model === 'number') out.set(path.join(SEP), 'float');
  else if (model && typeof model === 'object' && !(model instanceof Date) && !Array.isArray(model)) {
    for (const [k, v] of Object.entries(model)) kinds(v, [...path, k], out);
  }
  return out;
}

function leaves(model: Model, path: string[] = [], out: string[][] = []): string[][] {
  for (const [k, v] of Object.entries(model)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) leaves(v, [...path, k], out);
    else out.push([...path, k]);
  }
  return out;
}

function tablesOf(model: Model, under: string): string[] {
  return Object.keys(model[under] ?? {});
}

function newValue(rng: Rng, old: unknown): unknown {
  if (typeof old === 'number') return rng.chance(0.5) ? rng.int(-1000, 1000) : rng.int(0, 10000) / 8;
  if (typeof old === 'boolean') return !old;
  if (Array.isArray(old)) return Array.from({ length: rng.int(0, 3) }, () => rng.int(0, 50));
  return rng.pick([...STRINGS, `v${rng.int(0, 999)}`]);
}

interface Edit { apply: (m: Model) => void; removes: string[]; removedKeys: string[]; kind: Map<string, 'integer' | 'float'> }

const plainEdit = (apply: (m: Model) => void): Edit => ({ apply, removes: [], removedKeys: [], kind: new Map() });

function removeTableEdit(top: 'instruments' | 'modules', id: string): Edit {
  return { ...plainEdit((m) => { delete m[top][id]; }), removes: [`${top}.${id}`] };
}

function addInstrumentEdit(rng: Rng, id: string): Edit {
  const edit = plainEdit(() => undefined);
  if (rng.chance(0.5)) edit.kind.set(['instruments', id, 'params', 'level'].join(SEP), 'float');
  const table = { driver: 'sim', port: `sim://${id}`, params: { level: rng.int(1, 9), note: rng.pick(STRINGS) } };
  edit.apply = (m) => { (m.instruments ??= {})[id] = copy(table); };
  return edit;
}

const addModuleEdit = (id: string): Edit => plainEdit((m) => { (m.modules ??= {})[id] = { type: 'scan', roles: { meter: 'i0' } }; });

function randomEdit(rng: Rng, model: Model, serial: number): Edit {
  const choice = rng.int(0, 9);
  const ids = tablesOf(model, 'instruments');
  if (choice <= 3) {
    const all = leaves(model);
    const path = rng.pick(all);
    const value = newValue(rng, path.reduce((n: Model, k) => n[k], model));
    return plainEdit((m) => { path.slice(0, -1).reduce((n: Model, k) => n[k], m)[path[path.length - 1]!] = value; });
  }
  if (choice <= 5) return addInstrumentEdit(rng, `new${serial}`);
  if (choice === 6 && ids.length > 0) return removeTableEdit('instruments', rng.pick(ids));
  if (choice === 7) {
    const mods = tablesOf(model, 'modules');
    if (mods.length > 0 && rng.chance(0.5)) return removeTableEdit('modules', rng.pick(mods));
    return addModuleEdit(`mod${serial}`);
  }
  const all = leaves(model).filter((p) => p.length >= 2);
  if (choice === 8 && all.length > 0) {
    const path = rng.pick(all);
    return { ...plainEdit((m) => { delete path.slice(0, -1).reduce((n: Model, k) => n[k], m)[path[path.length - 1]!]; }), removedKeys: [path.join('.')] };
  }
  const table = rng.pick(['application', ...ids.map((id) => `instruments.${id}`)]).split('.');
  const key = `added_${serial}`;
  const value = rng.chance(0.5) ? rng.int(0, 99) : rng.pick(STRINGS);
  return plainEdit((m) => { table.reduce((n: Model, k) => n[k], m)[key] = value; });
}

/**
 * One generated file taken through a sequence of changes, each rendered by the writer and checked:
 * reads back as intended, number kinds, comments of what is still there, BOM, line endings, final
 * newline, and never a bare `[instruments]` / `[modules]` header a person did not write.
 */
function startRun(seed: number, rng: Rng) {
  const { text: original, comments } = generate(rng);
  let text = original;
  let model: Model = parse(text);
  let expectedKinds = kinds(parse(text, { integersAsBigInt: true }));
  const removedTables: string[] = [];
  const removedKeys: string[] = [];
  let step = 0;
  /** What daqd itself last wrote (as ConfigFile passes it): a hand edit makes the file differ. */
  let ownText = original;
  const where = () => `seed ${seed}, step ${step}`;
  return {
    get model(): Model { return model; },
    get text() { return text; },
    get steps() { return step; },
    /** The daemon after a reload: its model is what the file parses to. */
    reload() { model = parse(text); },
    /** A person edits the file (values only: every comment stays), and daqd reloads it. */
    handEdit(edited: string) {
      text = edited;
      model = parse(text);
      expectedKinds = kinds(parse(text, { integersAsBigInt: true }));
    },
    /** Apply `edits` to a copy of the model, render the change into the file and check the result. */
    change(edits: Edit[]): string {
      const next: Model = copy(model);
      for (const e of edits) e.apply(next);
      const numberKind = (p: string[]) => edits.map((e) => e.kind.get(p.join(SEP))).find(Boolean);
      let out: string;
      try {
        out = renderConfigChange(text, model, next, { now: new Date(Date.UTC(2026, 0, 1, 0, 0, step)), numberKind, ownText });
      } catch (err) {
        throw new Error(`${where()}: ${(err as Error).message}\n--- input ---\n${text}`);
      }
      const parsed = parse(out, { integersAsBigInt: true });
      expect(parse(out), `${where()}\n${out}`).toEqual(readBack(next));

      // Number kinds: untouched numbers keep theirs; changed ones keep theirs unless fractional.
      const actual = kinds(parsed);
      const wanted = new Map<string, 'integer' | 'float'>();
      for (const [path] of actual) {
        const value = path.split(SEP).reduce((n: Model, k) => n?.[k], next);
        const old = expectedKinds.get(path) ?? numberKind(path.split(SEP)) ?? 'integer';
        wanted.set(path, Number.isInteger(value) && old === 'integer' ? 'integer' : 'float');
      }
      expect(actual, where()).toEqual(wanted);
      expectedKinds = actual;

      for (const e of edits) { removedTables.push(...e.removes); removedKeys.push(...e.removedKeys); }
      for (const c of comments) {
        const gone = removedTables.some((t) => c.table === t || c.table.startsWith(`${t}.`))
          || (c.key !== undefined && removedKeys.includes(`${c.table}.${c.key}`));
        if (!gone) expect(out.includes(`# ${c.token}`), `${where()}: comment ${c.token} of ${c.table} lost\n${out}`).toBe(true);
      }
      expect(out, `${where()}: a header nobody wrote`).not.toMatch(/^\[(instruments|modules)\]/m);
      expectTidyRemovedNotes(out, next, where());
      expect(out.startsWith('\uFEFF'), where()).toBe(original.startsWith('\uFEFF'));
      if (original.includes('\r\n')) expect(/(^|[^\r])\n/.test(out), `${where()}: bare LF in a CRLF file`).toBe(false);
      expect(out.endsWith('\n'), where()).toBe(original.endsWith('\n'));
      if (out !== text) ownText = out; // a change that renders nothing writes nothing
      text = out;
      model = next;
      step++;
      return out;
    },
  };
}

/**
 * The "# Removed" notes in `text` are tidy: none for a table that exists, at most one per id (of
 * each kind), at most MAX_REMOVED_NOTES.
 */
function expectTidyRemovedNotes(text: string, model: Model, where: string): void {
  const notes = [...text.matchAll(/^# Removed: (module )?(\S+) at \S+\r?$/gm)].map((m) => [m[1] ? 'modules' : 'instruments', m[2]!] as const);
  expect(notes.length, `${where}: too many notes\n${text}`).toBeLessThanOrEqual(MAX_REMOVED_NOTES);
  const seen = new Set<string>();
  for (const [top, id] of notes) {
    expect(Object.hasOwn(model[top] ?? {}, id), `${where}: a note for ${top}.${id}, which exists\n${text}`).toBe(false);
    expect(seen.has(`${top}.${id}`), `${where}: two notes for ${top}.${id}\n${text}`).toBe(false);
    seen.add(`${top}.${id}`);
  }
}

const statsSince = (before: typeof renderStats) => ({
  spliced: renderStats.spliced - before.spliced,
  careful: renderStats.careful - before.careful,
  patchedOps: renderStats.patchedOps - before.patchedOps,
});

describe('random configs and edit sequences', () => {
  const CASES = 300;
  it(`${CASES} seeded cases read back as intended, keep number kinds, comments, line endings, BOM and final newline`, () => {
    const before = { ...renderStats };
    let steps = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const rng = prng(seed);
      const run = startRun(seed, rng);
      const stepsHere = rng.int(1, 6);
      for (let step = 0; step < stepsHere; step++) {
        // Sometimes two edits in one change (e.g. add + remove).
        const first = randomEdit(rng, run.model, step * 2);
        const edits = [first];
        if (rng.chance(0.25)) {
          const after = copy(run.model);
          first.apply(after);
          edits.push(randomEdit(rng, after, step * 2 + 1));
        }
        run.change(edits);
      }
      steps += run.steps;
    }
    const used = statsSince(before);
    // The splicer, not the slow dt.patch fallback, must carry ordinary edits.
    expect(used.spliced / steps).toBeGreaterThan(0.95);
    console.log(`property test: ${CASES} configs, ${steps} changes; spliced ${used.spliced}, careful ${used.careful}, dt.patch ops ${used.patchedOps}`);
  });
});

describe('emptying [instruments] or [modules] and adding to them again', () => {
  const CASES = 150;
  it(`${CASES} seeded cases: no header left behind, the first new table is a proper section with its note`, () => {
    const before = { ...renderStats };
    let steps = 0;
    let refills = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const rng = prng(100_000 + seed);
      const run = startRun(seed, rng);
      const order = rng.chance(0.5) ? (['instruments', 'modules'] as const) : (['modules', 'instruments'] as const);
      for (const top of order) {
        // Remove every table under it, one or two per change.
        for (let ids = tablesOf(run.model, top); ids.length > 0; ids = tablesOf(run.model, top)) {
          const gone = ids.length > 1 && rng.chance(0.3) ? ids.slice(0, 2) : [rng.pick(ids)];
          run.change(gone.map((id) => removeTableEdit(top, id)));
        }
        // Either the daemon's model (an empty table) or, after a reload, what the file says (no table).
        if (rng.chance(0.3)) run.reload();
        if (rng.chance(0.3)) run.change([randomEdit(rng, run.model, 1000 + run.steps)].filter((e) => e.removes.length === 0));
        const added = Array.from({ length: rng.int(1, 2) }, (_, i) => `${top === 'instruments' ? 'back' : 'mback'}${i}`);
        const make = (id: string) => (top === 'instruments' ? addInstrumentEdit(rng, id) : addModuleEdit(id));
        const out = rng.chance(0.5) ? run.change(added.map(make)) : added.map((id) => run.change([make(id)])).pop()!;
        refills++;
        for (const id of added) expect(out, `seed ${seed}: ${top}.${id}\n${out}`).toMatch(new RegExp(`# Added dynamically: \\S+\\r?\\n\\[${top}\\.${id}\\]`));
      }
      steps += run.steps;
    }
    const used = statsSince(before);
    // Emptying and refilling is ordinary: spliced, never the dt.patch fallback.
    expect(used).toEqual({ spliced: used.spliced, careful: 0, patchedOps: 0 });
    console.log(`empty-and-refill test: ${CASES} configs, ${steps} changes, ${refills} refills; spliced ${used.spliced}`);
  });
});

describe('the same ids removed and added again, many times', () => {
  const CASES = 60;
  it(`${CASES} seeded cases: one "# Removed" note per id, none for an id that exists, at most ${MAX_REMOVED_NOTES}`, () => {
    const before = { ...renderStats };
    let steps = 0;
    let maxNotes = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const rng = prng(200_000 + seed);
      const run = startRun(seed, rng);
      // A pool larger than the bound, so that it is reached; ids come back again and again.
      const pool = Array.from({ length: 28 }, (_, i) => `p${i}`);
      const modulePool = ['mp0', 'mp1', 'mp2'];
      for (let step = 0; step < 60; step++) {
        const instruments = tablesOf(run.model, 'instruments');
        const modules = tablesOf(run.model, 'modules');
        const edits: Edit[] = [];
        const roll = rng.int(0, 9);
        if (roll <= 4 && instruments.length > 1) edits.push(removeTableEdit('instruments', rng.pick(instruments)));
        else if (roll <= 7) {
          const absent = pool.filter((id) => !instruments.includes(id));
          if (absent.length > 0) edits.push(addInstrumentEdit(rng, rng.pick(absent)));
        } else if (roll === 8 && modules.length > 0) edits.push(removeTableEdit('modules', rng.pick(modules)));
        else {
          const absent = modulePool.filter((id) => !modules.includes(id));
          if (absent.length > 0) edits.push(addModuleEdit(rng.pick(absent)));
        }
        if (edits.length === 0) continue;
        // Sometimes the daemon's model is what the file parses to (a reload), not what it wrote.
        if (rng.chance(0.1)) run.reload();
        const out = run.change(edits);
        maxNotes = Math.max(maxNotes, out.match(/^# Removed: /gm)?.length ?? 0);
      }
      steps += run.steps;
    }
    const used = statsSince(before);
    expect(used).toEqual({ spliced: used.spliced, careful: 0, patchedOps: 0 });
    expect(maxNotes, 'the bound was reached at some point').toBe(MAX_REMOVED_NOTES);
    console.log(`remove/add-again test: ${CASES} configs, ${steps} changes; at most ${maxNotes} "# Removed" notes in a file`);
  });
});

/** The rows of `text` (full key path -> the row), and the paths under a `# daqd: set` note. */
function rowsOf(text: string) {
  const { items } = scanToml(text);
  const rows = new Map<string, KeyRow>();
  const noted = new Set<string>();
  items.forEach((item, i) => {
    if (item.kind !== 'row') return;
    const path = [...item.table, ...item.key].join(SEP);
    rows.set(path, item);
    const above = items[i - 1];
    if (above?.kind === 'comment' && /^#\s*daqd: set /.test(text.slice(above.hash))) noted.add(path);
  });
  return { rows, noted };
}

/** A literal a person might type over `old`'s (always a different value). */
function handLiteral(rng: Rng, old: unknown): string {
  if (typeof old === 'boolean') return String(!old);
  if (typeof old === 'number') return String(100_001 + rng.int(0, 999));
  if (Array.isArray(old)) return `[${rng.int(100, 199)}]`;
  return `"by hand ${rng.int(0, 999)}"`;
}

describe('values changed by hand between daqd writes', () => {
  const CASES = 120;
  it(`${CASES} seeded cases: a "# daqd: set" note stands exactly above the values daqd set and nobody changed since`, () => {
    let handEdits = 0;
    let dropped = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const rng = prng(300_000 + seed);
      const run = startRun(seed, rng);
      /** Path -> the value daqd last set there (and no person changed since). */
      const daqdSet = new Map<string, unknown>();
      for (let step = 0; step < 10; step++) {
        const scalars = leaves(run.model).filter((p) => p.length >= 2);
        if (rng.chance(0.35) && daqdSet.size > 0) {
          // A person changes a value: one daqd set (so it has a note) or any other.
          const path = rng.chance(0.7) ? rng.pick([...daqdSet.keys()]).split(SEP) : rng.pick(scalars);
          const row = rowsOf(run.text).rows.get(path.join(SEP))!;
          const old = path.reduce((n: Model, k) => n[k], run.model);
          run.handEdit(run.text.slice(0, row.valueStart) + handLiteral(rng, old) + run.text.slice(row.valueEnd));
          if (daqdSet.delete(path.join(SEP))) dropped++;
          handEdits++;
          continue;
        }
        const path = rng.pick(scalars);
        const value = newValue(rng, path.reduce((n: Model, k) => n[k], run.model));
        const prev = run.model;
        const out = run.change([plainEdit((m) => { path.slice(0, -1).reduce((n: Model, k) => n[k], m)[path[path.length - 1]!] = value; })]);
        const ops = diffConfig(prev, run.model);
        if (ops.length === 0) continue; // the same value again: nothing is written, nothing tidied
        for (const op of ops) daqdSet.set(op.path.join(SEP), value);
        const { noted } = rowsOf(out);
        expect([...noted].sort(), `seed ${seed}, step ${step}\n${out}`).toEqual([...daqdSet.keys()].sort());
      }
    }
    expect(dropped).toBeGreaterThan(50);
    console.log(`hand-edit test: ${CASES} configs, ${handEdits} hand edits, ${dropped} of them of a value daqd had set`);
  });
});
