/**
 * One instrument up, down, reconnected, or moved to another port over the socket (issue #17),
 * the way systemctl or supervisorctl users expect: the others never notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { RpcError } from '../../src/client/client.js';
import { readText } from './reload-helpers.js';

const CONFIG = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.other]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
`;

describe('instrument lifecycle over the socket', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;
  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'ready');
    rec = await EventRecorder.subscribe(d, { types: ['instrument.state'] });
  });
  afterAll(async () => {
    rec?.close();
    await d?.dispose();
  });
  const states = (id: string, from: number) => rec.events.slice(from).filter((e) => e.params.instrument === id).map((e) => e.params.state);

  it('disable closes the instrument and writes enabled = false; enable with wait answers once it is ready', async () => {
    const mark = rec.events.length;
    const off = await d.call('instrument.disable', { id: 'pm' });
    expect(off).toMatchObject({ id: 'pm', enabled: false, changed: ['enabled'] });
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).state === 'disabled', 5000, 'pm disabled');
    expect(readText(d.configPath)).toMatch(/\[instruments\.pm\][^[]*enabled = false/);
    const on = await d.call('instrument.enable', { id: 'pm', wait: true });
    expect(on).toMatchObject({ id: 'pm', enabled: true, state: 'ready' });
    expect(readText(d.configPath)).toMatch(/\[instruments\.pm\][^[]*enabled = true/);
    expect(states('other', mark)).toEqual([]);
  });

  it('restart reconnects only that instrument and waits for it', async () => {
    const mark = rec.events.length;
    const before = readText(d.configPath);
    const r = await d.call('instrument.restart', { id: 'pm', wait: true });
    expect(r).toMatchObject({ id: 'pm', restarted: true, state: 'ready' });
    expect(states('pm', mark)).toEqual(['connecting', 'ready']);
    expect(states('other', mark)).toEqual([]);
    expect(readText(d.configPath)).toBe(before);
  });

  it('two restarts in a row (the second while the first is still connecting) end ready, never in a port conflict', async () => {
    const mark = rec.events.length;
    await d.call('instrument.restart', { id: 'pm' });
    const r = await d.call('instrument.restart', { id: 'pm', wait: true });
    expect(r.state).toBe('ready');
    expect(rec.events.slice(mark).filter((e) => e.params.instrument === 'pm' && e.params.state === 'error')).toEqual([]);
  });

  it('connection settings change over the socket and reconnect only that instrument; mixed with parameters they are refused', async () => {
    const mark = rec.events.length;
    const r = await d.call('instrument.set', { id: 'pm', params: { timeout_ms: 500 } });
    expect(r.reconnected).toBe(true);
    expect(readText(d.configPath)).toMatch(/timeout_ms = 500/);
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).state === 'ready', 5000, 'pm ready again');
    expect(states('other', mark)).toEqual([]);
    const err = await d.call('instrument.set', { id: 'pm', params: { timeout_ms: 800, wavelength_nm: 700 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).kind).toBe('invalid_params');
    expect((err as RpcError).message).toMatch(/on their own/);
  });
});
