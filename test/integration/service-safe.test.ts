/**
 * `daqd --safe` (issue #20): the config is loaded and validated, but no port is opened (not a byte
 * reaches a device on a real pty), modules stay idle, the file is never touched; `instrument.enable`
 * (daqctl enable) brings instruments up one at a time, and a module starts once its instruments are.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver as newport1830cDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

const config = (a: string, b: string) => `[application.dynamic_config]
enable_hot_reload = false

[instruments.pm_a]
driver = "newport_1830c"
port = "${a}"
poll_interval_ms = 50

[instruments.pm_b]
driver = "newport_1830c"
port = "${b}"
poll_interval_ms = 50

[modules.watch_a]
type = "monitor"
reading = "power"
high = 1.0
roles = { source = "pm_a" }
`;

describe('daqd --safe', () => {
  let a: ServedDevice<Newport1830cSimulator>;
  let b: ServedDevice<Newport1830cSimulator>;
  let d: DaemonHandle;
  let fileBefore: string;

  beforeAll(async () => {
    a = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    b = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    d = await startDaemon({ config: config(a.pty.a, b.pty.a), args: ['--safe'] });
    fileBefore = readFileSync(d.configPath, 'utf8');
  });
  afterAll(async () => {
    await d?.dispose();
    await a?.close();
    await b?.close();
  });

  it('opens no port: no byte on either pty, every instrument disabled, modules idle, config validated', async () => {
    const status = await d.call('daemon.status');
    expect(status.safeMode).toEqual({ active: true, held: ['pm_a', 'pm_b'] });
    expect(status.instruments).toMatchObject({ total: 2, disabled: 2 });
    expect(status.ports).toEqual([]);
    const modules = await d.call('module.list');
    const list = Array.isArray(modules) ? modules : modules.modules;
    expect(list.find((m: any) => m.id === 'watch_a')).toMatchObject({ state: 'idle', reason: expect.stringMatching(/safe mode: waiting for pm_a/) });
    // Several poll intervals' worth of time on the daemon's own clock: a status round trip per 50 ms.
    const until = Date.now() + 400;
    await waitUntil(async () => (await d.call('daemon.status')) && Date.now() > until, 5000, '400 ms of safe mode');
    expect(a.wire).toEqual([]);
    expect(b.wire).toEqual([]);
    expect(d.output()).toMatch(/safe mode/);
  });

  it('instrument.enable brings one instrument up (bytes on its pty only); the file is never written', async () => {
    const r = await d.call('instrument.enable', { id: 'pm_a' });
    expect(r.released).toBe('safe mode');
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm_a' })).state === 'ready', 15_000, 'pm_a ready');
    await waitUntil(() => a.wire.length > 0, 5000, 'bytes at pm_a');
    // Its module runs now: its only instrument is up.
    await waitUntil(async () => {
      const modules = await d.call('module.list');
      const list = Array.isArray(modules) ? modules : modules.modules;
      return list.find((m: any) => m.id === 'watch_a')?.state === 'running';
    }, 10_000, 'watch_a running');
    expect(b.wire).toEqual([]);
    const status = await d.call('daemon.status');
    expect(status.safeMode).toEqual({ active: true, held: ['pm_b'] });
    expect(readFileSync(d.configPath, 'utf8')).toBe(fileBefore);
  });

  it('the last enable ends safe mode; still nothing written to the file', async () => {
    await d.call('instrument.enable', { id: 'pm_b' });
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm_b' })).state === 'ready', 15_000, 'pm_b ready');
    expect(b.wire.length).toBeGreaterThan(0);
    expect((await d.call('daemon.status')).safeMode).toEqual({ active: false, held: [] });
    expect(readFileSync(d.configPath, 'utf8')).toBe(fileBefore);
    expect(readFileSync(d.configPath, 'utf8')).not.toMatch(/enabled/);
  });
});
