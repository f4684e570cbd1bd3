/**
 * Property tests for the local verification (src/persistence/toml-local-verify.ts): it may only
 * ever say "this text reads back as exactly `next`" when a full re-parse with smol-toml says so
 * too, and the writer must produce the same text (or the same error) with it as without it.
 *
 * Random hand-style files (comments everywhere, quoted and dotted keys, inline tables, arrays,
 * multi-line values, strings with quotes and escapes, CRLF, no final newline) get random changes;
 * the writer's results are then also corrupted on purpose (a duplicated key or header, a dotted
 * key over a header's table, an array-of-tables header, a header dropped or inserted mid-section,
 * a value or a number kind changed) so that the cases a check of the changed lines alone would
 * get wrong are there. Seeded: a failure names its seed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyOp, diffConfig, getAt, isTable, sameValue, type ConfigOp } from '../../src/persistence/config-diff.js';
import { advanceKnown, indexOf, knownDoc, type KnownDoc } from '../../src/persistence/toml-known.js';
import { basicString, formatKey, formatKeyPath } from '../../src/persistence/toml-literal.js';
import { verifyLocally } from '../../src/persistence/toml-local-verify.js';
import { changedRegion } from '../../src/persistence/toml-region.js';
import { scanToml, type ScanItem } from '../../src/persistence/toml-scan.js';
import { sectionsOf } from '../../src/persistence/toml-sections.js';
import { TouchIndex } from '../../src/persistence/toml-touches.js';
import { parseExact, whyNotExactly, type KindCheck } from '../../src/persistence/toml-verify.js';
import { renderConfigChange, renderConfigEdit, renderStats } from '../../src/persistence/toml-writer.js';
import { mulberry32 } from '../helpers/prng.js';
import { NOW, type Model } from './helpers.js';

function prng(seed: number) {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const chance = (p: number) => next() < p;
  return { int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

const BARE = ['gain', 'rate', 'mode', 'port', 'label', 'limit', 'x', 'y', 'params', 'sub'];
const ODD = ['with space', 'dot.ted', 'ключ', 'q"uote', 'back\\slash', 'a=b', '#hash'];
const TEXTS = ['sim', 'a "quoted" word', 'tab\there', "it's", 'line\nbreak', 'back\\slash', '[not a header]', '# not a comment', ''];

function keyText(rng: Rng, key: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(key) && rng.chance(0.8)) return key;
  if (!key.includes("'") && rng.chance(0.3)) return `'${key}'`;
  return basicString(key);
}

function literal(rng: Rng, depth = 0): string {
  switch (rng.int(0, depth > 1 ? 6 : 9)) {
    case 0: return String(rng.int(-5, 100000));
    case 1: return `${rng.int(0, 99)}.${rng.pick(['0', '5', '25'])}`;
    case 2: return rng.pick(['true', 'false', '0x1F', '1e3', '-0.5', '1_000']);
    case 3: return `'${rng.pick(['info', 'C:\\data', 'x "y"'])}'`;
    case 4: return rng.pick(['1979-05-27T07:32:00Z', '1979-05-27', '07:32:00']);
    case 5:
    case 6: return basicString(rng.pick(TEXTS));
    case 7: {
      const items = Array.from({ length: rng.int(0, 3) }, () => literal(rng, depth + 1));
      return rng.chance(0.3) ? `[\n  ${items.join(', # c\n  ')}${items.length ? ',' : ''}\n]` : `[${items.join(', ')}]`;
    }
    case 8: {
      const keys = [...new Set(Array.from({ length: rng.int(0, 3) }, () => rng.pick([...BARE, ...ODD])))];
      return `{ ${keys.map((k) => `${keyText(rng, k)} = ${literal(rng, depth + 1)}`).join(', ')} }`;
    }
    default: return rng.chance(0.5) ? `"""\nfirst\n[looks = "like a header"]\n"""` : `'''\n# not a comment\n'''`;
  }
}

const comment = (rng: Rng) => rng.pick(['# note', '# [fake.header]', '#', '# key = "value"']);

/** A hand-style TOML text that parses (retried until it does). */
function generate(rng: Rng): string {
  for (;;) {
    const lines: string[] = [];
    if (rng.chance(0.5)) lines.push('# Generated config', '');
    const rows = (n: number) => {
      const used = new Set<string>();
      for (let i = 0; i < n; i++) {
        const key = rng.pick([...BARE, ...ODD]);
        const dotted = rng.chance(0.15) ? `${keyText(rng, rng.pick(BARE))}.` : '';
        if (used.has(dotted + key)) continue;
        used.add(dotted + key);
        if (rng.chance(0.2)) lines.push(comment(rng));
        lines.push(`${rng.chance(0.1) ? '  ' : ''}${dotted}${keyText(rng, key)} = ${literal(rng)}${rng.chance(0.2) ? '  ' + comment(rng) : ''}`);
      }
    };
    rows(rng.int(0, 3));
    const headers = new Set<string>();
    for (let s = rng.int(1, 7); s > 0; s--) {
      let path: string[];
      if (rng.chance(0.5)) path = ['instruments', `pm${rng.int(0, 5)}`, ...(rng.chance(0.4) ? ['params'] : [])];
      else path = Array.from({ length: rng.int(1, 3) }, () => rng.pick([...BARE, ...ODD]));
      const shown = path.map((k) => keyText(rng, k)).join(rng.chance(0.1) ? ' . ' : '.');
      if (headers.has(JSON.stringify(path))) continue;
      headers.add(JSON.stringify(path));
      if (rng.chance(0.6)) lines.push('');
      if (rng.chance(0.3)) lines.push(comment(rng));
      lines.push(`[${shown}]${rng.chance(0.2) ? ' ' + comment(rng) : ''}`);
      rows(rng.int(0, 4));
    }
    const nl = rng.chance(0.2) ? '\r\n' : '\n';
    const text = lines.join(nl) + (rng.chance(0.85) ? nl : '');
    try {
      parseExact(text);
      return text;
    } catch {
      // a generated collision (a dotted key under a header's table, ...): try again
    }
  }
}

/** A value of the kinds the model holds (integers as bigint, as a parse gives them). */
function value(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 1 ? 4 : 6)) {
    case 0: return BigInt(rng.int(-3, 5000));
    case 1: return rng.int(0, 400) / 8;
    case 2: return rng.chance(0.5);
    case 3:
    case 4: return rng.pick(TEXTS) + rng.pick(['', ' "x"', '\\', '\u00e9']);
    case 5: return Array.from({ length: rng.int(0, 3) }, () => value(rng, depth + 1));
    default: return Object.fromEntries(Array.from({ length: rng.int(0, 2) }, () => [rng.pick([...BARE, ...ODD]), value(rng, depth + 1)]));
  }
}

/** Every table path of a model (the root included). */
function tables(model: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (!isTable(model)) return out;
  out.push(path);
  for (const key of Object.keys(model)) tables(model[key], [...path, key], out);
  return out;
}

function setAt(model: Model, path: string[], v: unknown): void {
  const parent = getAt(model, path.slice(0, -1)) as Model;
  if (v === undefined) delete parent[path[path.length - 1]!];
  else parent[path[path.length - 1]!] = v;
}

/** A random change of `prev`: set, add or remove keys and tables, add or remove an instrument. */
function change(rng: Rng, prev: Model): Model {
  const next = structuredClone(prev);
  for (let n = rng.chance(0.2) ? 2 : 1; n > 0; n--) {
    const all = tables(next);
    const table = rng.pick(all);
    const keys = Object.keys(getAt(next, table) as Model);
    switch (rng.int(0, 5)) {
      case 0:
      case 1: if (keys.length) setAt(next, [...table, rng.pick(keys)], value(rng)); break;
      case 2: setAt(next, [...table, rng.pick([...BARE, ...ODD, `new${rng.int(0, 9)}`])], value(rng)); break;
      case 3: if (keys.length && table.length > 0) setAt(next, [...table, rng.pick(keys)], undefined); break;
      case 4: next.instruments ??= {}; if (isTable(next.instruments)) next.instruments[`added${rng.int(0, 9)}`] = { driver: 'sim', port: 'sim', params: { gain: 1.5, [rng.pick(ODD)]: value(rng) } }; break;
      default: {
        const ids = isTable(next.instruments) ? Object.keys(next.instruments) : [];
        if (ids.length) delete next.instruments[rng.pick(ids)];
      }
    }
  }
  return next;
}

/** Number-kind checks as the splicer makes them: every number under a set or added path keeps its kind in `next`. */
function kindChecks(ops: readonly ConfigOp[], next: unknown): KindCheck[] {
  return ops.filter((op) => op.kind !== 'remove').map((op) => ({
    path: op.path,
    kindAt: (sub) => {
      const v = getAt(next, [...op.path, ...sub.map(String)]);
      return typeof v === 'bigint' ? 'integer' : typeof v === 'number' ? 'float' : undefined;
    },
  }));
}

function outcome(run: () => string): { text: string } | { error: string } {
  try {
    return { text: run() };
  } catch (err) {
    return { error: String((err as Error).message) };
  }
}

const statementLines = (text: string) => scanToml(text).items.filter((i) => i.kind === 'row' || i.kind === 'header');
const lineOf = (text: string, item: ScanItem) => text.slice(item.start, item.end).replace(/\r?\n$/, '');

/** Ways to break a text the writer produced; most make it wrong, a few are harmless. */
function corrupt(rng: Rng, text: string): string {
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const at = rng.int(0, lines.length);
  const insert = (line: string, where = at) => [...lines.slice(0, where), line, ...lines.slice(where)].join(nl);
  const statements = statementLines(text);
  const headers = statements.filter((i): i is ScanItem & { kind: 'header' } => i.kind === 'header');
  const anyStatement = statements.length ? lineOf(text, rng.pick(statements)) : 'k = 1';
  const header = headers.length ? rng.pick(headers).path : ['instruments', 'pm0'];
  switch (rng.int(0, 10)) {
    case 0: return insert(anyStatement); // the same key or header twice
    case 1: return insert(`[ ${header.map(formatKey).join(' . ')} ]`); // a header again, spelled differently
    case 2: return insert(`${formatKeyPath(header)}.zz = 1`, 0); // a dotted key over a header's table
    case 3: return insert(`${formatKeyPath(header)} = 1`, 0); // a value where a header's table is
    case 4: return insert(`[[${formatKeyPath(header)}]]`);
    case 5: { // a header dropped: its rows land in the table above
      const gone = headers.length ? lineOf(text, rng.pick(headers)) : '';
      return lines.filter((l) => l !== gone).join(nl);
    }
    case 6: return insert(`[${formatKeyPath([...header, 'sub'])}]`); // a header mid-section captures the rows below
    case 7: return text.replace(/(= -?\d+)\.0\b/, '$1'); // a float written as an integer
    case 8: return text.replace(/= (\d+)\b/, (_m, d: string) => `= ${Number(d) + 1}`); // a value changed
    case 9: return insert(comment(rng)); // harmless
    default: return insert(rng.pick(['', '   ', '# [a.b]'])); // harmless
  }
}

/** A check of the changed lines alone: they parse under their header (what a naive local check does). */
function naiveOk(before: string, after: string): boolean {
  const region = changedRegion(before, after);
  if (!region) return true;
  const scan = scanToml(before);
  const header = [...scan.items].reverse().find((i) => i.kind === 'header' && i.start < region.start);
  try {
    parseExact(`${header && header.kind === 'header' ? `[${formatKeyPath(header.path)}]\n` : ''}${after.slice(region.start, region.newEnd)}`);
    return true;
  } catch {
    return false;
  }
}

/** The known model with a render's edits applied (copying: the known model stays as it was). */
const after = (known: KnownDoc, ops: readonly ConfigOp[]) => ops.reduce<unknown>((model, op) => applyOp(model, op), known.model);

function expectIndexCurrent(known: KnownDoc): void {
  const fresh = scanToml(known.text);
  const index = indexOf(known)!;
  expect(index.scan.items).toEqual(fresh.items);
  expect(index.scan.newline).toBe(fresh.newline);
  expect(index.scan.endsWithNewline).toBe(fresh.endsWithNewline);
  expect(index.touches.entries()).toEqual(TouchIndex.of(fresh).entries());
  // The splicer's section list, advanced with the scan rather than rebuilt (toml-sections.ts).
  expect(sectionsOf(index.scan)).toEqual(sectionsOf(fresh));
}

describe('local verification of a change', () => {
  // dt.patch (the writer's fallback for shapes it does not splice) warns about CRLF files on stderr.
  beforeAll(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
  afterAll(() => { vi.restoreAllMocks(); });

  it('400 seeded files x 6 changes: the writer gives the same text or the same error with the local check as with a full re-parse; the advanced scan and index equal fresh ones', () => {
    let renders = 0, spliced = 0, local = 0, refused = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = prng(seed);
      let text = generate(rng);
      let known = knownDoc(text, parseExact(text));
      for (let step = 0; step < 6; step++) {
        const prev = known.model as Model;
        const next = change(rng, prev);
        const untouched = structuredClone(prev);
        const full = outcome(() => renderConfigChange(text, prev, next, { now: NOW }));
        let rendered: ReturnType<typeof renderConfigEdit> | undefined;
        const splicedBefore = renderStats.spliced;
        const fast = outcome(() => (rendered = renderConfigEdit(text, prev, next, { now: NOW, known })).text);
        expect(fast, `seed ${seed} step ${step}`).toEqual(full);
        expect(prev, 'the render changes the known model only while splicing').toEqual(untouched);
        renders++;
        // Only the fast path (every edit spliced) is verified locally; the careful path re-parses.
        if (renderStats.spliced > splicedBefore) spliced++;
        if (!('text' in full) || !rendered) { refused++; break; }
        if (rendered.local) {
          local++;
          known = advanceKnown(known, rendered.local, rendered.text, after(known, rendered.ops));
          expectIndexCurrent(known);
        } else {
          known = knownDoc(rendered.text, parseExact(rendered.text));
        }
        expect(whyNotExactly(known.text, known.model), `seed ${seed} step ${step}`).toBeUndefined();
        text = rendered.text;
      }
    }
    console.log(`local-verify writer test: ${renders} renders, ${spliced} spliced, ${local} of those verified locally, ${refused} refused by both`);
    // The local check must carry most spliced changes, or it is not doing its job.
    expect(local).toBeGreaterThan(spliced * 0.85);
  });

  it('600 seeded corruptions of the writer\'s output: the local check never accepts a text the full re-parse rejects, and catches what a check of the changed lines alone would not', () => {
    let cases = 0, fullRejects = 0, naiveWrong = 0, localOk = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const rng = prng(10_000 + seed);
      const before = generate(rng);
      const prev = parseExact(before) as Model;
      const next = change(rng, prev);
      let written: string;
      try {
        written = renderConfigChange(before, prev, next, { now: NOW });
      } catch {
        continue;
      }
      const ops = diffConfig(prev, next);
      const checks = kindChecks(ops, next);
      for (let k = 0; k < 3; k++) {
        const text = corrupt(rng, written);
        const full = whyNotExactly(text, next, checks);
        const proved = verifyLocally(knownDoc(before, prev), text, next, ops, checks);
        cases++;
        if (proved) {
          localOk++;
          expect(full, `seed ${seed} corruption ${k}: the local check accepted\n${text}`).toBeUndefined();
        }
        if (full !== undefined) {
          fullRejects++;
          if (naiveOk(before, text)) naiveWrong++;
        }
      }
    }
    console.log(`local-verify corruption test: ${cases} texts, ${fullRejects} rejected by the full parse (${naiveWrong} of them passed a changed-lines-only parse), ${localOk} proved locally`);
    expect(fullRejects).toBeGreaterThan(cases * 0.4);
    expect(naiveWrong).toBeGreaterThan(50);
    expect(localOk).toBeGreaterThan(50);
  });

  it('a change of more than 10 000 lines advances the scan and the index like one of a few', () => {
    const text = '[a]\nx = 1\n\n[b]\ny = 2\n';
    const prev = parseExact(text) as Model;
    const big = Object.fromEntries(Array.from({ length: 10_500 }, (_, i) => [`k${i}`, BigInt(i)]));
    const next = { ...prev, a: { ...prev.a, big } };
    const known = knownDoc(text, prev);
    const rendered = renderConfigEdit(text, prev, next, { now: NOW, known });
    expect(rendered.local).toBeDefined();
    expectIndexCurrent(advanceKnown(known, rendered.local!, rendered.text, after(known, rendered.ops)));
    expect(known.model).toBe(prev); // the render left the known model as it was
    expect(sameValue(prev, parseExact(text))).toBe(true);
  });

  it('gives up (rather than guessing) on a text that only a full parse can judge', () => {
    const before = '[a]\nx = 1\n\n[b]\ny = 2\n';
    const prev = parseExact(before) as Model;
    const next = { ...prev, b: { y: 3n } };
    const ops = diffConfig(prev, next);
    // The change itself, right: proved.
    expect(verifyLocally(knownDoc(before, prev), '[a]\nx = 1\n\n[b]\ny = 3\n', next, ops, [])).toBeDefined();
    // The same change plus `[a]` opened again below: the lines alone parse, the file does not.
    expect(verifyLocally(knownDoc(before, prev), '[a]\nx = 1\n\n[b]\ny = 3\n[a]\n', next, ops, [])).toBeUndefined();
    // A duplicate key in the edited table.
    expect(verifyLocally(knownDoc(before, prev), '[a]\nx = 1\n\n[b]\ny = 2\ny = 3\n', next, ops, [])).toBeUndefined();
    // A model the text does not hold.
    expect(verifyLocally(knownDoc(before, prev), '[a]\nx = 1\n\n[b]\ny = 4\n', next, ops, [])).toBeUndefined();
    expect(sameValue(parseExact('[a]\nx = 1\n\n[b]\ny = 3\n'), next)).toBe(true);
  });
});
