/**
 * enable_hot_reload = false: the watcher is off and edits wait for SIGHUP or `daqctl reload`, which
 * apply at once (no debounce). Switching hot reload on or off in the file takes effect with the
 * reload that applies it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl as runDaqctl, type RunResult } from '../helpers/run.js';
import { count, hotReloadStatus, nth, saveByRename, seqsOf } from './reload-helpers.js';

const DEBOUNCE_MS = 100;

function config(wavelength: number, hotReload: boolean): string {
  return `[application.dynamic_config]
enable_hot_reload = ${hotReload}
hot_reload_debounce_ms = ${DEBOUNCE_MS}

[instruments.meter]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 25

[instruments.meter.params]
wavelength_nm = ${wavelength}
`;
}

function daqctl(socket: string, ...args: string[]): Promise<RunResult> {
  return runDaqctl(socket, args);
}

describe('hot reload switched off', () => {
  let daemon: DaemonHandle;
  let rec: EventRecorder;
  let mark = 0;

  beforeAll(async () => {
    daemon = await startDaemon({ config: config(800, false) });
    rec = await EventRecorder.subscribe(daemon, { types: ['config.', 'reading'] });
  });
  afterAll(async () => {
    rec?.close();
    await daemon?.dispose();
  });
  beforeEach(() => {
    mark = rec.events.length;
  });

  /**
   * Proving that nothing happens needs time to pass: wait (on readings, not a timer) for many
   * times the debounce, long enough for a watcher to have reloaded twice over.
   */
  async function quietPeriod(): Promise<void> {
    const from = seqsOf(rec, 'meter').length;
    await waitUntil(() => seqsOf(rec, 'meter').length >= from + Math.ceil((6 * DEBOUNCE_MS) / 25), 10_000, 'meter readings over 6 debounce periods');
  }

  const wavelength = async () => (await daemon.call('instrument.get', { id: 'meter' })).params.wavelength_nm as number;

  it('an edit does nothing until SIGHUP, which applies it at once', async () => {
    const s = await hotReloadStatus(daemon);
    expect(s.enabled).toBe(false);
    expect(s.watching).toBe(false);

    saveByRename(daemon.configPath, config(633, false));
    await quietPeriod();
    expect(count(rec, 'config.reloaded', mark)).toBe(0);
    expect(await wavelength()).toBe(800);
    expect((await hotReloadStatus(daemon)).changesSeen).toBe(0);

    daemon.proc.kill('SIGHUP');
    const ev = await nth(rec, 'config.reloaded', 1, mark);
    expect(ev.params.source).toBe('signal');
    expect(ev.params.diff.instruments.changed.meter.params.wavelength_nm).toEqual({ from: 800, to: 633 });
    expect(await wavelength()).toBe(633);
    const status = await daemon.call('config.reloadStatus');
    expect(status).toMatchObject({ outcome: 'applied', source: 'signal', at: ev.params.at });
  });

  it('`daqctl reload` applies a pending edit at once and prints what it applied', async () => {
    saveByRename(daemon.configPath, config(700, false));
    await quietPeriod();
    expect(await wavelength()).toBe(633);

    const started = Date.now();
    const r = await daqctl(daemon.socketPath, 'reload');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^applied at .* in [\d.]+ ms \(socket\): ~meter\(wavelength_nm\)/);
    // The reply comes once the change is applied: no debounce in between.
    expect(await wavelength()).toBe(700);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(count(rec, 'config.reloaded', mark)).toBe(1);

    const json = await daqctl(daemon.socketPath, '--json', 'reload', '--status');
    expect(JSON.parse(json.out)).toMatchObject({ outcome: 'applied', source: 'socket' });
  });

  it('turning enable_hot_reload on (by SIGHUP) starts the watcher; turning it off in the file stops it', async () => {
    saveByRename(daemon.configPath, config(710, true));
    daemon.proc.kill('SIGHUP');
    await nth(rec, 'config.reloaded', 1, mark);
    await waitUntil(async () => (await hotReloadStatus(daemon)).watching, 5000, 'the watcher to start');
    expect(await wavelength()).toBe(710);

    saveByRename(daemon.configPath, config(720, true));
    const byWatcher = await nth(rec, 'config.reloaded', 2, mark);
    expect(byWatcher.params.source).toBe('watcher');
    expect(await wavelength()).toBe(720);

    const changes = (await hotReloadStatus(daemon)).changesSeen;
    saveByRename(daemon.configPath, config(730, false));
    const off = await nth(rec, 'config.reloaded', 3, mark);
    expect(off.params.diff.application).toEqual(['dynamic_config.enable_hot_reload']);
    await waitUntil(async () => !(await hotReloadStatus(daemon)).watching, 5000, 'the watcher to stop');
    expect(changes).toBeGreaterThan(0);

    const offMark = rec.events.length;
    saveByRename(daemon.configPath, config(740, false));
    await quietPeriod();
    expect(count(rec, 'config.reloaded', offMark)).toBe(0);
    expect(await wavelength()).toBe(730);
  });
});
