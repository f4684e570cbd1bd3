/**
 * Issue 4 through the daemon: a real daqd child process on a commented, hand-written config (LF and
 * CRLF), changed over its socket. After every command the file must be exactly the person's text
 * with only the expected lines changed: values rewritten in place (type and inline comment kept,
 * one `# daqd: set` note per key), new instruments appended as proper tables after the last
 * instrument, removed ones replaced by a `# Removed:` line. Timestamps are matched by pattern.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { completedCommands, expectFileText, readText, replaceOnce, toCrlf, TS_RE, waitAllReady, waitInstrumentReady } from './persist-helpers.js';

const LAB = `# Optics bench for the persistence integration tests.
# Hand-written: comments, blank lines and alignment must survive every daqd write.

[application]
name = "persist-golden"   # shown in daqctl status

[application.dynamic_config]
enable_persistence = true
enable_hot_reload = true
hot_reload_debounce_ms = 50 # react quickly in tests

# --- Detectors ---

# Sample meter, after the sample.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100 # fast polls in tests

[instruments.pm1.params]
wavelength_nm = 800   # keep in step with the laser
attenuator = false    # OD3 out
filter = "medium"

# Reference meter.
[instruments.pm_ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm_ref.params]
wavelength_nm = 800

# DMM on the photodiode amplifier.
[instruments.dmm]
driver = "scpi"
port = "sim"
poll_interval_ms = 100

[instruments.dmm.channels.voltage]
query = "MEAS:VOLT:DC?"
unit = "V"

[instruments.dmm.controls.range]
command = "VOLT:DC:RANG {value}"
query = "VOLT:DC:RANG?"
type = "number"
min = 0.1
max = 1000
unit = "V"

[instruments.dmm.params]
range = 10.0 # volts, full scale

# --- Modules ---

# Transmission: sample over reference.
[modules.transmission]
type = "derived"
expression = "sample.power / ref.power"
output = "transmission"

[modules.transmission.roles]
sample = "pm1"  # numerator
ref = "pm_ref"
`;

/** Each step: one socket command and how it changes the expected (LF) file. */
interface Step {
  name: string;
  run: (d: DaemonHandle) => Promise<unknown>;
  expected: (lf: string) => string;
  /** What the running daemon must report afterwards. */
  check?: (d: DaemonHandle, result: any) => Promise<void>;
}

const note = (was: string) => `# daqd: set <TS> (was ${was})`;

const steps: Step[] = [
  {
    name: 'set an integer (inline comment kept)',
    run: (d) => d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 1064 } }),
    expected: (t) => replaceOnce(t, 'wavelength_nm = 800   # keep', `${note('800')}\nwavelength_nm = 1064   # keep`),
    check: async (d, r) => {
      expect(r.params).toEqual({ wavelength_nm: 1064 });
      expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(1064);
    },
  },
  {
    name: 'set a boolean and a string in one command',
    run: (d) => d.call('instrument.set', { id: 'pm1', params: { attenuator: true, filter: 'fast' } }),
    expected: (t) =>
      replaceOnce(
        replaceOnce(t, 'attenuator = false    # OD3', `${note('false')}\nattenuator = true    # OD3`),
        'filter = "medium"\n',
        `${note('"medium"')}\nfilter = "fast"\n`,
      ),
  },
  {
    name: 'set a float to an integral number (stays a float, comment kept)',
    run: (d) => d.call('instrument.set', { id: 'dmm', params: { range: 100 } }),
    expected: (t) => replaceOnce(t, 'range = 10.0 # volts', `${note('10.0')}\nrange = 100.0 # volts`),
  },
  {
    name: 'set a live common key (poll_interval_ms) in the instrument table',
    run: (d) => d.call('instrument.set', { id: 'pm_ref', params: { poll_interval_ms: 250 } }),
    expected: (t) =>
      replaceOnce(t, 'port = "sim"\npoll_interval_ms = 100\n\n[instruments.pm_ref.params]', `port = "sim"\n${note('100')}\npoll_interval_ms = 250\n\n[instruments.pm_ref.params]`),
  },
  {
    name: 'set the same key again (the note is replaced, not stacked)',
    run: (d) => d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 633 } }),
    expected: (t) => replaceOnce(t, `${note('800')}\nwavelength_nm = 1064   # keep`, `${note('1064')}\nwavelength_nm = 633   # keep`),
  },
  {
    name: 'add an instrument (object): a [table] with its params after the last instrument',
    run: (d) =>
      d.call('instrument.add', { id: 'pm2', config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 100, params: { wavelength_nm: 532, filter: 'slow' } } }),
    expected: (t) =>
      replaceOnce(
        t,
        'range = 100.0 # volts, full scale\n',
        'range = 100.0 # volts, full scale\n\n# Added dynamically: <TS>\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n\n[instruments.pm2.params]\nwavelength_nm = 532\nfilter = "slow"\n',
      ),
    check: async (d) => {
      await waitInstrumentReady(d, 'pm2');
      expect((await d.call('instrument.get', { id: 'pm2' })).params).toMatchObject({ wavelength_nm: 532, filter: 'slow' });
    },
  },
  {
    name: 'remove an instrument with three sub-tables: a "# Removed" line in its place',
    run: (d) => d.call('instrument.remove', { id: 'dmm' }),
    expected: (t) => {
      const start = t.indexOf('# DMM on the photodiode amplifier.\n');
      const end = t.indexOf('range = 100.0 # volts, full scale\n') + 'range = 100.0 # volts, full scale\n'.length;
      return `${t.slice(0, start)}# Removed: dmm at <TS>\n${t.slice(end)}`;
    },
    check: async (d) => {
      const ids = (await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id);
      expect(ids).not.toContain('dmm');
    },
  },
  {
    name: 'add (TOML text) then remove the same instrument in sequence',
    run: async (d) => {
      await d.call('instrument.add', { id: 'pm3', toml: '[instruments.pm3]\ndriver = "newport_1830c"\nport = "sim"\n\n[instruments.pm3.params]\nattenuator = true\n' });
      await waitInstrumentReady(d, 'pm3');
      return d.call('instrument.remove', { id: 'pm3' });
    },
    expected: (t) => replaceOnce(t, 'filter = "slow"\n', 'filter = "slow"\n\n# Removed: pm3 at <TS>\n'),
  },
];

for (const [variant, encode] of [
  ['LF', (t: string) => t],
  ['CRLF', toCrlf],
] as const) {
  describe(`persistence golden through daqd (${variant})`, () => {
    let d: DaemonHandle;
    let events: EventRecorder;
    const since = new Date();

    beforeAll(async () => {
      d = await startDaemon({ config: encode(LAB) });
      await waitAllReady(d);
      events = await EventRecorder.subscribe(d, { types: ['config.'] });
    });
    afterAll(async () => {
      events?.close();
      await d?.dispose();
    });

    let expected = LAB;
    for (const step of steps) {
      it(step.name, async () => {
        const result: any = await step.run(d);
        expect(result.persisted).toMatchObject({ written: true });
        expected = step.expected(expected);
        const text = readText(d.configPath);
        expectFileText(text, encode(expected), since);
        // The file is the running config: it parses to exactly what the daemon reports.
        const model = parse(text) as any;
        const running = (await d.call('instrument.list')).instruments;
        expect(Object.keys(model.instruments).sort()).toEqual(running.map((i: { id: string }) => i.id).sort());
        await step.check?.(d, result);
      });
    }

    it('status says the file is up to date; every write sent config.persisted, none a reload', async () => {
      const status = await d.call('daemon.status');
      expect(status.persistence).toMatchObject({ enabled: true, upToDate: true });
      expect(status.persistence.lastError).toBeUndefined();
      // 8 steps, the last one two commands: 9 writes.
      await events.waitFor(() => events.events.filter((e) => e.method === 'config.persisted').length === 9, 5000, '9 config.persisted events');
      expect(events.events.filter((e) => e.method === 'config.persistFailed')).toEqual([]);
    });

    it("the watcher ignores daqd's own write: it runs a reload that finds nothing new, no config.reloaded", async () => {
      const before = await completedCommands(d);
      const lastReload = (await d.call('config.reloadStatus'));
      const r = await d.call('instrument.set', { id: 'pm2', params: { wavelength_nm: 600 } });
      expect(r.persisted.written).toBe(true);
      // The set is one command; the watcher's debounced reload of the renamed file is the second.
      await waitUntil(async () => (await completedCommands(d)) >= before + 2, 5000, 'the watcher to submit its reload of the written file');
      expect(events.events.filter((e) => e.method === 'config.reloaded' || e.method === 'config.reloadFailed')).toEqual([]);
      expect(await d.call('config.reloadStatus')).toEqual(lastReload);
    });
  });
}

/**
 * The notes stay few and true through a real daqd (issues #16, #17): a value a person changed by
 * hand loses daqd's `# daqd: set` note at the next write; an instrument removed, added back and
 * removed again leaves one `# Removed` note; a new instrument goes after the previous table's
 * trailing comment.
 */
describe('notes after hand edits and repeated removals, through daqd', () => {
  const TRAILING = '# calibrated against the Keithley, 2026-10\n';
  const START = replaceOnce(LAB, 'range = 10.0 # volts, full scale\n', `range = 10.0 # volts, full scale\n${TRAILING}`);
  const PM2 = { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 100 };
  const pm2Table = '[instruments.pm2]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n';
  let d: DaemonHandle;
  const since = new Date();

  beforeAll(async () => {
    d = await startDaemon({ config: START });
    await waitAllReady(d);
  });
  afterAll(async () => {
    await d?.dispose();
  });

  /** Run a persisted command and check the whole file. */
  async function expectWrite(call: Promise<any>, expected: string): Promise<void> {
    expect((await call).persisted).toMatchObject({ written: true });
    expectFileText(readText(d.configPath), expected, since);
  }

  it('a value changed by hand loses its note at the next write', async () => {
    await expectWrite(d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 1064 } }),
      replaceOnce(START, 'wavelength_nm = 800   # keep', `${note('800')}\nwavelength_nm = 1064   # keep`));
    // A person's edit, saved by rename as editors do, and reloaded.
    const edited = replaceOnce(readText(d.configPath), 'wavelength_nm = 1064   # keep', 'wavelength_nm = 710   # keep');
    writeFileSync(`${d.configPath}.swp`, edited);
    renameSync(`${d.configPath}.swp`, d.configPath);
    await d.call('config.reload');
    expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(710);
    await expectWrite(d.call('instrument.set', { id: 'pm_ref', params: { poll_interval_ms: 250 } }),
      replaceOnce(
        replaceOnce(START, 'wavelength_nm = 800   # keep', 'wavelength_nm = 710   # keep'),
        'port = "sim"\npoll_interval_ms = 100\n\n[instruments.pm_ref.params]',
        `port = "sim"\n${note('100')}\npoll_interval_ms = 250\n\n[instruments.pm_ref.params]`,
      ));
  });

  it('a new instrument goes after the trailing comment; removed, added back, removed again: one note', async () => {
    const before = readText(d.configPath).replace(TS_RE, '<TS>');
    const added = replaceOnce(before, TRAILING, `${TRAILING}\n# Added dynamically: <TS>\n${pm2Table}`);
    const removed = replaceOnce(before, TRAILING, `${TRAILING}\n# Removed: pm2 at <TS>\n`);
    await expectWrite(d.call('instrument.add', { id: 'pm2', config: PM2 }), added);
    await waitInstrumentReady(d, 'pm2');
    await expectWrite(d.call('instrument.remove', { id: 'pm2' }), removed);
    await expectWrite(d.call('instrument.add', { id: 'pm2', config: PM2 }), added);
    await waitInstrumentReady(d, 'pm2');
    await expectWrite(d.call('instrument.remove', { id: 'pm2' }), removed);
    expect(readText(d.configPath).match(/# Removed: /g)).toHaveLength(1);
  });
});
