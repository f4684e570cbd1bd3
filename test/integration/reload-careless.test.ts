/**
 * Careless saves (issue #16): a deleted parameter line is applied (the config forgets it, the
 * device keeps its value, a restart does not restore it, the reload diff says so); an empty file or
 * one that removes every instrument at once is refused unless confirmed; an empty file at start-up
 * starts an idle daemon.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { hotReloadStatus, nth, readText, saveInPlace, sedInPlace, watcherSettled } from './reload-helpers.js';

const CONFIG = `[application.dynamic_config]
hot_reload_debounce_ms = 100

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm.params]
wavelength_nm = 700
filter = "slow"

[instruments.ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100
`;

async function allReady(d: DaemonHandle): Promise<void> {
  await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'every instrument ready');
}

describe('careless saves', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;

  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG });
    await allReady(d);
    rec = await EventRecorder.subscribe(d, { types: ['config.'] });
  });
  afterAll(async () => {
    rec?.close();
    await d?.dispose();
  });

  it('a parameter line deleted with sed is forgotten: not in the running config, the device keeps its value, a restart does not restore it', async () => {
    const mark = rec.events.length;
    const changes = (await hotReloadStatus(d)).changesSeen;
    await sedInPlace(d.configPath, '/^filter = "slow"/d');
    const ev = await nth(rec, 'config.reloaded', 1, mark);
    await watcherSettled(d, changes + 1);
    expect(ev.params.diff.instruments.changed.pm).toMatchObject({ params: { filter: { from: 'slow' } }, forgotten: ['filter'], reconnect: false });
    const pm = await d.call('instrument.get', { id: 'pm', refresh: true });
    expect(pm.params).toEqual({ wavelength_nm: 700 });
    expect(pm.device.filter).toBe('slow'); // the device keeps what it holds
    expect(pm.drift).toEqual({});

    // Restart: the forgotten parameter is not restored, and nothing puts it back in the config.
    const dir = d.dir;
    expect(await d.stop()).toBe(0);
    rec.close();
    d = await startDaemon({ config: undefined as unknown as string, dir });
    await allReady(d);
    rec = await EventRecorder.subscribe(d, { types: ['config.'] });
    const after = await d.call('instrument.get', { id: 'pm' });
    expect(after.params).toEqual({ wavelength_nm: 700 });
  });

  it('an empty file is refused as a reload and the running config stays', async () => {
    const mark = rec.events.length;
    const good = readText(d.configPath);
    saveInPlace(d.configPath, '');
    const failed = await nth(rec, 'config.reloadFailed', 1, mark);
    expect(JSON.stringify(failed.params.errors)).toMatch(/empty.*keeping the running config/);
    expect((await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id).sort()).toEqual(['pm', 'ref']);
    const status = await d.call('config.reloadStatus');
    expect(status.outcome).toBe('failed');
    expect(status.message).toMatch(/--allow-empty/);
    saveInPlace(d.configPath, good);
    await waitUntil(async () => (await d.call('config.reloadStatus')).outcome !== 'failed', 10_000, 'the good file to be loaded again');
  });

  it('a file that removes every instrument at once is refused unless allowEmpty', async () => {
    const changes = (await hotReloadStatus(d)).changesSeen;
    const mark = rec.events.length;
    saveInPlace(d.configPath, '# everything commented out\n[application.dynamic_config]\nhot_reload_debounce_ms = 100\n');
    await nth(rec, 'config.reloadFailed', 1, mark);
    await watcherSettled(d, changes + 1);
    expect((await d.call('instrument.list')).instruments).toHaveLength(2);
    const r = await d.call('config.reload', { allowEmpty: true });
    expect(r.outcome).toBe('applied');
    expect((await d.call('instrument.list')).instruments).toHaveLength(0);
  });
});

describe('an empty file at start-up', () => {
  it('starts an idle daemon with a warning', async () => {
    const d = await startDaemon({ config: '# nothing here yet\n' });
    try {
      const status = await d.call('daemon.status');
      expect(status.instruments.total).toBe(0);
      await waitUntil(() => /empty \(or only comments\): daqd starts idle/.test(d.output()), 5000, 'the warning in the log');
      // Adding to an idle daemon works and writes the file.
      writeFileSync(d.configPath, readText(d.configPath)); // unchanged
      await d.call('instrument.add', { id: 'pm', config: { driver: 'newport_1830c', port: 'sim' } });
      expect(readText(d.configPath)).toMatch(/\[instruments\.pm\]/);
    } finally {
      await d.dispose();
    }
  });
});
