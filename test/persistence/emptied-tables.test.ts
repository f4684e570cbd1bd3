/**
 * Golden tests for tables that a change empties, and for the first table added under a top-level
 * key that has none left:
 * - an emptied top-level table (`[instruments]`, `[modules]`) reads back as absent: no header is
 *   written for it, only the "# Removed" note; the next instrument or module added is a proper
 *   section with its "# Added dynamically" note, where the removed ones were;
 * - an emptied sub-table (`[instruments.x.params]`) stays in the file, as the model keeps it:
 *   the person's header stays; if only the removed part defined it, it is written in its place;
 * - headers a person wrote (an empty `[application]`, their own `[instruments]`) stay.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { ConfigFile } from '../../src/persistence/config-file.js';
import { renderConfigChange } from '../../src/persistence/toml-writer.js';
import { copy, edit, fixture, NOW, replaceOnce, session, TS, VARIANTS } from './helpers.js';

const LAB = fixture('persistence-lab.toml');

const variants = VARIANTS;

const levelIsFloat = (p: string[]) => (p.join('.') === 'instruments.new4.params.level' ? 'float' as const : undefined);
const NEW4 = { driver: 'sim', port: 'sim', params: { level: 5, label: 'spare' } };

/** The lab file with every instrument removed (one change each). */
const noInstruments = (t: string) => replaceOnce(t, t.slice(t.indexOf('# Power meter'), t.indexOf('# --- Modules')),
  `# Removed: pm1 at ${TS}\n\n# Removed: stage at ${TS}\n\n# Removed: tc at ${TS}\n\n`);

/** ... and then new4 added. */
const refilled = (t: string) => replaceOnce(noInstruments(t), `# Removed: tc at ${TS}\n`, [
  `# Removed: tc at ${TS}`, '', `# Added dynamically: ${TS}`, '[instruments.new4]', 'driver = "sim"', 'port = "sim"', '',
  '[instruments.new4.params]', 'level = 5.0', 'label = "spare"', '',
].join('\n'));

/** The lab file with its only module removed. */
const noModules = (t: string) => replaceOnce(t, t.slice(t.indexOf('# Scans the stage')), `# Removed: module scan at ${TS}\n`);

describe.each(variants)('the last instrument or module removed, then one added (%s)', (_variant, shape) => {
  it('removing every instrument leaves only the notes, no [instruments] header', () => {
    const s = session(shape(LAB));
    for (const id of ['pm1', 'stage', 'tc']) s.change((m) => { delete m.instruments[id]; });
    expect(s.change(() => undefined)).toBe(shape(noInstruments(LAB)));
    expect(s.model.instruments).toEqual({});
  });

  it('the first instrument added after that is a proper section with its note, where the others were', () => {
    const s = session(shape(LAB));
    for (const id of ['pm1', 'stage', 'tc']) s.change((m) => { delete m.instruments[id]; });
    const out = s.change((m) => { m.instruments.new4 = copy(NEW4); }, levelIsFloat);
    expect(out).toBe(shape(refilled(LAB)));
    expect(s.slowRenders).toBe(0);
  });

  it('the same after a reload of the emptied file (the model has no instruments table at all)', () => {
    const s = session(shape(LAB));
    s.change((m) => { delete m.instruments.pm1; delete m.instruments.stage; delete m.instruments.tc; });
    s.reload();
    expect(s.model.instruments).toBeUndefined();
    expect(s.change((m) => { m.instruments = { new4: copy(NEW4) }; }, levelIsFloat)).toBe(shape(refilled(LAB)));
    expect(s.slowRenders).toBe(0);
  });

  it('removing the last module, then adding one', () => {
    const s = session(shape(LAB));
    expect(s.change((m) => { delete m.modules.scan; })).toBe(shape(noModules(LAB)));
    const out = s.change((m) => { m.modules.drift = { type: 'monitor', roles: { meter: 'pm1' } }; });
    expect(out).toBe(shape(`${noModules(LAB)}\n# Added dynamically: ${TS}\n[modules.drift]\ntype = "monitor"\n\n[modules.drift.roles]\nmeter = "pm1"\n`));
    expect(s.slowRenders).toBe(0);
  });

  it('an emptied [instruments.x.params] keeps its header', () => {
    const { out } = edit(shape(LAB), (m) => { m.instruments.tc.params = {}; });
    expect(out).toBe(shape(replaceOnce(LAB, '[instruments.tc.params]\nsetpoint = 21.5\nslave_id = 3\n', '[instruments.tc.params]\n')));
    expect(parse(out).instruments).toMatchObject({ tc: { params: {} } });
  });

  it('an emptied roles table at the end of the file keeps its header', () => {
    const { out } = edit(shape(LAB), (m) => { m.modules.scan.roles = {}; });
    expect(out).toBe(shape(replaceOnce(LAB, '[modules.scan.roles]\nmeter = "pm1"\nstage = "stage"\n', '[modules.scan.roles]\n')));
  });
});

describe('empty top-level tables', () => {
  it("a person's empty [application] stays through changes elsewhere and when the last instrument goes", () => {
    const text = '# settings later\n[application]\n\n[instruments.a]\ndriver = "sim"\nport = "sim"\n';
    const s = session(text);
    expect(s.change((m) => { m.instruments.a.port = 'sim:bus'; })).toContain('# settings later\n[application]\n\n[instruments.a]\n');
    expect(s.change((m) => { delete m.instruments.a; })).toBe(`# settings later\n[application]\n\n# Removed: a at ${TS}\n`);
    expect(parse(s.change(() => undefined))).toEqual({ application: {} });
  });

  it("a person's own [instruments] header stays when the last instrument goes, and holds the next one", () => {
    const s = session('[instruments]\n\n# the only one\n[instruments.a]\ndriver = "sim"\nport = "sim"\n');
    expect(s.change((m) => { delete m.instruments.a; })).toBe(`[instruments]\n\n# Removed: a at ${TS}\n`);
    const out = s.change((m) => { m.instruments.b = { driver: 'sim', port: 'sim' }; });
    expect(out).toBe(`[instruments]\n\n# Added dynamically: ${TS}\n[instruments.b]\ndriver = "sim"\nport = "sim"\n\n# Removed: a at ${TS}\n`);
  });

  it('an empty top-level table that only the model has is not written, and removing it changes nothing', () => {
    const text = '[application]\nname = "x"\n';
    const model = parse(text);
    expect(renderConfigChange(text, model, { ...model, instruments: {}, modules: {} }, { now: NOW })).toBe(text);
    expect(renderConfigChange(text, { ...model, instruments: {} }, model, { now: NOW })).toBe(text);
  });

  it('a note that is no longer followed by a header is not a place for a section: the new one goes at the end', () => {
    // A person moved a root key under the note: a section there would swallow it.
    const text = `# Removed: a at ${TS}\nname = "x"\n\n[application]\nk = 1\n`;
    const out = renderConfigChange(text, { ...parse(text), instruments: {} }, { ...parse(text), instruments: { b: { driver: 'sim' } } }, { now: NOW });
    expect(out).toBe(`${text}\n# Added dynamically: ${TS}\n[instruments.b]\ndriver = "sim"\n`);
  });
});

describe('emptied sub-tables stay in the file', () => {
  it('params written as dotted keys: `params = {}` in place of the last one (a header there would capture the rows after it)', () => {
    const s = session('[instruments.a]\ndriver = "sim"\n  params.gain = 1.0 # dB\nport = "sim"\n');
    expect(s.change((m) => { delete m.instruments.a.params.gain; })).toBe('[instruments.a]\ndriver = "sim"\n  params = {}\nport = "sim"\n');
    expect(s.slowRenders).toBe(0);
  });

  it('an inline table becomes {} with a change record', () => {
    const { out } = edit('[modules.m]\ntype = "scan"\nroles = { meter = "pm1" } # who\n', (m) => { delete m.modules.m.roles.meter; });
    expect(out).toBe(`[modules.m]\ntype = "scan"\n# daqd: set ${TS} (was { meter = "pm1" })\nroles = {} # who\n`);
  });

  it('a table defined only by the removed sub-table gets its header where that was', () => {
    const text = '[modules.m]\ntype = "scan"\n\n# limits\n[modules.m.settings.limits]\nmax = 1.0\n\n[modules.n]\ntype = "scan"\n';
    const { out } = edit(text, (m) => { delete m.modules.m.settings.limits; });
    expect(out).toBe('[modules.m]\ntype = "scan"\n\n[modules.m.settings]\n\n[modules.n]\ntype = "scan"\n');
  });
});

describe('through ConfigFile on a real file', () => {
  it('remove the last instrument, then add one: two atomic writes, the file reads back each time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-emptied-'));
    try {
      const path = join(dir, 'lab.toml');
      const text = '[application]\nname = "lab"\n\n# the only meter\n[instruments.pm1]\ndriver = "sim"\nport = "sim"\n';
      writeFileSync(path, text);
      const file = new ConfigFile(path);
      await file.load();
      const start = parse(text);
      const emptied = { ...copy(start), instruments: {} };
      await file.write(start, emptied, { now: NOW });
      expect(readFileSync(path, 'utf8')).toBe(`[application]\nname = "lab"\n\n# Removed: pm1 at ${TS}\n`);
      const refill = { ...copy(emptied), instruments: { new4: { driver: 'sim', port: 'sim', params: { level: 5 } } } };
      await file.write(emptied, refill, { now: NOW, numberKind: levelIsFloat });
      expect(readFileSync(path, 'utf8')).toBe(
        `[application]\nname = "lab"\n\n# Removed: pm1 at ${TS}\n\n# Added dynamically: ${TS}\n[instruments.new4]\ndriver = "sim"\nport = "sim"\n\n[instruments.new4.params]\nlevel = 5.0\n`,
      );
      expect(await file.changedOnDisk()).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
