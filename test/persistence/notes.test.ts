/**
 * The notes daqd leaves in the file stay few and true (issues #16 and #17; docs/persistence.md,
 * "Notes"):
 * - `# Removed: <id> at <time>`: none for an id that exists again, one per id, at most
 *   MAX_REMOVED_NOTES (20) in the file, the oldest dropped first;
 * - `# daqd: set <time> (was X)`: kept only above the value daqd itself last wrote; a value a
 *   person changed by hand loses its note at daqd's next write;
 * - a new table goes after the previous table's trailing comments.
 * Golden texts in LF, CRLF and BOM-without-final-newline form.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { ConfigFile } from '../../src/persistence/config-file.js';
import { MAX_REMOVED_NOTES } from '../../src/persistence/toml-notes.js';
import { renderConfigChange } from '../../src/persistence/toml-writer.js';
import { copy, edit, fixture, NOW, readBack, replaceOnce, session, TS, VARIANTS, type Model } from './helpers.js';

const LAB = fixture('persistence-lab.toml');

/** Timestamps one second apart, from NOW: the k-th change is written at `at(k)`. */
const at = (k: number) => new Date(NOW.getTime() + k * 1000);
const ts = (k: number) => at(k).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** A session whose changes are written one second apart (T0, T1, ...). */
function timedSession(text: string) {
  let k = 0;
  return session(text, { now: () => at(k++) });
}

const STAGE_BLOCK = '# Motion controller (ESP300).\n[instruments.stage]\ndriver = "esp300"\nport = "/dev/ttyUSB1"\nbaud = 19200\n\n[instruments.stage.params]\naxis = 1\nvelocity = 2.5\nunits = "mm"\n\n';
/** `fragment` with the line endings of `text`. */
const inStyleOf = (text: string, fragment: string) => (text.includes('\r\n') ? fragment.replace(/\n/g, '\r\n') : fragment);
/** A hand edit: `find` -> `replacement`, written in the file's own line endings. */
const handEdit = (find: string, replacement: string) => (t: string) => replaceOnce(t, inStyleOf(t, find), inStyleOf(t, replacement));
const removedNotes = (text: string) => text.match(/^# Removed: .*$/gm)?.map((l) => l.replace(/\r$/, '')) ?? [];

describe.each(VARIANTS)('# Removed notes (%s)', (_variant, shape) => {
  it('remove, add back, remove the same id: one note, the newest', () => {
    const s = timedSession(shape(LAB));
    const removed = s.change((m) => { delete m.instruments.stage; });
    expect(removed).toBe(shape(replaceOnce(LAB, STAGE_BLOCK, `# Removed: stage at ${ts(0)}\n\n`)));
    // Added back: its note goes (the id exists again); the table goes after the last instrument.
    const back = s.change((m) => { m.instruments.stage = { driver: 'esp300', port: '/dev/ttyUSB1' }; });
    expect(back).toBe(shape(replaceOnce(replaceOnce(LAB, STAGE_BLOCK, ''), 'slave_id = 3\n',
      `slave_id = 3\n\n# Added dynamically: ${ts(1)}\n[instruments.stage]\ndriver = "esp300"\nport = "/dev/ttyUSB1"\n`)));
    const again = s.change((m) => { delete m.instruments.stage; });
    expect(again).toBe(shape(replaceOnce(replaceOnce(LAB, STAGE_BLOCK, ''), 'slave_id = 3\n', `slave_id = 3\n\n# Removed: stage at ${ts(2)}\n`)));
    expect(s.slowRenders).toBe(0);
  });

  it('an id a person added back by hand loses its note at the next write, whatever that write changes', () => {
    const s = timedSession(shape(LAB));
    s.change((m) => { delete m.instruments.tc; });
    s.handEdit((t) => t + inStyleOf(t, '\n[instruments.tc]\ndriver = "modbus_rtu"\nport = "/dev/ttyUSB2"\n'));
    const out = s.change((m) => { m.instruments.pm1.params.wavelength_nm = 1064; });
    expect(removedNotes(out)).toEqual([]);
    expect(out).toContain(inStyleOf(out, `# daqd: set ${ts(1)} (was 800)\nwavelength_nm = 1064\n`));
    expect(parse(out)).toEqual(readBack(s.model));
  });

  it('removing an id again after a person re-added it by hand (no write between): one note', () => {
    const s = timedSession(shape(LAB));
    s.change((m) => { delete m.modules.scan; });
    s.handEdit(handEdit(`# Removed: module scan at ${ts(0)}`, `# Removed: module scan at ${ts(0)}\n\n[modules.scan]\ntype = "scan"`));
    const out = s.change((m) => { delete m.modules.scan; });
    expect(removedNotes(out)).toEqual([`# Removed: module scan at ${ts(1)}`]);
  });

  it(`30 removals of different ids keep the newest ${MAX_REMOVED_NOTES} notes`, () => {
    const ids = Array.from({ length: 30 }, (_, i) => `i${String(i).padStart(2, '0')}`);
    const head = '[application]\nname = "bound"\n';
    const s = timedSession(shape(head + ids.map((id) => `\n[instruments.${id}]\ndriver = "sim"\n`).join('')));
    ids.forEach((id) => s.change((m) => { delete m.instruments[id]; }));
    const kept = ids.map((id, k) => `# Removed: ${id} at ${ts(k)}`).slice(-MAX_REMOVED_NOTES);
    expect(s.text).toBe(shape(head + kept.map((n) => `\n${n}\n`).join('')));
    expect(s.slowRenders).toBe(0);
  });
});

describe('# Removed notes: the bound and whose note is whose', () => {
  it('instrument and module notes share the bound, and are kept apart by kind', () => {
    const text = '[instruments.scan]\ndriver = "sim"\n\n[modules.scan]\ntype = "scan"\n';
    const s = timedSession(text);
    s.change((m) => { delete m.modules.scan; });
    s.change((m) => { m.instruments.scan.driver = 'esp300'; }); // instrument `scan` exists: the module's note stays
    expect(removedNotes(s.text)).toEqual([`# Removed: module scan at ${ts(0)}`]);
    s.change((m) => { delete m.instruments.scan; });
    expect(removedNotes(s.text)).toEqual([`# Removed: scan at ${ts(2)}`, `# Removed: module scan at ${ts(0)}`]);
    s.change((m) => { m.modules.scan = { type: 'scan' }; });
    expect(removedNotes(s.text)).toEqual([`# Removed: scan at ${ts(2)}`]);
  });

  it('the note a change writes is kept even when older notes carry later times (a clock set back)', () => {
    const future = Array.from({ length: MAX_REMOVED_NOTES }, (_, i) => `# Removed: old${i} at 2030-01-01T00:00:${String(59 - i).padStart(2, '0')}Z`);
    const text = `${future.join('\n')}\n\n[instruments.a]\ndriver = "sim"\n`;
    const { out } = edit(text, (m) => { delete m.instruments.a; });
    // old19 has the earliest time of the old ones: it goes; the fresh note stays.
    expect(out).toBe(`${future.slice(0, -1).join('\n')}\n\n# Removed: a at ${TS}\n`);
  });

  it(`one change removing more than ${MAX_REMOVED_NOTES} tables leaves ${MAX_REMOVED_NOTES} notes (the first lines go on a tie)`, () => {
    const ids = Array.from({ length: 25 }, (_, i) => `m${i}`);
    const text = `[application]\nname = "x"\n${ids.map((id) => `\n[modules.${id}]\ntype = "scan"\n`).join('')}`;
    const { out, next } = edit(text, (m) => { m.modules = {}; });
    expect(out).toBe(`[application]\nname = "x"\n${ids.slice(5).map((id) => `\n# Removed: module ${id} at ${TS}\n`).join('')}`);
    expect(parse(out)).toEqual(readBack(next));
  });

  it("a person's comment that only looks like a note is never touched, nor one inside a string", () => {
    const text = [
      '# Removed: pm1 at the old bench, back in May',
      '# Removed: pm1',
      '[application]',
      'notes = """',
      '# Removed: pm1 at 2026-01-01T00:00:00Z',
      '"""',
      '',
      '[instruments.pm1]',
      'driver = "sim"',
      '',
    ].join('\n');
    const { out } = edit(text, (m) => { m.instruments.pm1.driver = 'esp300'; });
    expect(out).toBe(replaceOnce(text, 'driver = "sim"', `# daqd: set ${TS} (was "sim")\ndriver = "esp300"`));
  });

  it('ids named like Object.prototype members are plain ids: their notes stay while they do not exist', () => {
    const text = `# Removed: constructor at ${TS}\n# Removed: toString at ${TS}\n\n[instruments.a]\ndriver = "sim"\n`;
    const { out } = edit(text, (m) => { m.instruments.a.driver = 'esp300'; });
    expect(out).toBe(replaceOnce(text, 'driver = "sim"', `# daqd: set ${TS} (was "sim")\ndriver = "esp300"`));
    const back = edit(text, (m) => { m.instruments.constructor = { driver: 'sim' }; }).out;
    expect(removedNotes(back)).toEqual([`# Removed: toString at ${TS}`]);
  });
});

describe.each(VARIANTS)('# daqd: set notes after a hand edit (%s)', (_variant, shape) => {
  const setWavelength = (m: Model) => { m.instruments.pm1.params.wavelength_nm = 1064; };
  const setVelocity = (m: Model) => { m.instruments.stage.params.velocity = 5; };
  const velocityNoted = (t: string, k: number) => replaceOnce(t, 'velocity = 2.5\n', `# daqd: set ${ts(k)} (was 2.5)\nvelocity = 5.0\n`);

  it('a value a person changed by hand loses its note at the next write', () => {
    const s = timedSession(shape(LAB));
    s.change(setWavelength);
    s.handEdit(handEdit('wavelength_nm = 1064\n', 'wavelength_nm = 710\n'));
    expect(s.change(setVelocity)).toBe(shape(velocityNoted(replaceOnce(LAB, 'wavelength_nm = 800', 'wavelength_nm = 710'), 1)));
  });

  it('a hand edit of another value keeps the note', () => {
    const s = timedSession(shape(LAB));
    s.change(setWavelength);
    s.handEdit(handEdit('axis = 1\n', 'axis = 2\n'));
    const expected = velocityNoted(replaceOnce(replaceOnce(LAB, 'axis = 1', 'axis = 2'), 'wavelength_nm = 800\n', `# daqd: set ${ts(0)} (was 800)\nwavelength_nm = 1064\n`), 1);
    expect(s.change(setVelocity)).toBe(shape(expected));
  });

  it('a deleted value line takes its note along at the next write (it would sit above another key)', () => {
    const s = timedSession(shape(LAB));
    s.change(setWavelength);
    s.handEdit(handEdit('wavelength_nm = 1064\n', ''));
    expect(s.change(setVelocity)).toBe(shape(velocityNoted(replaceOnce(LAB, 'wavelength_nm = 800\n', ''), 1)));
  });

  it('daqd setting the hand-edited key again: one note, saying what the person had written', () => {
    const s = timedSession(shape(LAB));
    s.change(setWavelength);
    s.handEdit(handEdit('wavelength_nm = 1064\n', 'wavelength_nm = 710\n'));
    const out = s.change((m) => { m.instruments.pm1.params.wavelength_nm = 532; });
    expect(out).toBe(shape(replaceOnce(LAB, 'wavelength_nm = 800\n', `# daqd: set ${ts(1)} (was 710)\nwavelength_nm = 532\n`)));
  });

  it('notes already in the file when daqd starts are trusted; a hand edit after that is seen', () => {
    const start = shape(replaceOnce(LAB, 'wavelength_nm = 800\n', `# daqd: set ${TS} (was 700)\nwavelength_nm = 800\n`));
    const kept = timedSession(start);
    expect(kept.change(setVelocity)).toContain(`# daqd: set ${TS} (was 700)`);
    const edited = timedSession(start);
    edited.handEdit(handEdit('wavelength_nm = 800\n', 'wavelength_nm = 633\n'));
    expect(edited.change(setVelocity)).toBe(shape(velocityNoted(replaceOnce(LAB, 'wavelength_nm = 800', 'wavelength_nm = 633'), 0)));
  });
});

describe('# daqd: set notes through ConfigFile on a real file', () => {
  it('set, a hand edit of that value and a reload, another set: the stale note is gone from the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-notes-'));
    try {
      const path = join(dir, 'lab.toml');
      writeFileSync(path, LAB);
      const file = new ConfigFile(path);
      const m0 = parse(await file.load()) as Model;
      const m1 = copy(m0);
      m1.instruments.pm1.params.gain = 3;
      await file.write(m0, m1, { now: at(0) });
      // The person's edit, saved and reloaded (the daemon's reload hands the text to adoptText).
      const edited = replaceOnce(readFileSync(path, 'utf8'), 'gain = 3.0 ', 'gain = 0.5 ');
      writeFileSync(path, edited);
      const m2 = parse(edited) as Model;
      file.adoptText(edited, m2);
      const m3 = copy(m2);
      m3.instruments.pm1.params.wavelength_nm = 1064;
      await file.write(m2, m3, { now: at(1) });
      expect(readFileSync(path, 'utf8')).toBe(
        replaceOnce(replaceOnce(LAB, 'gain = 1.0 ', 'gain = 0.5 '), 'wavelength_nm = 800\n', `# daqd: set ${ts(1)} (was 800)\nwavelength_nm = 1064\n`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a write that changes nothing in between does not make the hand-edited text count as daqd\'s own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-notes-'));
    try {
      const path = join(dir, 'lab.toml');
      writeFileSync(path, LAB);
      const file = new ConfigFile(path);
      const m0 = parse(await file.load()) as Model;
      const m1 = copy(m0);
      m1.instruments.pm1.params.gain = 3;
      await file.write(m0, m1, { now: at(0) });
      const edited = replaceOnce(readFileSync(path, 'utf8'), 'gain = 3.0 ', 'gain = 0.5 ');
      writeFileSync(path, edited);
      const m2 = parse(edited) as Model;
      file.adoptText(edited, m2);
      expect((await file.write(m2, copy(m2), { now: at(1) })).bytes).toBe(0);
      const m3 = copy(m2);
      m3.instruments.pm1.params.wavelength_nm = 1064;
      await file.write(m2, m3, { now: at(2) });
      expect(readFileSync(path, 'utf8')).not.toContain('(was 1.0)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without the text daqd last wrote (a bare render), every set note is kept', () => {
    const text = `[a]\n# daqd: set ${TS} (was 1)\nx = 5\ny = 1\n`;
    const prev = parse(text);
    expect(renderConfigChange(text, prev, { a: { x: 5, y: 2 } }, { now: NOW })).toBe(`[a]\n# daqd: set ${TS} (was 1)\nx = 5\n# daqd: set ${TS} (was 1)\ny = 2\n`);
  });
});

describe.each(VARIANTS)('a new table goes after the previous table\'s trailing comments (%s)', (_variant, shape) => {
  const LASER = (m: Model) => { m.instruments.laser = { driver: 'sim', port: '/dev/ttyUSB3' }; };
  const laserLines = `\n# Added dynamically: ${TS}\n[instruments.laser]\ndriver = "sim"\nport = "/dev/ttyUSB3"\n`;

  it('comments directly under the last row stay under it; the divider after a blank line stays below the new table', () => {
    const trailing = replaceOnce(LAB, 'slave_id = 3\n', 'slave_id = 3\n# slave 3: the factory default\n  # (see the manual, p. 12)\n');
    const { out } = edit(shape(trailing), LASER);
    expect(out).toBe(shape(replaceOnce(trailing, '(see the manual, p. 12)\n', `(see the manual, p. 12)\n${laserLines}`)));
  });

  it('a comment that runs straight into the next header stays with that header', () => {
    const text = '[instruments.a]\ndriver = "sim"\n# the scan module\n[modules.s]\ntype = "scan"\n';
    const { out } = edit(shape(text), LASER);
    expect(out).toBe(shape(replaceOnce(text, 'driver = "sim"\n', `driver = "sim"\n${laserLines}`)));
  });

  it('trailing comments at the end of the file: the new table goes after them', () => {
    const text = `${LAB}# roles checked 2026-11\n`;
    const { out } = edit(shape(text), (m) => { m.modules.drift = { type: 'monitor' }; });
    expect(out).toBe(shape(`${text}\n# Added dynamically: ${TS}\n[modules.drift]\ntype = "monitor"\n`));
  });

  it('a sub-table added to an instrument goes after its trailing comments too', () => {
    const text = '[instruments.a]\ndriver = "sim"\n\n[instruments.a.params]\nx = 1\n# x in volts\n\n[instruments.b]\ndriver = "sim"\n';
    const { out } = edit(shape(text), (m) => { m.instruments.a.channels = { v: { unit: 'V' } }; });
    expect(out).toBe(shape(replaceOnce(text, '# x in volts\n', '# x in volts\n\n[instruments.a.channels.v]\nunit = "V"\n')));
  });
});
