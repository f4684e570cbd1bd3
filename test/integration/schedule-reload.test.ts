/**
 * A standing schedule in the config file through a real daqd (issue #22): started at start-up,
 * edited in the file and hot-reloaded (the watcher), removed with the table; its sets reach the device.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';

const BASE = `[application.dynamic_config]
enable_persistence = false
hot_reload_debounce_ms = 100

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm.params]
wavelength_nm = 800
`;

describe('[schedules.<id>] hot-reloaded', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: `${BASE}\n[schedules.later]\ntype = "at"\ninstrument = "pm"\nparam = "wavelength_nm"\nvalue = 900\nat = "2099-01-01T00:00:00Z"\n` });
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).state === 'ready', 15_000, 'pm ready');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('starts the file\'s schedule, follows an edit, and stops it when the table goes', async () => {
    const first = await d.call('schedule.get', { id: 'later' });
    expect(first).toMatchObject({ owner: 'config', state: 'active', nextDue: '2099-01-01T00:00:00.000Z' });
    await expect(d.call('schedule.cancel', { id: 'later' })).rejects.toMatchObject({ message: expect.stringMatching(/config file/) });

    // edit: run soon instead (a ramp from the file)
    writeFileSync(d.configPath, `${BASE}\n[schedules.later]\ntype = "ramp"\ninstrument = "pm"\nparam = "wavelength_nm"\nfrom = 800\nto = 830\nduration_ms = 600\nstep_ms = 200\n`);
    await waitUntil(async () => (await d.call('schedule.get', { id: 'later' })).type === 'ramp', 10_000, 'the edited schedule');
    await waitUntil(async () => (await d.call('schedule.get', { id: 'later' })).state === 'done', 10_000, 'the ramp done');
    expect((await d.call('instrument.get', { id: 'pm', refresh: true })).device.wavelength_nm).toBe(830);
    const hist = await d.call('history.list', { source: 'schedule:later' });
    expect(hist.entries.length).toBeGreaterThanOrEqual(2);

    writeFileSync(d.configPath, BASE);
    await waitUntil(async () => (await d.call('schedule.list')).schedules.length === 0, 10_000, 'the schedule gone');
    expect(readFileSync(d.configPath, 'utf8')).toBe(BASE);
  });
});
