/**
 * module.set changes a module's settings live and writes them back (issue #17); a tripped
 * interlock whose settings change stays tripped and keeps holding its actuator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { readText } from './reload-helpers.js';
import { daqctl } from './modules-helpers.js';

const CONFIG = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
sim = { power_w = 1e-3, noise = 0 }

[instruments.pm1.params]
attenuator = true

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 50

[modules.watch]
type = "monitor"
reading = "power"
high = 1.0 # W

[modules.watch.roles]
source = "pm1"

[modules.guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm1"
actuator = "laser"
`;

describe('module.set', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'ready');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('changes a monitor limit live and in the file, keeping the comment; refuses roles and type', async () => {
    const r = await d.call('module.set', { id: 'watch', settings: { high: 1e-7 } });
    expect(r.changed).toEqual(['high']);
    expect(readText(d.configPath)).toMatch(/high = 1e-7 # W/i);
    await waitUntil(async () => (await d.call('module.get', { id: 'watch' })).status.alarm === true, 5000, 'the alarm at the new limit');
    const err = await d.call('module.set', { id: 'watch', settings: { roles: { source: 'pm1' } } }).catch((e: unknown) => e);
    expect((err as RpcError).kind).toBe('invalid_params');
    const bad = await d.call('module.set', { id: 'watch', settings: { high: 'lots' } }).catch((e: unknown) => e);
    expect((bad as RpcError).kind).toBe('validation_failed');
  });

  it('a tripped interlock stays tripped and holding when its settings change', async () => {
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: false }, persist: false });
    await waitUntil(async () => (await d.call('module.get', { id: 'guard' })).status.tripped === true, 5000, 'the trip');
    await d.call('module.set', { id: 'guard', settings: { above: 5e-4 } });
    const guard = await d.call('module.get', { id: 'guard' });
    expect(guard.status.tripped).toBe(true);
    const laser = await d.call('instrument.get', { id: 'laser' });
    expect(laser.holds).toEqual([{ param: 'shutter', value: false, holder: 'module:guard' }]);
  });

  it('daqctl module set converts the words and says what changed', async () => {
    const r = await daqctl(d, 'module', 'set', 'watch', 'high=2e-7', 'hysteresis=');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/watch: set high/);
    expect((await d.call('module.get', { id: 'watch' })).status.limits).toBeDefined();
    expect(readText(d.configPath)).toMatch(/high = 2e-7/i);
  });
});
