/**
 * The live-set shortcut (validateInstrumentEdit) must give exactly validateConfig's verdict: the
 * same issues, in the same order, with the same messages, and the same specs when it accepts.
 * Random edits of one instrument's params / poll interval on the shipped config (every driver,
 * modules with roles), valid and invalid alike, each compared with a full validation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { validateConfig, validateInstrumentEdit } from '../../src/config/validate.js';
import type { ConfigModel, InstrumentModel } from '../../src/config/model.js';
import { cloneModel } from '../../src/config/model.js';
import type { InstrumentSpec } from '../../src/config/resolve.js';
import type { ParamDecl } from '../../src/drivers/types.js';
import { mulberry32 } from '../helpers/prng.js';

const SHIPPED = readFileSync(new URL('../../config/default.toml', import.meta.url), 'utf8');

/** Small deterministic PRNG (mulberry32): a failure names its seed and replays exactly. */
function rng(seed: number) {
  const next = mulberry32(seed);
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

/** Valid and invalid values for one declared parameter. */
function candidates(decl: ParamDecl): unknown[] {
  const odd = [true, 'x', -1, 1.5, '', 'ON', 0, 1e12, Number.NaN];
  switch (decl.type) {
    case 'number':
    case 'integer': {
      const lo = decl.min ?? -1000;
      const hi = decl.max ?? 1000;
      return [lo, hi, (lo + hi) / 2, Math.round((lo + hi) / 2), lo - 1, hi + 1, String(hi), `${lo}x`, ...odd];
    }
    case 'boolean':
      return [true, false, 'true', 'off', 1, 0, 2, ...odd];
    case 'enum':
      return [...(decl.values ?? []), ...(decl.values ?? []).map((v) => String(v).toUpperCase()), 'nope', 7, ...odd];
    default:
      return ['text', ...odd];
  }
}

/** A next config sharing everything with `prev` but a copy of instruments[id] (as a live set builds it). */
function editOf(prev: ConfigModel, id: string): { next: ConfigModel; table: InstrumentModel } {
  const table = cloneModel(prev.instruments![id]!);
  const instruments: Record<string, InstrumentModel> = {};
  for (const k of Object.keys(prev.instruments!)) instruments[k] = k === id ? table : prev.instruments![k]!;
  const next: ConfigModel = {};
  for (const k of Object.keys(prev)) next[k] = k === 'instruments' ? instruments : prev[k];
  return { next, table };
}

function randomEdit(r: ReturnType<typeof rng>, table: InstrumentModel, decls: ParamDecl[]): void {
  const edits = 1 + Math.floor(r.next() * 3);
  for (let e = 0; e < edits; e++) {
    const what = r.next();
    if (what < 0.6 && decls.length > 0) {
      const decl = r.pick(decls);
      table.params = { ...(table.params ?? {}), [decl.name]: r.pick(candidates(decl)) as never };
    } else if (what < 0.7) {
      table.params = { ...(table.params ?? {}), [r.pick(['wavelenght_nm', 'bogus', 'x'])]: 1 };
    } else if (what < 0.85) {
      table.poll_interval_ms = r.pick([10, 50, 1000, 86_400_000, 9, 86_400_001, 1.5, -5, '100', true]) as never;
    } else if (what < 0.9) {
      delete table.poll_interval_ms;
    } else if (what < 0.95) {
      delete table.params;
    } else {
      table.params = r.pick(['oops', 5, [1, 2], null]) as never;
    }
  }
}

function verdictOf(result: { issues: unknown[]; specs: Map<string, InstrumentSpec> }) {
  return { issues: result.issues, specs: result.issues.length === 0 ? [...result.specs.entries()] : [] };
}

describe('validateInstrumentEdit (the live-set shortcut)', () => {
  it('gives validateConfig’s exact verdict on random one-instrument edits', () => {
    const loaded = loadConfigText(SHIPPED, 'config/default.toml');
    let prev = loaded.model as ConfigModel;
    let prevSpecs: Map<string, InstrumentSpec> = validateConfig(prev).specs;
    const ids = Object.keys(prev.instruments!);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const seed = 1000 + i;
      const r = rng(seed);
      const id = r.pick(ids);
      const spec = prevSpecs.get(id)!;
      const decls = spec.driver.params(spec.options as never);
      const { next, table } = editOf(prev, id);
      randomEdit(r, table, decls);
      const full = validateConfig(next);
      const fast = validateInstrumentEdit(prev, prevSpecs, next);
      expect(fast, `seed ${seed}: the shortcut applies to a params/poll edit`).toBeDefined();
      expect(verdictOf(fast!), `seed ${seed} (${id}: ${JSON.stringify(table.params)} poll ${String(table.poll_interval_ms)})`).toEqual(verdictOf(full));
      if (full.issues.length === 0) {
        // Go on from the accepted config, as the running daemon does.
        accepted++;
        prev = next;
        prevSpecs = fast!.specs;
      } else refused++;
    }
    // The random edits exercise both verdicts, plenty of each.
    expect(accepted).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });

  it('declines (full validation instead) any edit that is not confined to one instrument’s params / poll interval', () => {
    const prev = loadConfigText(SHIPPED, 'config/default.toml').model as ConfigModel;
    const specs = validateConfig(prev).specs;
    const id = Object.keys(prev.instruments!)[0]!;
    const declined = (edit: (next: ConfigModel, table: InstrumentModel) => void) => {
      const { next, table } = editOf(prev, id);
      edit(next, table);
      return validateInstrumentEdit(prev, specs, next);
    };
    expect(declined((_n, t) => (t.port = 'sim:other'))).toBeUndefined();
    expect(declined((_n, t) => (t.enabled = false))).toBeUndefined();
    expect(declined((_n, t) => (t.timeout_ms = 200))).toBeUndefined();
    expect(declined((_n, t) => (t.description = 'new'))).toBeUndefined();
    expect(declined((n) => (n.instruments!.extra = { driver: 'newport_1830c', port: 'sim' }))).toBeUndefined();
    expect(declined((n) => (n.modules = cloneModel(n.modules)))).toBeUndefined();
    expect(declined((n) => (n.application = { name: 'x' }))).toBeUndefined();
    // A deep copy of everything (what draft() makes) cannot be checked piecewise either.
    expect(validateInstrumentEdit(prev, specs, cloneModel(prev))).toBeUndefined();
    // Two instruments changed at once: full validation.
    const { next } = editOf(prev, id);
    const other = Object.keys(prev.instruments!)[1]!;
    next.instruments![other] = cloneModel(next.instruments![other]!);
    expect(validateInstrumentEdit(prev, specs, next)).toBeUndefined();
  });
});
