/**
 * The interlock's safety lane through a real daqd, with the laser on a pty (issue #15): the trip
 * closes the shutter on the device and is never written to the file; a person's set against the
 * tripped interlock is refused with `unsafe` and nothing reaches the wire; a front-panel opening
 * is seen in the laser's readings and set back; the interlock closes the shutter even when the
 * config file is unparsable or deleted (nothing it does waits on the file); a silent, failing,
 * saturated or re-unitted sensor trips it.
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import { driver as newportDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl, readText } from './modules-helpers.js';
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

/**
 * `maxAge`: the interlock's max_age_ms. The tests of other causes give it 10 s: a loaded machine
 * (the whole suite at once) can keep the meter's pty from answering for a second, and a stale trip
 * would then come first and name the wrong cause.
 */
const config = (laserPort: string, meterPort: string, maxAge?: number) => `# Interlock bench: the laser and the sample meter on ptys.
[application.dynamic_config]
enable_persistence = true
hot_reload_debounce_ms = 100

# Sample meter: 1 mW of light, attenuated to 1 uW at start.
[instruments.pm1]
driver = "newport_1830c"
port = "${meterPort}"
poll_interval_ms = 50
timeout_ms = 300

[instruments.pm1.params]
attenuator = true

[instruments.laser]
driver = "maitai"
port = "${laserPort}"
poll_interval_ms = 50

# Close the shutter above 0.1 mW on the sample, and hold it closed.
[modules.guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "shutter"
value = false
${maxAge === undefined ? '' : `max_age_ms = ${maxAge}\n`}
[modules.guard.roles]
sensor = "pm1"
actuator = "laser"
`;

type Ev = { method: string; params: any };

describe('the interlock acts on the device through the safety lane', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;
  let laser: ServedDevice<MaiTaiSimulator>;
  let meter: ServedDevice<Newport1830cSimulator>;

  beforeAll(async () => {
    laser = await serveOnPty(maitaiDriver, new MaiTaiSimulator());
  });
  afterAll(async () => {
    await laser?.close();
  });
  beforeEach(async (ctx) => {
    meter = await serveOnPty(newportDriver, new Newport1830cSimulator({ powerW: 1e-3, noise: 0 }));
    // The sensor-loss tests keep the default age (three poll intervals, at least 1 s).
    const sensorLoss = /silent|unplugged/.test(ctx.task.name);
    d = await startDaemon({ config: config(laser.pty.a, meter.pty.a, sensorLoss ? undefined : 10_000) });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'ready');
    rec = await EventRecorder.subscribe(d, { types: ['module.interlock', 'reading'] });
    await d.call('instrument.set', { id: 'laser', params: { shutter: true }, persist: false });
    expect(laser.sim.shutterOpen).toBe(true);
  });
  afterEach(async () => {
    rec?.close();
    await d?.dispose();
    await meter?.close();
  });

  const statusOf = async () => (await d.call('module.get', { id: 'guard' })).status;
  const tripped = (e: Ev) => e.method === 'module.interlock' && e.params.tripped === true;
  const trip = async () => {
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: false }, persist: false });
    await rec.waitFor(tripped, 5000, 'the trip');
    await waitUntil(() => !laser.sim.shutterOpen, 5000, 'the shutter to close on the device');
    await waitUntil(async () => (await statusOf()).action === 'done', 5000, 'the action confirmed');
  };

  it('trips, holds the shutter against a person (unsafe, nothing sent) and against the front panel; the file is untouched', async () => {
    const fileBefore = readText(d.configPath);
    await trip();
    expect(readText(d.configPath)).toBe(fileBefore);
    expect(await statusOf()).toMatchObject({ tripped: true, persisted: false });

    // A person opens it with the real daqctl: refused, and no SHUTTER:1 reaches the laser.
    const mark = laser.wire.length;
    const opened = await daqctl(d, 'set', 'laser', 'shutter=true');
    expect(opened.code).toBe(1);
    expect(opened.stderr).toMatch(/held at false by interlock guard.*\[unsafe\]/);
    expect(laser.since(mark, /^SHUTTER:1$/)).toEqual([]);
    expect(laser.sim.shutterOpen).toBe(false);

    // The front panel opens it: the laser's reading shows it, and the interlock sets it back.
    const before = rec.events.length;
    laser.sim.shutterOpen = true;
    await rec.waitFor((e) => rec.events.indexOf(e) >= before && e.method === 'module.interlock' && e.params.message.includes('setting it back'), 5000, 'the interlock to notice');
    await waitUntil(() => !laser.sim.shutterOpen, 5000, 'the shutter closed again');
    expect((await statusOf()).reasserts).toBe(1);

    // Reset: no longer held, opening it now sticks.
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: true }, persist: false });
    await waitUntil(async () => (await statusOf()).lastValue < 1e-4, 5000, 'the low reading');
    await d.call('module.reset', { id: 'guard' });
    await d.call('instrument.set', { id: 'laser', params: { shutter: true }, persist: false });
    expect(laser.sim.shutterOpen).toBe(true);
  });

  it('closes the shutter while the config file holds an unparsable edit', async () => {
    writeFileSync(d.configPath, readText(d.configPath).replace('[modules.guard.roles]', '[modules.guard.roles'));
    await waitUntil(async () => (await d.call('config.reloadStatus')).outcome === 'failed', 5000, 'the broken edit to be seen');
    await trip();
    expect((await d.call('daemon.status')).trouble.configFile.reloadFailed).toBe(true);
  });

  it('closes the shutter after the config file was deleted', async () => {
    rmSync(d.configPath);
    await trip();
    await waitUntil(async () => (await d.call('daemon.status')).trouble.configFile.missing, 5000, 'status to show the missing file');
  });

  // As root a mode-0555 directory is still writable, so this one runs only as an ordinary user.
  it.skipIf(process.getuid?.() === 0)('closes the shutter while the config directory is read-only', async () => {
    chmodSync(dirname(d.configPath), 0o555);
    try {
      await trip();
    } finally {
      chmodSync(dirname(d.configPath), 0o755);
    }
  });

  it('trips when its sensor goes silent (no valid reading for three poll intervals, at least 1 s)', async () => {
    meter.sim.control.silent = true;
    const t = await rec.waitFor(tripped, 5000, 'the trip on a silent sensor');
    expect(['stale', 'sensor_error']).toContain(t.params.cause);
    await waitUntil(() => !laser.sim.shutterOpen, 5000, 'the shutter to close');
  });

  it('trips when its sensor is unplugged (error)', async () => {
    await meter.unplug();
    const t = await rec.waitFor(tripped, 5000, 'the trip on a lost sensor');
    expect(['stale', 'sensor_error']).toContain(t.params.cause);
    await waitUntil(() => !laser.sim.shutterOpen, 5000, 'the shutter to close');
  });

  it('trips when its sensor saturates', async () => {
    meter.sim.control.powerW = 5e-3; // beyond the 2 mW the detector can read
    await d.call('instrument.set', { id: 'pm1', params: { attenuator: false }, persist: false });
    const t = await rec.waitFor(tripped, 5000, 'the trip');
    expect(['saturated', 'limit']).toContain(t.params.cause);
    await waitUntil(() => !laser.sim.shutterOpen, 5000, 'the shutter to close');
  });

  it('trips when its sensor changes unit (W -> dBm)', async () => {
    await d.call('instrument.set', { id: 'pm1', params: { units: 'dBm' }, persist: false });
    const t = await rec.waitFor(tripped, 5000, 'the unit trip');
    expect(t.params.cause).toBe('unit');
    await waitUntil(() => !laser.sim.shutterOpen, 5000, 'the shutter to close');
  });
});
