/**
 * Device truth through a real daqd on pty devices (issue #15): a set is a command to the device
 * (sent and confirmed even when the config holds the value), the device's values are read back
 * and drift is shown, device I/O on one instrument never delays another, a move can be aborted,
 * actions are never written to the file and never performed at start-up or on a reconnect, and a
 * clean stop mid-move exits 0 quickly.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver as newport1830cDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import { esp300Driver } from '../../src/drivers/esp300/index.js';
import { Esp300Simulator } from '../../src/drivers/esp300/simulator.js';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

function config(p: { meter: string; laser: string; stage: string }): string {
  return `# Device-truth bench: every instrument on a pty.
[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "${p.meter}"
poll_interval_ms = 100

[instruments.pm.params]
wavelength_nm = 800

[instruments.ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.ref.params]
wavelength_nm = 800

[instruments.laser]
driver = "maitai"
port = "${p.laser}"
poll_interval_ms = 100

[instruments.laser.params]
wavelength_nm = 800
shutter = true # an action in the file: never performed at start-up

[instruments.stage]
driver = "esp300"
port = "${p.stage}"
axes = [1, 2]
poll_interval_ms = 200

[instruments.stage.params]
axis1_velocity = 2.0
axis1_position = 15.0 # an action in the file: never performed at start-up
`;
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(RpcError);
  return err as RpcError;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('device truth in a running daqd (pty devices)', () => {
  let d: DaemonHandle;
  let meter: ServedDevice<Newport1830cSimulator>;
  let laser: ServedDevice<MaiTaiSimulator>;
  let stage: ServedDevice<Esp300Simulator>;

  beforeAll(async () => {
    meter = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    laser = await serveOnPty(maitaiDriver, new MaiTaiSimulator());
    stage = await serveOnPty(esp300Driver, new Esp300Simulator({ axes: [1, 2] }));
    d = await startDaemon({ config: config({ meter: meter.pty.a, laser: laser.pty.a, stage: stage.pty.a }) });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 15_000, 'every instrument ready');
  });
  afterAll(async () => {
    await d?.dispose();
    for (const dev of [meter, laser, stage]) await dev?.close();
  });

  it('start-up restores setpoints and performs no action (no shutter, no move)', () => {
    expect(laser.since(0, /^SHUTTER:1$|^ON$/)).toEqual([]);
    expect(laser.sim.shutterOpen).toBe(false);
    expect(stage.since(0, /^\dPA/)).toEqual([]);
    expect(stage.since(0, /^1VA2/).length).toBe(1); // the velocity setpoint was restored
    expect(meter.since(0, /^W0800$/).length).toBe(1);
  });

  it('a set of a value the config already holds is sent to the device and confirmed', async () => {
    const mark = meter.wire.length;
    const r = await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 800 } });
    expect(r.params).toEqual({ wavelength_nm: 800 });
    expect(r.changed).toEqual([]);
    expect(meter.since(mark, /^W0800$/).length).toBe(1);
    expect(meter.since(mark, /^W\?$/).length).toBeGreaterThanOrEqual(1); // read back
  });

  it('a front-panel change is drift; a set of the configured value puts it back', async () => {
    meter.sim.state.wavelengthNm = 950; // someone turned the knob
    const got = await d.call('instrument.get', { id: 'pm', refresh: true });
    expect(got.drift).toEqual({ wavelength_nm: { configured: 800, device: 950 } });
    const param = got.parameters.find((p: { name: string }) => p.name === 'wavelength_nm');
    expect(param).toMatchObject({ kind: 'setpoint', configured: 800, device: 950, drift: true, readBack: true });
    const status = await d.call('daemon.status');
    expect(status.trouble.drift).toContainEqual({ instrument: 'pm', param: 'wavelength_nm', configured: 800, device: 950 });

    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 800 } });
    expect(meter.sim.state.wavelengthNm).toBe(800);
    expect((await d.call('instrument.get', { id: 'pm' })).drift).toEqual({});
  });

  it('a set of an action reaches the device but is never written to the file', async () => {
    const before = readFileSync(d.configPath, 'utf8');
    const mark = laser.wire.length;
    const r = await d.call('instrument.set', { id: 'laser', params: { shutter: true } });
    expect(r.params).toEqual({ shutter: true });
    expect(r.changed).toEqual([]);
    expect(laser.since(mark, /^SHUTTER:1$/).length).toBe(1);
    expect(laser.sim.shutterOpen).toBe(true);
    await d.call('instrument.set', { id: 'laser', params: { shutter: false } });
    expect(laser.sim.shutterOpen).toBe(false);
    expect(readFileSync(d.configPath, 'utf8')).toBe(before);
  });

  it('sets on other instruments answer as fast during a long move as when idle', async () => {
    const timeSet = async (wavelength: number) => {
      const t0 = performance.now();
      await d.call('instrument.set', { id: 'ref', params: { wavelength_nm: wavelength }, persist: false });
      return performance.now() - t0;
    };
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) idle.push(await timeSet(700 + i));
    // 20 mm at 2 mm/s: a 10 s move on the stage's own lane.
    const move = d.call('instrument.set', { id: 'stage', params: { axis1_position: 20 }, persist: false }).catch((e: unknown) => e);
    await waitUntil(() => stage.sim.isMoving(1), 5000, 'the stage to start moving');
    const busy: number[] = [];
    for (let i = 0; i < 5; i++) busy.push(await timeSet(710 + i));
    expect(stage.sim.isMoving(1)).toBe(true); // all of them answered while the stage was still moving
    // Same order as idle (a global queue made each wait the whole move): generous for a loaded CI machine.
    expect(median(busy)).toBeLessThan(Math.max(5 * median(idle), 250));

    // Abort: the move's set fails with kind aborted, the axis stops, the instrument stays ready.
    const mark = stage.wire.length;
    const aborted = await d.call('instrument.abort', { id: 'stage' });
    expect(aborted).toMatchObject({ id: 'stage', aborted: true, state: 'ready' });
    const err = (await move) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.kind).toBe('aborted');
    expect(stage.since(mark, /^1ST$/).length).toBeGreaterThanOrEqual(1);
    await waitUntil(() => !stage.sim.isMoving(1), 2000, 'the axis to stop');
    expect(stage.sim.positionOf(1)).toBeLessThan(20);
    expect((await d.call('instrument.get', { id: 'stage' })).state).toBe('ready');
  });

  it('abort fails the queued sets with aborted; nothing queued reaches the device', async () => {
    const move = d.call('instrument.set', { id: 'stage', params: { axis1_position: 0 }, persist: false }).catch((e: unknown) => e);
    await waitUntil(() => stage.sim.isMoving(1), 5000, 'the stage to start moving');
    const mark = stage.wire.length;
    const queued = d.call('instrument.set', { id: 'stage', params: { axis2_position: 5 }, persist: false }).catch((e: unknown) => e);
    await waitUntil(async () => (await d.call('instrument.get', { id: 'stage' })).busy !== null, 2000, 'the move to show as busy');
    const aborted = await d.call('instrument.abort', { id: 'stage' });
    expect(aborted.failed).toBe(1);
    expect(((await queued) as RpcError).kind).toBe('aborted');
    expect(((await move) as RpcError).kind).toBe('aborted');
    expect(stage.since(mark, /^2PA/)).toEqual([]);
  });

  it('reconnecting after an unplug restores setpoints and performs no action', async () => {
    await d.call('instrument.set', { id: 'laser', params: { wavelength_nm: 810 } }); // a setpoint, persisted
    const mark = laser.wire.length;
    laser.sim.wavelengthNm = 800;
    await laser.unplug();
    await waitUntil(async () => (await d.call('instrument.get', { id: 'laser' })).state === 'error', 10_000, 'the laser to be lost');
    await laser.replug();
    await waitUntil(async () => (await d.call('instrument.get', { id: 'laser' })).state === 'ready', 15_000, 'the laser to reconnect');
    expect(laser.since(mark, /^SHUTTER:1$|^ON$/)).toEqual([]);
    expect(laser.sim.wavelengthNm).toBe(810); // the setpoint came back
  });

  it('a string where the driver declares a boolean is refused over the socket', async () => {
    const err = await rejection(d.call('instrument.set', { id: 'laser', params: { shutter: 'off' } }));
    expect(err.kind).toBe('invalid_params');
  });

  it('SIGTERM during a move stops the move and exits 0 within 5 s; a restart performs no action', async () => {
    void d.call('instrument.set', { id: 'stage', params: { axis1_position: 19 }, persist: false }).catch(() => {});
    await waitUntil(() => stage.sim.isMoving(1), 5000, 'the stage to start moving');
    const t0 = performance.now();
    expect(await d.stop('SIGTERM')).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    await waitUntil(() => !stage.sim.isMoving(1), 2000, 'the axis to stop');

    const laserMark = laser.wire.length;
    const stageMark = stage.wire.length;
    d = await startDaemon({ config: undefined as unknown as string, dir: d.dir });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 15_000, 'every instrument ready again');
    expect(laser.since(laserMark, /^SHUTTER:1$|^ON$/)).toEqual([]);
    expect(stage.since(stageMark, /^\dPA/)).toEqual([]);
    expect(laser.sim.wavelengthNm).toBe(810); // the persisted setpoint
  });
});
