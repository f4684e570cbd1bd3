/**
 * A person's edit is never overwritten. The person saves the file and a socket command arrives
 * before the watcher's debounce fires (5 s here, so the race is the same every run): daqd must load
 * and apply the edit first, then write the command's change into the person's text. If the edit
 * cannot be loaded, the command fails with `conflict` and the file stays exactly as the person
 * wrote it.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/client/client.js';
import { EventRecorder, startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { expectFileText, readText, replaceOnce, waitAllReady } from './persist-helpers.js';

const DEBOUNCE_MS = 5000;

const CONFIG = `# Race bench: a person edits while commands arrive.
[application]
name = "persist-race"

[application.dynamic_config]
enable_persistence = true
enable_hot_reload = true
hot_reload_debounce_ms = ${DEBOUNCE_MS} # long on purpose: the command must win the race

# Sample meter.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm1.params]
wavelength_nm = 800   # keep in step with the laser

# Reference meter.
[instruments.pm2]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm2.params]
wavelength_nm = 800
filter = "medium"
`;

const note = (was: string) => `# daqd: set <TS> (was ${was})`;

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the command should have failed').toBeInstanceOf(RpcError);
  return err as RpcError;
}

describe('a person edit racing a socket command', () => {
  let d: DaemonHandle;
  let events: EventRecorder;
  const since = new Date();
  /** The file as it should be now (LF, `<TS>` for daqd's timestamps). */
  let expected = CONFIG;

  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG });
    await waitAllReady(d);
    events = await EventRecorder.subscribe(d, { types: ['config.'] });
  });
  afterAll(async () => {
    events?.close();
    await d?.dispose();
  });

  /** The race was the one intended: no watcher reload ran during the test. */
  async function watcherHasNotFired(): Promise<void> {
    expect((await d.call('config.reloadStatus')).source).not.toBe('watcher');
    expect(events.events.filter((e) => e.params?.source === 'watcher')).toEqual([]);
  }

  it("the person's edit is applied and kept, and the command's change is written into it", async () => {
    const edited = replaceOnce(
      replaceOnce(CONFIG, '# Reference meter.\n', '# Reference meter, on the pick-off beam since Tuesday (edited by hand).\n'),
      'wavelength_nm = 800\nfilter',
      'wavelength_nm = 633 # HeNe alignment\nfilter',
    );
    writeFileSync(d.configPath, edited);
    const r = await d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 1064 } });

    expect(r.params).toEqual({ wavelength_nm: 1064 });
    expect(r.persisted.written).toBe(true);
    // The person's change reached the running instrument...
    expect((await d.call('instrument.get', { id: 'pm2' })).params.wavelength_nm).toBe(633);
    expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(1064);
    // ...and the file is their text plus the command's change, nothing else.
    expected = replaceOnce(edited, 'wavelength_nm = 800   #', `${note('800')}\nwavelength_nm = 1064   #`);
    expectFileText(readText(d.configPath), expected, since);

    const reloaded = await events.waitFor((e) => e.method === 'config.reloaded', 5000, 'config.reloaded for the edit');
    expect(reloaded.params.source).toBe('conflict');
    expect((await d.call('config.reloadStatus')).outcome).toBe('applied');
    expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);
    await watcherHasNotFired();
  });

  /** pm1's wavelength, and the value daqd's note above it says it was. */
  let pm1 = 1064;
  let pm1Was = 800;
  for (const [what, breakIt, value] of [
    ['a TOML syntax error', (t: string) => replaceOnce(t, '[instruments.pm2.params]\n', '[instruments.pm2.params\n'), 900],
    ['a value out of range', (t: string) => replaceOnce(t, 'wavelength_nm = 633 # HeNe', 'wavelength_nm = 6330 # HeNe'), 950],
  ] as const) {
    it(`a broken edit (${what}) makes the command fail with conflict; the file stays as the person wrote it`, async () => {
      const before = events.events.length;
      const good = readText(d.configPath);
      const broken = breakIt(good);
      writeFileSync(d.configPath, broken);

      const err = await rejection(d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: value } }));
      expect(err.kind).toBe('conflict');
      expect(err.message).toContain(d.configPath);
      expect(readText(d.configPath)).toBe(broken);
      // Nothing changed in memory either: the command was refused, the edit not applied.
      expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(pm1);
      expect((await d.call('instrument.get', { id: 'pm2' })).params.wavelength_nm).toBe(633);
      const failed = await events.waitFor((e) => events.events.indexOf(e) >= before && e.method === 'config.reloadFailed', 5000, 'config.reloadFailed');
      expect(failed.params.source).toBe('conflict');
      expect(events.events.slice(before).filter((e) => e.method === 'config.persisted')).toEqual([]);
      expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);

      // The person puts the file right: the next command goes through and writes into their text.
      writeFileSync(d.configPath, good);
      const r = await d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: value } });
      expect(r.persisted.written).toBe(true);
      expected = replaceOnce(expected, `${note(String(pm1Was))}\nwavelength_nm = ${pm1}   #`, `${note(String(pm1))}\nwavelength_nm = ${value}   #`);
      expectFileText(readText(d.configPath), expected, since);
      pm1Was = pm1;
      pm1 = value;
      await watcherHasNotFired();
    });
  }
  it("config.sync racing a person's edit does not write over it: conflict, the file as the person wrote it", async () => {
    // Something to sync: a change kept in memory only.
    expect((await d.call('instrument.set', { id: 'pm2', params: { filter: 'fast' }, persist: false })).persisted.written).toBe(false);
    const edited = replaceOnce(readText(d.configPath), 'port = "sim"\npoll_interval_ms = 100\n\n[instruments.pm2.params]', 'port = "sim"\npoll_interval_ms = 250 # slower, by hand\n\n[instruments.pm2.params]');
    writeFileSync(d.configPath, edited);

    const err = await rejection(d.call('config.sync'));
    expect(err.kind).toBe('conflict');
    expect(err.message).toContain(d.configPath);
    expect(readText(d.configPath)).toBe(edited);
    await watcherHasNotFired();

    // The person's way out: load the edit. The memory-only change of another key stays on top of
    // it (an override), and the sync then writes it into the person's text.
    await d.call('config.reload');
    const pm2 = await d.call('instrument.get', { id: 'pm2' });
    expect(pm2.pollIntervalMs).toBe(250);
    expect(pm2.params.filter).toBe('fast');
    expect(await d.call('config.sync')).toMatchObject({ written: true });
    const synced = readText(d.configPath);
    expect(synced).toContain('poll_interval_ms = 250 # slower, by hand');
    expect(synced).toMatch(/filter = "fast"/);
    expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);
    expect((await d.call('daemon.status')).overrides).toEqual([]);
  });
});
