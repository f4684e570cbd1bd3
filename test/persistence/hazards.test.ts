/**
 * Regression tests for what dt.patch() and toml-patch 0.2.3 get wrong (shared/notes/toml.md D1-D7
 * and the 0.2.3 list), plus the shapes that go through the dt.patch() fallback.
 */
import { describe, expect, it } from 'vitest';
import { parse, TomlDate } from 'smol-toml';
import { isDaqError } from '../../src/errors.js';
import { renderConfigChange } from '../../src/persistence/toml-writer.js';
import { copy, edit, NOW, TS, type Model } from './helpers.js';

function rejectionOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('dt.patch hazards D1-D7', () => {
  const D1 = 'r = 1\n\n# scope\n[instruments.a]\nx = 1.0\n\n[instruments.b]\ny = 2\n';

  it('D1: a new instrument becomes a [section] after the last one, never a dotted key at the top', () => {
    const { out } = edit(D1, (m) => { m.instruments.c = { z: 3 }; });
    expect(out).toBe(`${D1}\n# Added dynamically: ${TS}\n[instruments.c]\nz = 3\n`);
  });

  it('D2: add and delete in one change keep the sections, comments and 1.0', () => {
    const { out } = edit(D1, (m) => { m.instruments.c = { z: 3 }; delete m.instruments.b; });
    expect(out).toBe(`r = 1\n\n# scope\n[instruments.a]\nx = 1.0\n\n# Removed: b at ${TS}\n\n# Added dynamically: ${TS}\n[instruments.c]\nz = 3\n`);
  });

  it('D3: with an [instruments] table of its own, a new instrument is still a section', () => {
    const text = '[instruments]\nn = 1\n\n# scope\n[instruments.a]\nx = 1\n';
    const { out } = edit(text, (m) => { m.instruments.c = { z: 3 }; });
    expect(out).toBe(`${text}\n# Added dynamically: ${TS}\n[instruments.c]\nz = 3\n`);
  });

  it("D4: a new key goes after the table's last row, not under the next header's comment", () => {
    const { out } = edit('[a]\nx = 1\n\n# about b\n[b]\ny = 2\n', (m) => { m.a.z = 3; });
    expect(out).toBe('[a]\nx = 1\nz = 3\n\n# about b\n[b]\ny = 2\n');
  });

  it("D5: deleting a table keeps the next header's comment", () => {
    const { out } = edit('[a]\nx = 1\n\n# about b\n[b]\ny = 2\n', (m) => { delete m.a; });
    expect(out).toBe('# about b\n[b]\ny = 2\n');
  });

  it('D6: an integral number written over a float two keys deep stays a float', () => {
    expect(edit('[a.b]\nv = 5.0\n', (m) => { m.a.b.v = 12; }).out).toBe(`[a.b]\n# daqd: set ${TS} (was 5.0)\nv = 12.0\n`);
    expect(edit('[a.b]\nv = 5.0\n', (m) => { m.a.b.v = 2.5e9; }).out).toBe(`[a.b]\n# daqd: set ${TS} (was 5.0)\nv = 2500000000.0\n`);
    // ...and the integer next to it stays an integer.
    const both = edit('[a.b]\nv = 5.0\nn = 7\n', (m) => { m.a.b.v = 6; m.a.b.n = 8; }).out;
    expect(both).toBe(`[a.b]\n# daqd: set ${TS} (was 5.0)\nv = 6.0\n# daqd: set ${TS} (was 7)\nn = 8\n`);
  });

  it('D7: a structuredClone of the model (LocalDate -> Date) does not rewrite dates', () => {
    const text = 'd = 2023-11-20\nt = 07:32:00\nx = 1\n';
    const prev = parse(text);
    const next = structuredClone(prev) as Model;
    expect(next.d).not.toBeInstanceOf(TomlDate);
    next.x = 2;
    expect(renderConfigChange(text, prev, next, { now: NOW })).toBe(`d = 2023-11-20\nt = 07:32:00\n# daqd: set ${TS} (was 1)\nx = 2\n`);
  });

  it('D7: a changed local date is written as a local date', () => {
    const { out } = edit('d = 2023-11-20 # start\n', (m) => { m.d = new TomlDate('2024-02-29'); });
    expect(out).toBe(`# daqd: set ${TS} (was 2023-11-20)\nd = 2024-02-29 # start\n`);
  });
});

describe('toml-patch 0.2.3 bugs stay fixed', () => {
  it('a value under [a.b] is replaced without a stray comma', () => {
    expect(edit('[a.b]\nx = 1\ny = 2\n', (m) => { m.a.b.x = 3; }).out).toBe(`[a.b]\n# daqd: set ${TS} (was 1)\nx = 3\ny = 2\n`);
  });

  it('a key can be added under [a.b] and edited under [a.b.c]', () => {
    expect(edit('[a.b]\nx = 1\n', (m) => { m.a.b.z = 2; }).out).toBe('[a.b]\nx = 1\nz = 2\n');
    expect(edit('[a.b.c]\nq = "x"\n', (m) => { m.a.b.c.q = 'y'; }).out).toBe(`[a.b.c]\n# daqd: set ${TS} (was "x")\nq = "y"\n`);
  });

  it('a root key is added on its own line', () => {
    expect(edit('x = 1\n', (m) => { m.z = 2; }).out).toBe('x = 1\nz = 2\n');
  });

  it('CRLF files stay CRLF', () => {
    const { out } = edit('[a]\r\nx = 1\r\n', (m) => { m.a.x = 2; m.b = { y: 1 }; });
    expect(out).toBe(`[a]\r\n# daqd: set ${TS} (was 1)\r\nx = 2\r\n\r\n[b]\r\ny = 1\r\n`);
  });

  it('deleting a.b removes [a.b.c] too, leaving nothing half-cut', () => {
    const { out } = edit('[a]\nk = 1\n\n[a.b]\nx = 1\n\n[a.b.c]\ny = 2\n\n[d]\nz = 3\n', (m) => { delete m.a.b; });
    expect(out).toBe('[a]\nk = 1\n\n[d]\nz = 3\n');
  });
});

describe('shapes handled by the dt.patch fallback keep comments and kinds', () => {
  it('an array of tables: the float stays a float and the comment stays', () => {
    const { out, next } = edit('# steps\n[[steps]]\nv = 5.0 # first\n\n[[steps]]\nv = 1\n', (m) => { m.steps[0].v = 12; });
    expect(out).toBe('# steps\n[[steps]]\nv = 12.0 # first\n\n[[steps]]\nv = 1\n');
    expect(parse(out)).toEqual(next);
  });

  it('a multi-line array keeps its element comments', () => {
    const { out } = edit('[a]\nlist = [\n  1, # one\n  2,\n]\nn = 1\n', (m) => { m.a.list = [1, 2, 3]; });
    expect(out).toContain('# one');
    expect(parse(out)).toEqual({ a: { list: [1, 2, 3], n: 1 } });
  });

  it('a multi-line string is replaced and the comment above it stays', () => {
    const { out } = edit('[a]\n# doc\ntext = """\nhello\nworld"""\nn = 1\n', (m) => { m.a.text = 'bye'; });
    expect(out).toContain('# doc\n');
    expect(parse(out)).toEqual({ a: { text: 'bye', n: 1 } });
  });

  it('dotted keys: set, add and remove', () => {
    const text = '[instruments.a]\ndriver = "x"\nparams.gain = 1.0 # dB\nparams.off = 2\n';
    const set = edit(text, (m) => { m.instruments.a.params.gain = 3; m.instruments.a.params.z = 'q'; });
    expect(set.out).toContain('params.gain = 3.0 # dB\n');
    expect(parse(set.out)).toEqual(set.next);
    expect(edit(text, (m) => { delete m.instruments.a.params; }).out).toBe('[instruments.a]\ndriver = "x"\n');
  });

  it('an inline table is rewritten in place, its other values keeping their kinds', () => {
    const { out } = edit('[modules.m]\nroles = { a = "x", b = 1.0 } # who does what\n', (m) => { m.modules.m.roles.a = 'y'; });
    expect(out).toBe(`[modules.m]\n# daqd: set ${TS} (was { a = "x", b = 1.0 })\nroles = { a = "y", b = 1.0 } # who does what\n`);
  });
});

describe('refusals (persist_failed, nothing returned to write)', () => {
  it('a base text that is not valid TOML', () => {
    const err = rejectionOf(() => renderConfigChange('a = [1,\n', {}, { b: 1 }, { now: NOW }));
    expect(isDaqError(err, 'persist_failed')).toBe(true);
  });

  it('a result that cannot read back as the intended config', () => {
    // prev claims a table the text does not have: no rendering of the text can hold `next`.
    const err = rejectionOf(() => renderConfigChange('[a]\nx = 1\n', { a: { x: 1 }, b: { y: 1 } }, { a: { x: 2 }, b: { y: 1 } }, { now: NOW }));
    expect(isDaqError(err, 'persist_failed')).toBe(true);
    expect((err as Error).message).toMatch(/a\.x|b/);
  });

  it('a string with an unpaired surrogate (UTF-8 cannot store it)', () => {
    const err = rejectionOf(() => edit('[a]\nx = "ok"\n', (m) => { m.a.x = 'bad \ud800'; }));
    expect(isDaqError(err, 'persist_failed')).toBe(true);
    expect((err as Error).message).toContain('a.x');
  });

  it('an integer outside 64 bits', () => {
    const err = rejectionOf(() => edit('[a]\nx = 1\n', (m) => { m.a.x = 2n ** 64n; }));
    expect(isDaqError(err, 'persist_failed')).toBe(true);
  });

  it('the model is not modified by a render', () => {
    const prev = parse('[a]\nx = 1\n');
    const next = copy(prev) as Model;
    next.a.y = 2;
    const snapshot = JSON.stringify(next);
    renderConfigChange('[a]\nx = 1\n', prev, next, { now: NOW });
    expect(JSON.stringify(next)).toBe(snapshot);
  });
});
