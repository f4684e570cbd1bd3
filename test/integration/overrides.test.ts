/**
 * Memory-only changes are overrides on top of the file (issue #17): a `persist: false` set survives
 * a reload of an unrelated edit, is listed in status and instrument.get, is replaced by an edit of
 * its own key (and the reload says so), and config.sync writes it into the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { hotReloadStatus, nth, readText, saveInPlace, watcherSettled } from './reload-helpers.js';

const CONFIG = `[application.dynamic_config]
hot_reload_debounce_ms = 100

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm.params]
wavelength_nm = 700

[instruments.ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.ref.params]
wavelength_nm = 800
`;

describe('memory-only changes are overrides on top of the file', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;

  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'ready');
    rec = await EventRecorder.subscribe(d, { types: ['config.'] });
  });
  afterAll(async () => {
    rec?.close();
    await d?.dispose();
  });

  async function edit(text: string) {
    const mark = rec.events.length;
    const changes = (await hotReloadStatus(d)).changesSeen;
    saveInPlace(d.configPath, text);
    const ev = await nth(rec, 'config.reloaded', 1, mark);
    await watcherSettled(d, changes + 1);
    return ev;
  }

  it('survives a reload of an unrelated edit and is listed in status and get', async () => {
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 1064 }, persist: false });
    expect(readText(d.configPath)).toBe(CONFIG);
    const status = await d.call('daemon.status');
    expect(status.overrides).toEqual([{ path: 'instruments.pm.params.wavelength_nm', kind: 'set', value: 1064, file: 700 }]);

    await edit(CONFIG.replace('[instruments.ref.params]\nwavelength_nm = 800', '[instruments.ref.params]\nwavelength_nm = 633'));
    expect((await d.call('instrument.get', { id: 'ref' })).params.wavelength_nm).toBe(633);
    const pm = await d.call('instrument.get', { id: 'pm' });
    expect(pm.params.wavelength_nm).toBe(1064); // not undone by the unrelated edit
    expect(pm.device.wavelength_nm).toBe(1064);
    expect(pm.overrides).toEqual([{ path: 'instruments.pm.params.wavelength_nm', kind: 'set', value: 1064, file: 700 }]);
    const reload = await d.call('config.reloadStatus');
    expect(reload.overrides.kept).toHaveLength(1);
    expect(reload.overrides.replaced).toEqual([]);
  });

  it('is replaced by an edit of the same key, and the reload says so', async () => {
    const text = readText(d.configPath).replace('[instruments.pm.params]\nwavelength_nm = 700', '[instruments.pm.params]\nwavelength_nm = 900');
    const ev = await edit(text);
    expect(ev.params.diff.instruments.changed.pm.params.wavelength_nm).toEqual({ from: 1064, to: 900 });
    const pm = await d.call('instrument.get', { id: 'pm' });
    expect(pm.params.wavelength_nm).toBe(900);
    expect(pm.device.wavelength_nm).toBe(900);
    expect(pm.overrides).toEqual([]);
    const reload = await d.call('config.reloadStatus');
    expect(reload.overrides.replaced).toEqual([{ path: 'instruments.pm.params.wavelength_nm', kind: 'set', value: 1064, file: 700 }]);
    expect(reload.overrides.note).toMatch(/replaced memory-only change/);
  });

  it('config.sync writes the overrides into the file', async () => {
    await d.call('instrument.set', { id: 'ref', params: { wavelength_nm: 532 }, persist: false });
    expect((await d.call('daemon.status')).overrides).toHaveLength(1);
    await d.call('config.sync');
    expect(readText(d.configPath)).toMatch(/wavelength_nm = 532/);
    expect((await d.call('daemon.status')).overrides).toEqual([]);
  });
});
