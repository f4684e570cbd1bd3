/**
 * Config versions (issue #19) through a real daqd on pty devices: a rollback of a parameter change,
 * an add and a remove each changes the running instruments, the device values at the far end of
 * each pty and the file (byte-identical to the snapshot); a device that refuses a value makes the
 * rollback put everything back; a rollback of a rollback; a dry run sends no byte on any wire;
 * actions only with withActions; a snapshot that no longer validates is refused with its reasons;
 * kill -9 during a rollback leaves the file old or new and the versions intact.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver as newport1830cDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(RpcError);
  return err as RpcError;
}

const allReady = (d: DaemonHandle) =>
  waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 15_000, 'every instrument ready');

async function running(d: DaemonHandle) {
  const list = await d.call('instrument.list');
  return Object.fromEntries(list.instruments.map((i: { id: string; params: unknown; state: string }) => [i.id, { params: i.params, state: i.state }]));
}

const versionText = (d: DaemonHandle, id: string) => readFileSync(join(d.dir, 'state', 'config_versions', `${id}.toml`), 'utf8');

/** Write a snapshot by hand, named as daqd names them (a real hash), to test what the store accepts. */
function plantVersion(d: DaemonHandle, text: string, label: string): string {
  const hash = createHash('sha256').update(text, 'utf8').digest('hex');
  const id = `config-20200101_000000-${hash.slice(0, 8)}-${label}`;
  const dir = join(d.dir, 'state', 'config_versions');
  writeFileSync(join(dir, `${id}.json`), JSON.stringify({ time: '2020-01-01T00:00:00.000Z', seq: 0, revision: 0, cause: 'planted', origin: 'test', hash, bytes: text.length, auto: false, label }));
  writeFileSync(join(dir, `${id}.toml`), text);
  return id;
}

describe('version rollback on pty devices', () => {
  let d: DaemonHandle;
  let meter: ServedDevice<Newport1830cSimulator>;
  let meter2: ServedDevice<Newport1830cSimulator>;
  let laser: ServedDevice<MaiTaiSimulator>;

  beforeAll(async () => {
    meter = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    meter2 = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    laser = await serveOnPty(maitaiDriver, new MaiTaiSimulator());
    d = await startDaemon({
      config: `# the optics bench (a comment that must survive every rollback)
[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "${meter.pty.a}"
poll_interval_ms = 100

[instruments.pm.params]
wavelength_nm = 800   # keep in step with the laser

[instruments.laser]
driver = "maitai"
port = "${laser.pty.a}"
poll_interval_ms = 100

[instruments.laser.params]
wavelength_nm = 800
`,
    });
    await allReady(d);
  });
  afterAll(async () => {
    await d?.dispose();
    for (const dev of [meter, meter2, laser]) await dev?.close();
  });

  it('rollback of a parameter change moves the device back and restores the file byte for byte', async () => {
    const base = await d.call('version.create', { label: 'base' });
    const baseText = readFileSync(d.configPath, 'utf8');
    expect(versionText(d, base.id)).toBe(baseText);
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
    await d.call('instrument.set', { id: 'laser', params: { wavelength_nm: 850 } });
    expect(meter.sim.state.wavelengthNm).toBe(820);
    expect(laser.sim.wavelengthNm).toBe(850);
    const rev = (await d.call('daemon.status')).revision;
    const r = await d.call('version.rollback', { id: base.id });
    expect(r).toMatchObject({ id: base.id, rolledBack: true, revision: rev + 1, persisted: { written: true } });
    expect(r.plan.set).toEqual({ pm: { wavelength_nm: { from: 820, to: 800 } }, laser: { wavelength_nm: { from: 850, to: 800 } } });
    expect(meter.sim.state.wavelengthNm).toBe(800); // at the far end
    expect(laser.sim.wavelengthNm).toBe(800);
    expect(readFileSync(d.configPath, 'utf8')).toBe(baseText);
    const now = await running(d);
    expect(now.pm.params).toEqual({ wavelength_nm: 800 });
    expect(now.laser.params).toEqual({ wavelength_nm: 800 });
    expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);
    // Revisions: the rollback is one change; the running config equals the file.
    expect((await d.call('version.diff', { a: 'running', b: 'current' })).identical).toBe(true);
  });

  it('rollback of a remove brings the instrument back with its setpoints on the wire; rollback of an add stops it', async () => {
    const baseText = readFileSync(d.configPath, 'utf8');
    const base = await d.call('version.create', { label: 'without-pm2' });
    await d.call('instrument.add', { id: 'pm2', config: { driver: 'newport_1830c', port: meter2.pty.a, poll_interval_ms: 100, params: { wavelength_nm: 1064 } }, wait: true });
    expect(meter2.sim.state.wavelengthNm).toBe(1064);
    const withPm2 = await d.call('version.create', { label: 'with-pm2' });
    const withText = readFileSync(d.configPath, 'utf8');
    await d.call('instrument.remove', { id: 'pm2' });
    meter2.sim.state.wavelengthNm = 633; // someone turns the knob while daqd does not own it
    // Rollback of the remove.
    const mark = meter2.wire.length;
    const r1 = await d.call('version.rollback', { id: withPm2.id });
    expect(r1.plan.start).toEqual(['pm2']);
    expect(readFileSync(d.configPath, 'utf8')).toBe(withText);
    await allReady(d);
    expect((await running(d)).pm2).toEqual({ params: { wavelength_nm: 1064 }, state: 'ready' });
    expect(meter2.sim.state.wavelengthNm).toBe(1064); // the setpoint went out on connect
    expect(meter2.since(mark, /^W1064$/).length).toBeGreaterThan(0);
    // Rollback of the add.
    const r2 = await d.call('version.rollback', { id: base.id });
    expect(r2.plan.stop).toEqual(['pm2']);
    expect(readFileSync(d.configPath, 'utf8')).toBe(baseText);
    expect(Object.keys(await running(d)).sort()).toEqual(['laser', 'pm']);
    // The port is free again: nothing polls pm2's device any more.
    const quiet = meter2.wire.length;
    await d.call('instrument.get', { id: 'pm', refresh: true });
    await d.call('instrument.get', { id: 'pm', refresh: true });
    expect(meter2.wire.length).toBe(quiet);
  });

  it('a rollback the device refuses puts everything back: instruments, far-end values and the file', async () => {
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 1000 } });
    await d.call('instrument.set', { id: 'laser', params: { wavelength_nm: 900 } });
    const bad = await d.call('version.create', { label: 'pm-at-1000' });
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 810 } });
    await d.call('instrument.set', { id: 'laser', params: { wavelength_nm: 870 } });
    const fileBefore = readFileSync(d.configPath, 'utf8');
    const before = await running(d);
    const state = meter.sim.state;
    let stored = state.wavelengthNm;
    Object.defineProperty(state, 'wavelengthNm', { configurable: true, get: () => stored, set: (v: number) => void (v !== 1000 && (stored = v)) });
    try {
      const err = await rejection(d.call('version.rollback', { id: bad.id }));
      expect(err.kind).toBe('device_error');
      expect((err.data as any).restored.file).toBe('not written');
      expect(err.message).toMatch(/Restored:/);
    } finally {
      Object.defineProperty(state, 'wavelengthNm', { configurable: true, writable: true, enumerable: true, value: stored });
    }
    expect(readFileSync(d.configPath, 'utf8')).toBe(fileBefore);
    await allReady(d);
    expect(await running(d)).toEqual(before);
    expect(meter.sim.state.wavelengthNm).toBe(810);
    expect(laser.sim.wavelengthNm).toBe(870);
    expect((await d.call('instrument.get', { id: 'pm', refresh: true })).device.wavelength_nm).toBe(810);
  });

  it('a rollback of a rollback (rollback previous) puts the set-up and the file back as they were', async () => {
    const target = await d.call('version.create', { label: 'at-820' }).then(async () => {
      await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
      return d.call('version.create', { label: 'pm-820' });
    });
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 950 } });
    const textBefore = readFileSync(d.configPath, 'utf8');
    const r = await d.call('version.rollback', { id: target.id });
    expect(meter.sim.state.wavelengthNm).toBe(820);
    expect(readFileSync(d.configPath, 'utf8')).toBe(versionText(d, target.id));
    // The rollback snapshotted the file it replaced.
    expect(versionText(d, r.previous)).toBe(textBefore);
    const back = await d.call('version.rollback', { id: 'previous' });
    expect(back.id).toBe(r.previous);
    expect(readFileSync(d.configPath, 'utf8')).toBe(textBefore);
    expect(meter.sim.state.wavelengthNm).toBe(950);
    expect((await running(d)).pm.params).toEqual({ wavelength_nm: 950 });
    const list = (await d.call('version.list')).versions;
    expect(list.find((v: { id: string }) => v.id === r.previous).cause).toBe(`version.rollback to ${target.id}`);
  });

  it('a dry run prints the plan and touches no wire, no config, no file', async () => {
    const base = (await d.call('version.list')).versions.find((v: { label?: string }) => v.label === 'base');
    await d.call('instrument.get', { id: 'pm', refresh: true });
    const marks = [meter.wire.length, laser.wire.length, meter2.wire.length];
    const fileBefore = readFileSync(d.configPath, 'utf8');
    const before = await running(d);
    const rev = (await d.call('daemon.status')).revision;
    const r = await d.call('version.rollback', { id: base.id, dryRun: true });
    expect(r).toMatchObject({ dryRun: true, id: base.id });
    expect(r.plan.set.pm.wavelength_nm).toEqual({ from: 950, to: 800 });
    await d.call('daemon.status');
    // Polling goes on (queries); no set reached any device.
    expect(meter.wire.slice(marks[0]!).filter((w) => !w.line.endsWith('?'))).toEqual([]);
    expect(laser.wire.slice(marks[1]!).filter((w) => !w.line.endsWith('?'))).toEqual([]);
    expect(meter2.wire.slice(marks[2]!)).toEqual([]);
    expect(readFileSync(d.configPath, 'utf8')).toBe(fileBefore);
    expect(await running(d)).toEqual(before);
    expect((await d.call('daemon.status')).revision).toBe(rev);
  });

  it('actions the snapshot holds are listed, and performed only with withActions', async () => {
    const fileNow = readFileSync(d.configPath, 'utf8');
    const withShutter = fileNow.replace(/(\[instruments\.laser\.params\]\n(?:#[^\n]*\n)*wavelength_nm = [^\n]*)/, '$1\nshutter = true');
    expect(withShutter).not.toBe(fileNow);
    const id = plantVersion(d, withShutter, 'shutter-open');
    expect(laser.sim.shutterOpen).toBe(false);
    const dry = await d.call('version.rollback', { id, dryRun: true });
    expect(dry.plan.actions).toEqual({ laser: { shutter: true } });
    expect(dry.plan.actionsPerformed).toBe(false);
    await d.call('version.rollback', { id });
    expect(readFileSync(d.configPath, 'utf8')).toBe(withShutter);
    expect(laser.sim.shutterOpen).toBe(false); // not performed
    await d.call('version.rollback', { id: 'previous' });
    const r = await d.call('version.rollback', { id, withActions: true });
    expect(r.plan.actionsPerformed).toBe(true);
    expect(laser.sim.shutterOpen).toBe(true);
    await d.call('instrument.set', { id: 'laser', params: { shutter: false } });
    await d.call('version.rollback', { id: 'previous' });
  });

  it('a snapshot that no longer validates (its driver is gone) is refused with the reasons; nothing changes', async () => {
    const fileBefore = readFileSync(d.configPath, 'utf8');
    const gone = fileBefore.replace('driver = "maitai"', 'driver = "maitai_v0"');
    const id = plantVersion(d, gone, 'driver-gone');
    const err = await rejection(d.call('version.rollback', { id }));
    expect(err.kind).toBe('validation_failed');
    expect(err.message).toMatch(/no longer validates.*maitai_v0/);
    expect((err.data as any).issues.length).toBeGreaterThan(0);
    expect((await rejection(d.call('version.rollback', { id, dryRun: true }))).kind).toBe('validation_failed');
    expect(readFileSync(d.configPath, 'utf8')).toBe(fileBefore);
  });
});

describe('kill -9 during a rollback', () => {
  it('leaves the file fully old or fully new and every version intact (8 rounds)', async () => {
    const head = `[application.dynamic_config]\nenable_hot_reload = false\n\n[instruments.ref]\ndriver = "newport_1830c"\nport = "sim"\n\n[instruments.ref.params]\nwavelength_nm = 800\n`;
    let d = await startDaemon({ config: head });
    const outcomes = { old: 0, new: 0 };
    try {
      for (let round = 0; round < 8; round++) {
        await allReady(d);
        const base = await d.call('version.create', { label: `base${round}` });
        const baseText = versionText(d, base.id);
        for (let k = 0; k < 4; k++) await d.call('instrument.add', { id: `k${round}_${k}`, config: { driver: 'newport_1830c', port: 'sim', params: { wavelength_nm: 900 + k } } });
        await d.call('instrument.set', { id: 'ref', params: { wavelength_nm: 700 + round } });
        const before = readFileSync(d.configPath, 'utf8');
        const dir = join(d.dir, 'state', 'config_versions');
        const known = new Set(readdirSync(dir));
        const rollback = d.call('version.rollback', { id: base.id }).catch(() => undefined);
        // The rollback has started once it snapshotted the file it replaces.
        await waitUntil(() => readdirSync(dir).some((n) => !known.has(n) && n.endsWith('.json') && readFileSync(join(dir, n), 'utf8').includes('version.rollback')), 5000, 'the rollback to start');
        await new Promise((r) => setTimeout(r, round * 15));
        d.proc.kill('SIGKILL');
        await d.exited;
        void rollback;
        const after = readFileSync(d.configPath, 'utf8');
        expect([before, baseText]).toContain(after);
        after === baseText ? outcomes.new++ : outcomes.old++;
        d = await startDaemon({ config: undefined as unknown as string, dir: d.dir });
        const versions = (await d.call('version.list')).versions;
        expect(versions.filter((v: { problems?: string[] }) => v.problems)).toEqual([]);
        expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
        expect(versions.some((v: { id: string }) => v.id === base.id)).toBe(true);
        const ids = (await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id);
        expect(ids.includes(`k${round}_0`)).toBe(after === before);
        if (after === before) {
          await allReady(d);
          await d.call('version.rollback', { id: base.id }); // start the next round from the base
        }
        expect(existsSync(d.configPath)).toBe(true);
      }
    } finally {
      await d.dispose();
      console.log(`kill -9 during rollback: ${outcomes.old} old, ${outcomes.new} new`);
    }
  }, 150_000);
});
