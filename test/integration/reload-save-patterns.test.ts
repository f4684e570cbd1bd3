/**
 * Hot reload against a real daqd child: every way people save a file is picked up once, after the
 * debounce; a burst of saves is one reload; the daemon's own writes are not reloaded.
 */
import { unlinkSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import {
  count,
  hotReloadStatus,
  nth,
  readText,
  saveByDeleteAndRecreate,
  saveByRename,
  saveInPlace,
  saveSlowly,
  sedInPlace,
  watcherSettled,
} from './reload-helpers.js';

const DEBOUNCE_MS = 150;

function config(wavelength: number, pollMs = 50): string {
  return `# bench config used by the reload tests
[application.dynamic_config]
hot_reload_debounce_ms = ${DEBOUNCE_MS} # short, for tests

[instruments.meter]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = ${pollMs}

[instruments.meter.params]
wavelength_nm = ${wavelength} # the laser line

[instruments.other]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
`;
}

describe('hot reload: save patterns', () => {
  let daemon: DaemonHandle;
  let rec: EventRecorder;
  let mark = 0;

  beforeAll(async () => {
    daemon = await startDaemon({ config: config(800) });
    rec = await EventRecorder.subscribe(daemon, { types: ['config.', 'instrument.state'] });
    await waitUntil(async () => (await daemon.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'both meters ready');
  });
  afterAll(async () => {
    rec?.close();
    await daemon?.dispose();
  });
  beforeEach(async () => {
    // Start each test from a quiet watcher, so its events are this test's alone.
    const s = await hotReloadStatus(daemon);
    await watcherSettled(daemon, s.changesSeen);
    mark = rec.events.length;
  });

  /** After a save: exactly one reload, it applied `wavelength` live, nothing else happened. */
  async function expectOneLiveReload(wavelength: number, changesBefore: number): Promise<void> {
    const ev = await nth(rec, 'config.reloaded', 1, mark);
    expect(ev.params.source).toBe('watcher');
    expect(ev.params.diff.instruments.changed.meter.params.wavelength_nm.to).toBe(wavelength);
    expect(ev.params.diff.instruments.changed.meter.reconnect).toBe(false);
    expect(ev.params.durationMs).toBeGreaterThan(0);
    await watcherSettled(daemon, changesBefore + 1);
    expect(count(rec, 'config.reloaded', mark)).toBe(1);
    expect(count(rec, 'config.reloadFailed', mark)).toBe(0);
    // A live set: the meter never left ready (no reconnect).
    expect(rec.events.slice(mark).filter((e) => e.method === 'instrument.state')).toEqual([]);
    const meter = await daemon.call('instrument.get', { id: 'meter' });
    expect(meter.params.wavelength_nm).toBe(wavelength);
    expect(meter.state).toBe('ready');
    const status = await daemon.call('config.reloadStatus');
    expect(status.outcome).toBe('applied');
    expect(status.at).toBe(ev.params.at);
    expect(status.diff).toEqual(ev.params.diff);
  }

  it('in-place write', async () => {
    const before = (await hotReloadStatus(daemon)).changesSeen;
    saveInPlace(daemon.configPath, config(633));
    await expectOneLiveReload(633, before);
  });

  it('write to a temp file and rename it over the config (vim, most editors)', async () => {
    const before = (await hotReloadStatus(daemon)).changesSeen;
    saveByRename(daemon.configPath, config(532));
    await expectOneLiveReload(532, before);
  });

  it('sed -i as a real child process', async () => {
    const before = (await hotReloadStatus(daemon)).changesSeen;
    await sedInPlace(daemon.configPath, 's/^wavelength_nm = [0-9]*/wavelength_nm = 1064/');
    expect(readText(daemon.configPath)).toContain('wavelength_nm = 1064 # the laser line');
    await expectOneLiveReload(1064, before);
  });

  it('delete and recreate', async () => {
    const before = (await hotReloadStatus(daemon)).changesSeen;
    saveByDeleteAndRecreate(daemon.configPath, config(780));
    await expectOneLiveReload(780, before);
  });

  it('delete, a pause (file missing for a while), then recreate', async () => {
    const before = (await hotReloadStatus(daemon)).changesSeen;
    unlinkSync(daemon.configPath);
    // Longer than chokidar's 100 ms unlink/add pairing, shorter than the debounce: the watcher sees
    // the file gone, then back, and must not report the missing file.
    await new Promise((r) => setTimeout(r, 130));
    saveInPlace(daemon.configPath, config(815));
    await expectOneLiveReload(815, before);
  });

  it('a slow save in several writes, pauses shorter than the debounce: one reload, no failure for the half-written file', async () => {
    const before = (await hotReloadStatus(daemon)).changesSeen;
    // The cut points fall inside tables and values: every prefix but the last is broken or incomplete.
    await saveSlowly(daemon.configPath, config(905), 4, DEBOUNCE_MS / 3);
    await expectOneLiveReload(905, before);
  });

  it('30 rapid saves within the debounce make exactly one reload, of the last text', async () => {
    const before = (await hotReloadStatus(daemon)).reloadsRequested;
    for (let i = 0; i < 30; i++) {
      saveInPlace(daemon.configPath, config(700 + i));
      await new Promise((r) => setTimeout(r, 3)); // the burst itself: saves a few ms apart
    }
    const ev = await nth(rec, 'config.reloaded', 1, mark);
    expect(ev.params.diff.instruments.changed.meter.params.wavelength_nm.to).toBe(729);
    const settled = await watcherSettled(daemon, 1);
    expect(settled.reloadsRequested - before).toBe(1);
    expect(count(rec, 'config.reloaded', mark)).toBe(1);
    expect(count(rec, 'config.reloadFailed', mark)).toBe(0);
    expect((await daemon.call('instrument.get', { id: 'meter' })).params.wavelength_nm).toBe(729);
  });

  it('a socket command that writes the file causes no reload', async () => {
    const statusBefore = await daemon.call('config.reloadStatus');
    const watchBefore = await hotReloadStatus(daemon);
    const result = await daemon.call('instrument.set', { id: 'meter', params: { wavelength_nm: 1000 } });
    expect(result).toBeTruthy();
    await nth(rec, 'config.persisted', 1, mark);
    expect(readText(daemon.configPath)).toContain('wavelength_nm = 1000 # the laser line');
    // The watcher saw the daemon's own write, looked at it, and found nothing to do.
    const after = await watcherSettled(daemon, watchBefore.changesSeen + 1);
    expect(after.ownWritesIgnored).toBeGreaterThan(watchBefore.ownWritesIgnored);
    expect(count(rec, 'config.reloaded', mark)).toBe(0);
    expect(count(rec, 'config.reloadFailed', mark)).toBe(0);
    expect(await daemon.call('config.reloadStatus')).toEqual(statusBefore);
  });
});
