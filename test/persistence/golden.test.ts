/**
 * Golden tests on a hand-written lab config: each change must produce exactly the input with only
 * the expected lines changed, in LF, CRLF, and BOM-without-final-newline variants of the file.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { DaqError } from '../../src/errors.js';
import { renderConfigChange } from '../../src/persistence/toml-writer.js';
import { copy, edit, fixture, NOW, readBack, replaceOnce, TS, VARIANTS, type Model } from './helpers.js';

const LAB = fixture('persistence-lab.toml');

const variants = VARIANTS;

interface Case {
  name: string;
  change: (m: Model) => void;
  /** The expected file, as edits of the LF fixture. */
  expected: (lf: string) => string;
  numberKind?: (path: string[]) => 'integer' | 'float' | undefined;
}

const cases: Case[] = [
  {
    name: 'set an integer',
    change: (m) => { m.instruments.pm1.params.wavelength_nm = 1064; },
    expected: (t) => replaceOnce(t, 'wavelength_nm = 800\n', `# daqd: set ${TS} (was 800)\nwavelength_nm = 1064\n`),
  },
  {
    name: 'set a float to an integral number (stays a float, inline comment kept)',
    change: (m) => { m.instruments.pm1.params.gain = 2; },
    expected: (t) => replaceOnce(t, 'gain = 1.0              # unity', `# daqd: set ${TS} (was 1.0)\ngain = 2.0              # unity`),
  },
  {
    name: 'set an integer to a fraction (becomes a float)',
    change: (m) => { m.instruments.stage.params.axis = 1.5; },
    expected: (t) => replaceOnce(t, 'axis = 1\n', `# daqd: set ${TS} (was 1)\naxis = 1.5\n`),
  },
  {
    name: 'set a basic string',
    change: (m) => { m.instruments.pm1.port = '/dev/ttyUSB9'; },
    expected: (t) => replaceOnce(t, 'port = "/dev/ttyUSB0"\n', `# daqd: set ${TS} (was "/dev/ttyUSB0")\nport = "/dev/ttyUSB9"\n`),
  },
  {
    name: 'set a literal string (keeps its quotes)',
    change: (m) => { m.application.log_level = 'debug'; },
    expected: (t) => replaceOnce(t, "log_level = 'info'\n", `# daqd: set ${TS} (was 'info')\nlog_level = 'debug'\n`),
  },
  {
    name: 'set a string with quotes and a newline (escaped)',
    change: (m) => { m.application.name = 'bench "3"\nleft'; },
    expected: (t) => replaceOnce(t, 'name = "bench-3"        #', `# daqd: set ${TS} (was "bench-3")\nname = "bench \\"3\\"\\nleft"        #`),
  },
  {
    name: 'set a boolean',
    change: (m) => { m.instruments.pm1.enabled = false; },
    expected: (t) => replaceOnce(t, 'enabled = true\n', `# daqd: set ${TS} (was true)\nenabled = false\n`),
  },
  {
    name: 'set a boolean under a quoted key',
    change: (m) => { m.instruments.pm1.params['attenuator on'] = true; },
    expected: (t) => replaceOnce(t, '"attenuator on" = false\n', `# daqd: set ${TS} (was false)\n"attenuator on" = true\n`),
  },
  {
    name: 'set an array',
    change: (m) => { m.instruments.pm1.params.channels = [1, 4]; },
    expected: (t) => replaceOnce(t, 'channels = [1, 2, 3]\n', `# daqd: set ${TS} (was [1, 2, 3])\nchannels = [1, 4]\n`),
  },
  {
    name: 'add an instrument after the last one, with its params sub-table',
    change: (m) => { m.instruments.laser = { driver: 'sim', port: '/dev/ttyUSB3', params: { power_mw: 5, label: 'HeNe' } }; },
    numberKind: (p) => (p.join('.') === 'instruments.laser.params.power_mw' ? 'float' : undefined),
    expected: (t) => replaceOnce(t, 'slave_id = 3\n', [
      'slave_id = 3', '', `# Added dynamically: ${TS}`, '[instruments.laser]', 'driver = "sim"', 'port = "/dev/ttyUSB3"', '',
      '[instruments.laser.params]', 'power_mw = 5.0', 'label = "HeNe"', '',
    ].join('\n')),
  },
  {
    name: 'remove an instrument with its comment and sub-table',
    change: (m) => { delete m.instruments.stage; },
    expected: (t) => replaceOnce(t,
      '# Motion controller (ESP300).\n[instruments.stage]\ndriver = "esp300"\nport = "/dev/ttyUSB1"\nbaud = 19200\n\n[instruments.stage.params]\naxis = 1\nvelocity = 2.5\nunits = "mm"\n\n',
      `# Removed: stage at ${TS}\n\n`),
  },
  {
    name: 'add and remove in one change',
    change: (m) => { delete m.instruments.pm1; m.instruments.pm2 = { driver: 'newport_1830c', port: '/dev/ttyUSB4' }; },
    expected: (t) => replaceOnce(
      replaceOnce(t, 'slave_id = 3\n', `slave_id = 3\n\n# Added dynamically: ${TS}\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "/dev/ttyUSB4"\n`),
      t.slice(t.indexOf('# Power meter'), t.indexOf('# Motion')),
      `# Removed: pm1 at ${TS}\n\n`,
    ),
  },
  {
    name: 'add a module at the end of the file',
    change: (m) => { m.modules.drift = { type: 'monitor', roles: { meter: 'pm1' } }; },
    expected: (t) => `${t}\n# Added dynamically: ${TS}\n[modules.drift]\ntype = "monitor"\n\n[modules.drift.roles]\nmeter = "pm1"\n`,
  },
  {
    name: 'remove the last module (no bare [modules] header left behind)',
    change: (m) => { delete m.modules.scan; },
    expected: (t) => replaceOnce(t, t.slice(t.indexOf('# Scans the stage')), `# Removed: module scan at ${TS}\n`),
  },
  {
    name: 'add a key to an existing table (after its last row, not under the next comment)',
    change: (m) => { m.application.dynamic_config.enable_versioning = true; },
    expected: (t) => replaceOnce(t, 'snapshot_retention = 20 # keep the last 20 snapshots\n', 'snapshot_retention = 20 # keep the last 20 snapshots\nenable_versioning = true\n'),
  },
  {
    name: 'remove a key from a table',
    change: (m) => { delete m.instruments.pm1.baud; },
    expected: (t) => replaceOnce(t, 'baud = 9600   # fixed by the vendor\n', ''),
  },
];

describe.each(variants)('golden edits of the lab config (%s)', (_variant, shape) => {
  const input = shape(LAB);
  it.each(cases)('$name', ({ change, expected, numberKind }) => {
    const { out, next } = edit(input, change, { numberKind });
    expect(out).toBe(shape(expected(LAB)));
    expect(parse(out)).toEqual(readBack(JSON.parse(JSON.stringify(next))));
  });
});

describe('change records', () => {
  it('a second set of the same key replaces the daqd note instead of stacking another', () => {
    const once = edit(LAB, (m) => { m.instruments.pm1.params.wavelength_nm = 1064; }).out;
    const prev = parse(once);
    const next = copy(prev) as Model;
    next.instruments.pm1.params.wavelength_nm = 532;
    const later = new Date('2026-11-24T08:00:00Z');
    const twice = renderConfigChange(once, prev, next, { now: later });
    expect(twice).toBe(replaceOnce(LAB, 'wavelength_nm = 800\n', '# daqd: set 2026-11-24T08:00:00Z (was 1064)\nwavelength_nm = 532\n'));
  });

  it('sequential add then remove of the same instrument leaves only the removal note', () => {
    const added = edit(LAB, (m) => { m.instruments.laser = { driver: 'sim', port: 'sim://1' }; }).out;
    const removed = edit(added, (m) => { delete m.instruments.laser; }).out;
    expect(removed).toBe(replaceOnce(LAB, 'slave_id = 3\n', `slave_id = 3\n\n# Removed: laser at ${TS}\n`));
  });

  it('no change returns the text unchanged', () => {
    expect(edit(LAB, () => undefined).out).toBe(LAB);
  });

  it('a value TOML cannot hold is refused with persist_failed naming the key', () => {
    let caught: unknown;
    try {
      edit(LAB, (m) => { m.instruments.pm1.params.gain = null; });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DaqError);
    expect((caught as DaqError).kind).toBe('persist_failed');
    expect((caught as DaqError).message).toContain('instruments.pm1.params.gain');
    void NOW;
  });
});
