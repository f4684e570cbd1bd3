/**
 * Modules acting inside a real daqd on simulated instruments: the interlock closes a laser shutter
 * on the device and latches, a monitor raises and clears one alarm, a derived module publishes
 * readings. The light on a meter is switched with its attenuator (OD3), an ordinary parameter:
 * 1 mW on the detector reads 1 uW with the attenuator in, 1 mW without.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil, type DaemonHandle, type EventRecorder } from '../helpers/daemon.js';
import { readText, rpcError, startModulesDaemon } from './modules-helpers.js';

const CONFIG = `# Modules acting on simulated instruments.
[application.dynamic_config]
enable_persistence = true

# Sample meter: 1 mW of light, no noise, attenuated to 1 uW at start.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
sim = { power_w = 1e-3, noise = 0 }

[instruments.pm1.params]
attenuator = true
filter = "fast"

# Reference meter, the same.
[instruments.pm2]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
sim = { power_w = 1e-3, noise = 0 }

[instruments.pm2.params]
attenuator = true
filter = "fast"

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 50

[instruments.laser.params]
shutter = true # open

[modules.guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm1"
actuator = "laser"

[modules.watch]
type = "monitor"
reading = "power"
high = 1e-4
hysteresis = 1e-5

[modules.watch.roles]
source = "pm2"

[modules.ratio]
type = "derived"
expression = "sample.power / ref.power"
output = "ratio"

[modules.ratio.roles]
sample = "pm1"
ref = "pm2"
`;

describe('modules acting through the daemon', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;
  beforeAll(async () => {
    ({ d, rec } = await startModulesDaemon(CONFIG));
  });
  afterAll(async () => {
    rec?.close();
    await d?.dispose();
  });

  const moduleStatus = async (id: string) => (await d.call('module.get', { id })).status;
  const readingsOf = (instrument: string) => rec.events.filter((e) => e.method === 'reading' && e.params.instrument === instrument);

  it('a derived module publishes its reading from both inputs', async () => {
    const ev = await rec.waitFor((e) => e.method === 'module.reading' && e.params.module === 'ratio', 5000, 'a ratio reading');
    expect(ev.params.values.ratio).toBeCloseTo(1, 3);
    expect(ev.params.seq).toBeGreaterThanOrEqual(1);
    const next = await rec.waitFor((e) => e.method === 'module.reading' && e.params.module === 'ratio' && e.params.seq > ev.params.seq, 5000, 'the next ratio reading');
    expect(next.params.seq).toBe(ev.params.seq + 1);
    const status = await moduleStatus('ratio');
    expect(status.published).toBeGreaterThanOrEqual(2);
    expect(status.output).toBe('ratio');
  });

  it('a monitor raises one alarm when the reading goes out and clears it when it comes back', async () => {
    const alarms = () => rec.events.filter((e) => e.method === 'module.alarm' && e.params.module === 'watch');
    expect(alarms()).toEqual([]);
    await d.call('instrument.set', { id: 'pm2', params: { attenuator: false } });
    const raised = await rec.waitFor((e) => e.method === 'module.alarm' && e.params.module === 'watch', 5000, 'the alarm');
    expect(raised.params.active).toBe(true);
    expect(raised.params.value).toBeCloseTo(1e-3, 6);
    expect(raised.params.message).toContain('pm2.power');
    // It stays out for several more readings: still one event, not one per reading.
    const seen = readingsOf('pm2').length;
    await waitUntil(() => readingsOf('pm2').length >= seen + 5, 5000, 'five more pm2 readings');
    expect(alarms()).toHaveLength(1);
    expect((await moduleStatus('watch')).alarm).toBe(true);

    await d.call('instrument.set', { id: 'pm2', params: { attenuator: true } });
    const cleared = await rec.waitFor((e) => e.method === 'module.alarm' && e.params.module === 'watch' && e.params.active === false, 5000, 'the clear');
    expect(cleared.params.value).toBeLessThan(1e-4);
    expect(alarms()).toHaveLength(2);
    expect((await moduleStatus('watch')).alarm).toBe(false);
  });

  it('the interlock closes the laser shutter on the device and latches until reset', async () => {
    // shutter = true in the file is an action: not performed at start-up. A person opens it.
    const laserAtStart = await d.call('instrument.get', { id: 'laser' });
    expect(laserAtStart.device.shutter).toBe(false);
    await d.call('instrument.set', { id: 'laser', params: { shutter: true } });
    const laser0 = await d.call('instrument.get', { id: 'laser' });
    expect(laser0.device.shutter).toBe(true);

    expect((await moduleStatus('guard')).tripped).toBe(false);

    await d.call('instrument.set', { id: 'pm1', params: { attenuator: false } });
    const fileBefore = readText(d.configPath); // the set above is recorded; the trip must add nothing
    const trip = await rec.waitFor((e) => e.method === 'module.interlock' && e.params.module === 'guard', 5000, 'the trip');
    expect(trip.params.tripped).toBe(true);
    expect(trip.params.message).toContain('laser.shutter = false');

    // The shutter is closed on the device: the laser's own poll reads it back as closed.
    const tripSeen = rec.events.indexOf(trip);
    await rec.waitFor(
      (e) => rec.events.indexOf(e) > tripSeen && e.method === 'reading' && e.params.instrument === 'laser' && e.params.values.shutter === false,
      5000,
      'a laser reading with the shutter closed',
    );
    // The device may report the closed shutter before the command has finished (persisted):
    // once the interlock has its answer, the running config says closed too.
    await waitUntil(async () => (await moduleStatus('guard')).action === 'done', 5000, 'the action to be confirmed');
    const laser = await d.call('instrument.get', { id: 'laser' });
    expect(laser.device.shutter).toBe(false);
    expect(laser.holds).toEqual([{ param: 'shutter', value: false, holder: 'module:guard' }]);
    // The trip is runtime state on the safety lane: never written to the file.
    expect(readText(d.configPath)).toBe(fileBefore);

    // Still over the limit: a reset is refused, with the value and the limit.
    const refused = await rpcError(d.call('module.reset', { id: 'guard' }));
    expect(refused.kind).toBe('conflict');
    expect(refused.message).toContain('still above the limit');
    expect((await moduleStatus('guard')).tripped).toBe(true);

    // Back within the limit: the latch still holds until someone resets it.
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: true } });
    await waitUntil(async () => (await moduleStatus('guard')).lastValue < 1e-4, 5000, 'the interlock to see the low reading');
    expect((await moduleStatus('guard')).tripped).toBe(true);
    const trips = rec.events.filter((e) => e.method === 'module.interlock' && e.params.tripped === true);
    expect(trips).toHaveLength(1);

    const reset = await d.call('module.reset', { id: 'guard' });
    expect(reset.status.tripped).toBe(false);
    const resetEvent = await rec.waitFor((e) => e.method === 'module.interlock' && e.params.tripped === false, 5000, 'the reset event');
    expect(resetEvent.params.message).toContain('laser is left as it is');
    // Reset clears the latch only: the shutter stays closed.
    const seen = readingsOf('laser').length;
    await waitUntil(() => readingsOf('laser').length > seen, 5000, 'another laser reading');
    expect(readingsOf('laser').at(-1)!.params.values.shutter).toBe(false);
  });

  it('an interlock with its sensor unassigned is degraded and does not act', async () => {
    await d.call('instrument.set', { id: 'laser', params: { shutter: true } });
    const un = await d.call('module.unassign', { id: 'guard', role: 'sensor' });
    expect(un.state).toBe('degraded');
    const eventsBefore = rec.events.filter((e) => e.method === 'module.interlock').length;
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: false } });
    // Several over-limit readings go by; nothing trips and the shutter stays open.
    const seen = readingsOf('pm1').length;
    await waitUntil(() => readingsOf('pm1').filter((e, i) => i >= seen && e.params.values.power > 1e-4).length >= 5, 5000, 'five over-limit pm1 readings');
    expect(rec.events.filter((e) => e.method === 'module.interlock')).toHaveLength(eventsBefore);
    expect((await d.call('instrument.get', { id: 'laser' })).device.shutter).toBe(true);

    // Assigned again while over the limit: it trips on the next reading.
    await d.call('module.assign', { id: 'guard', role: 'sensor', instrument: 'pm1' });
    await rec.waitFor((e) => e.method === 'module.interlock' && e.params.tripped === true && rec.events.filter((x) => x.method === 'module.interlock').indexOf(e) >= eventsBefore, 5000, 'the trip after reassignment');
    await waitUntil(async () => (await d.call('instrument.get', { id: 'laser' })).device.shutter === false, 5000, 'the shutter to close');
    await waitUntil(async () => (await moduleStatus('guard')).action === 'done', 5000, 'the action to be confirmed');

    // Unassigning the sensor of a tripped interlock does not hide or drop the latch.
    await d.call('module.unassign', { id: 'guard', role: 'sensor' });
    const parked = await d.call('module.get', { id: 'guard' });
    expect(parked.state).toBe('degraded');
    expect(parked.status.tripped).toBe(true);
    const refused = await rpcError(d.call('module.reset', { id: 'guard' }));
    expect(refused.kind).toBe('conflict');
    expect(refused.message).toContain('degraded');
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: true } });
    await d.call('module.assign', { id: 'guard', role: 'sensor', instrument: 'pm1' });
    expect((await moduleStatus('guard')).tripped).toBe(true);
    await waitUntil(async () => (await moduleStatus('guard')).lastValue < 1e-4, 5000, 'the interlock to see the low reading');
    expect((await d.call('module.reset', { id: 'guard' })).status.tripped).toBe(false);
  });
});
