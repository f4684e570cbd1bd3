/**
 * Transactions through a real daqd on pty devices (issue #18): a multi-step commit moves the
 * hardware (checked at the far end of each pty); a commit whose third step fails (the device
 * refuses the value, a port that cannot open, a device that never becomes ready) puts back the
 * instruments, the devices' values (read at the far end) and the file byte for byte; validate sees
 * a port already open in another process; kill -9 during a commit leaves the file old or new and
 * the log names the interrupted transaction; daqctl apply --dry-run sends no byte on any wire.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver as newport1830cDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl } from '../helpers/run.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
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

/** What a test compares before and after a failed commit: ids, states, configured params. */
async function setup(d: DaemonHandle) {
  const list = await d.call('instrument.list');
  const modules = await d.call('module.list');
  return {
    instruments: list.instruments.map((i: { id: string; state: string; params: unknown; port: string }) => ({ id: i.id, state: i.state, params: i.params, port: i.port })),
    modules: modules.modules.map((m: { id: string; roles: unknown; state: string }) => ({ id: m.id, roles: m.roles, state: m.state })),
  };
}

describe('transactions on pty devices', () => {
  let d: DaemonHandle;
  let meter: ServedDevice<Newport1830cSimulator>;
  let meter2: ServedDevice<Newport1830cSimulator>;
  let laser: ServedDevice<MaiTaiSimulator>;
  let dead: PtyPair;
  let busy: PtyPair;

  beforeAll(async () => {
    meter = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    meter2 = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    laser = await serveOnPty(maitaiDriver, new MaiTaiSimulator());
    dead = await startPtyPair(); // nobody answers on it
    busy = await startPtyPair();
    d = await startDaemon({
      config: `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "${meter.pty.a}"
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
port = "${laser.pty.a}"
poll_interval_ms = 100

[instruments.laser.params]
wavelength_nm = 800

[modules.watch]
type = "monitor"
reading = "power"
high = 0.5
roles = { source = "pm" }
`,
    });
    await allReady(d);
  });
  afterAll(async () => {
    await d?.dispose();
    for (const dev of [meter, meter2, laser]) await dev?.close();
    await dead?.dispose();
    await busy?.dispose();
  });

  it('add + role move + remove + set in one commit moves the hardware; the file is written once', async () => {
    const rev = (await d.call('daemon.status')).revision;
    const { id } = await d.call('tx.begin');
    await d.call('tx.stageAdd', { tx: id, id: 'pm2', config: { driver: 'newport_1830c', port: meter2.pty.a, poll_interval_ms: 100, params: { wavelength_nm: 1064 } } });
    await d.call('tx.stageAssign', { tx: id, id: 'watch', role: 'source', instrument: 'pm2' });
    await d.call('tx.stageRemove', { tx: id, id: 'pm' });
    await d.call('tx.stageSet', { tx: id, id: 'laser', params: { wavelength_nm: 850 } });
    // Invisible to everyone else until commit.
    expect((await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id)).not.toContain('pm2');
    const v = await d.call('tx.validate', { tx: id });
    expect(v.ok, JSON.stringify(v.problems)).toBe(true);
    expect(v.plan).toMatchObject({ start: ['pm2'], stop: ['pm'], set: { laser: { wavelength_nm: { from: 800, to: 850 } } } });
    const r = await d.call('tx.commit', { tx: id, timeout_s: 10 });
    expect(r).toMatchObject({ tx: id, committed: true, revision: rev + 1, persisted: { written: true } });
    expect(meter2.sim.state.wavelengthNm).toBe(1064); // at the far end
    expect(laser.sim.wavelengthNm).toBe(850);
    const after = await setup(d);
    expect(after.instruments.map((i: { id: string }) => i.id).sort()).toEqual(['laser', 'pm2', 'ref']);
    expect(after.modules).toEqual([{ id: 'watch', roles: { source: 'pm2' }, state: 'running' }]);
    const file = parse(readFileSync(d.configPath, 'utf8')) as any;
    expect(Object.keys(file.instruments).sort()).toEqual(['laser', 'pm2', 'ref']);
    expect(file.modules.watch.roles.source).toBe('pm2');
    expect(file.instruments.laser.params.wavelength_nm).toBe(850);
    expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);
  });

  async function failingCommit(stageThird: (tx: string) => Promise<unknown>, timeout_s: number) {
    const fileBefore = readFileSync(d.configPath, 'utf8');
    const before = await setup(d);
    const laserBefore = laser.sim.wavelengthNm;
    const meter2Before = meter2.sim.state.wavelengthNm;
    const refBefore = (await d.call('instrument.get', { id: 'ref', refresh: true })).device.wavelength_nm;
    const { id } = await d.call('tx.begin');
    await d.call('tx.stageSet', { tx: id, id: 'ref', params: { wavelength_nm: refBefore + 7 } });
    await d.call('tx.stageSet', { tx: id, id: 'laser', params: { wavelength_nm: laserBefore + 20 } });
    await stageThird(id);
    const err = await rejection(d.call('tx.commit', { tx: id, timeout_s }));
    // Everything is as before: instruments, the devices' values at the far end, the file byte for byte.
    expect(readFileSync(d.configPath, 'utf8')).toBe(fileBefore);
    await allReady(d);
    expect(await setup(d)).toEqual(before);
    expect(laser.sim.wavelengthNm).toBe(laserBefore);
    expect(meter2.sim.state.wavelengthNm).toBe(meter2Before);
    expect((await d.call('instrument.get', { id: 'ref', refresh: true })).device.wavelength_nm).toBe(refBefore);
    expect((err.data as any).restored.file).toBe('not written');
    expect((await rejection(d.call('tx.stageSet', { tx: id, id: 'ref', params: { wavelength_nm: 801 } }))).kind).toBe('expired');
    return err;
  }

  it('a commit whose third step fails because the device refuses the value restores everything', async () => {
    // The meter's far end refuses 1000 nm (keeps its value; the read-back says so).
    const state = meter2.sim.state;
    let stored = state.wavelengthNm;
    Object.defineProperty(state, 'wavelengthNm', { configurable: true, get: () => stored, set: (v: number) => void (v !== 1000 && (stored = v)) });
    try {
      const err = await failingCommit((tx) => d.call('tx.stageSet', { tx, id: 'pm2', params: { wavelength_nm: 1000 } }), 10);
      expect(err.kind).toBe('device_error');
      expect(err.data).toMatchObject({ op: 3, step: expect.stringContaining('pm2') });
      expect(err.message, err.message).toMatch(/Restored: .*laser wavelength_nm=850/);
    } finally {
      Object.defineProperty(state, 'wavelengthNm', { configurable: true, writable: true, enumerable: true, value: stored });
    }
  });

  it('a commit whose third step fails because a port cannot open restores everything', async () => {
    const err = await failingCommit((tx) => d.call('tx.stageAdd', { tx, id: 'pm_x', config: { driver: 'newport_1830c', port: '/dev/daqd-test-no-such-port', poll_interval_ms: 100 } }), 10);
    expect(err.kind).toBe('port_not_found');
    expect(err.data).toMatchObject({ op: 3, step: 'wait for pm_x to be ready', restored: { instruments: { stopped: ['pm_x'] } } });
  });

  it('a commit whose third step fails because a device never becomes ready restores everything', async () => {
    const err = await failingCommit((tx) => d.call('tx.stageAdd', { tx, id: 'pm_dead', config: { driver: 'newport_1830c', port: dead.a, poll_interval_ms: 100, timeout_ms: 200 } }), 2);
    expect(['timeout', 'not_ready']).toContain(err.kind);
    expect(err.data).toMatchObject({ op: 3, step: 'wait for pm_dead to be ready' });
  });

  it('validate reports a port already open in another process, and every other problem, each with its op; nothing touches a wire', async () => {
    const fd = openSync(busy.a, 'r+');
    try {
      const marks = [meter2.wire.length, laser.wire.length];
      const { id } = await d.call('tx.begin');
      await d.call('tx.stageAdd', { tx: id, id: 'pm_busy', config: { driver: 'newport_1830c', port: busy.a } });
      await d.call('tx.stageAdd', { tx: id, id: 'pm_twin', config: { driver: 'newport_1830c', port: meter2.pty.a } }); // daqd's pm2 holds it
      await d.call('tx.stageModuleAdd', { tx: id, id: 'w2', config: { type: 'monitor', reading: 'power', high: 1, roles: { source: 'laser' } } }); // fine
      const v = await d.call('tx.validate', { tx: id });
      expect(v.ok).toBe(false);
      expect(v.problems).toContainEqual(expect.objectContaining({ op: 1, kind: 'port_conflict', path: 'instruments.pm_busy.port', message: expect.stringContaining(`pid ${process.pid}`) }));
      expect(v.problems).toContainEqual(expect.objectContaining({ op: 2, path: 'instruments.pm_twin.port' }));
      expect((await rejection(d.call('tx.commit', { tx: id }))).kind).toBe('validation_failed');
      await d.call('tx.rollback', { tx: id });
      // Polling goes on; no set, no new command reached the devices.
      expect(meter2.wire.slice(marks[0]!).filter((w) => !w.line.endsWith('?'))).toEqual([]);
      expect(laser.wire.slice(marks[1]!).filter((w) => !w.line.endsWith('?'))).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });

  it('ifRev on direct commands over the socket: stale is conflict, current passes; reads carry revisions', async () => {
    const list = await d.call('instrument.list');
    const rev = list.revision;
    expect(typeof rev).toBe('number');
    expect(list.instruments.every((i: { revision: number }) => typeof i.revision === 'number')).toBe(true);
    expect((await d.call('module.get', { id: 'watch' })).configRevision).toBe(rev);
    expect((await rejection(d.call('instrument.set', { id: 'ref', params: { wavelength_nm: 811 }, ifRev: rev - 1 }))).kind).toBe('conflict');
    const r = await d.call('instrument.set', { id: 'ref', params: { wavelength_nm: 811 }, ifRev: rev });
    expect(r.revision).toBe(rev + 1);
    expect((await d.call('instrument.get', { id: 'ref' })).revision).toBe(rev + 1);
  });
});

describe('kill -9 during tx.commit', () => {
  it('leaves the file fully old or fully new, and the next start names the interrupted transaction (10 rounds)', async () => {
    let d = await startDaemon({
      config: `[application.dynamic_config]
enable_hot_reload = false

[instruments.ref]
driver = "newport_1830c"
port = "sim"

[instruments.ref.params]
wavelength_nm = 800
`,
    });
    let outcomes = { old: 0, new: 0 };
    try {
      for (let round = 0; round < 10; round++) {
        await allReady(d);
        const { id } = await d.call('tx.begin');
        for (let k = 0; k < 5; k++) await d.call('tx.stageAdd', { tx: id, id: `k${round}_${k}`, config: { driver: 'newport_1830c', port: 'sim', params: { wavelength_nm: 900 + k } } });
        await d.call('tx.stageSet', { tx: id, id: 'ref', params: { wavelength_nm: 700 + round } });
        const txFile = join(d.dir, 'state', 'transactions', `${id}.json`);
        const commit = d.call('tx.commit', { tx: id }).catch(() => undefined);
        await waitUntil(() => existsSync(txFile) && readFileSync(txFile, 'utf8').includes('"committing"'), 5000, 'the commit to start');
        // Vary the moment: early in the apply, during the waits, around the write.
        await new Promise((r) => setTimeout(r, round * 35));
        d.proc.kill('SIGKILL');
        await d.exited;
        void commit;
        const file = parse(readFileSync(d.configPath, 'utf8')) as any;
        const added = Object.keys(file.instruments).filter((i) => i.startsWith(`k${round}_`));
        const isNew = file.instruments.ref.params.wavelength_nm === 700 + round;
        expect([0, 5]).toContain(added.length);
        expect(added.length === 5).toBe(isNew); // all of it or none of it
        isNew ? outcomes.new++ : outcomes.old++;
        const interrupted = existsSync(txFile);
        d = await startDaemon({ config: undefined as unknown as string, dir: d.dir });
        const ids = (await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id).sort();
        expect(ids).toEqual(Object.keys(file.instruments).sort()); // started from the file
        if (interrupted) expect(d.output()).toContain(`transaction ${id} was interrupted during its commit`);
        expect(readdirSync(join(d.dir, 'state', 'transactions'))).toEqual([]);
        expect((await d.call('tx.list')).transactions).toEqual([]);
      }
    } finally {
      await d.dispose();
      console.log(`kill -9 during commit: ${outcomes.old} old, ${outcomes.new} new`);
    }
  }, 120_000);
});

describe('daqctl apply --dry-run', () => {
  it('prints the plan and sends no byte on any wire', async () => {
    const meter = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    const spare = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    const d = await startDaemon({
      config: `[application.dynamic_config]
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "${meter.pty.a}"
poll_interval_ms = 3600000

[instruments.pm.params]
wavelength_nm = 800
`,
    });
    try {
      await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).polls >= 1, 10_000, 'the first poll');
      const before = readFileSync(d.configPath, 'utf8');
      const marks = [meter.wire.length, spare.wire.length];
      const fragment = join(d.dir, 'change.toml');
      writeFileSync(fragment, `[instruments.pm.params]\nwavelength_nm = 1064\n\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "${spare.pty.a}"\n`);
      // A fragment: pm keeps its other keys (driver, port), so give the whole pm table.
      writeFileSync(fragment, `[instruments.pm]\ndriver = "newport_1830c"\nport = "${meter.pty.a}"\npoll_interval_ms = 3600000\n\n[instruments.pm.params]\nwavelength_nm = 1064\n\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "${spare.pty.a}"\n`);
      const out = await daqctl(d.socketPath, ['apply', fragment, '--dry-run']);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/start: +pm2/);
      expect(out.stdout).toMatch(/change: +pm: wavelength_nm 800 -> 1064/);
      expect(out.stdout).toMatch(/valid/);
      // A request that went through the same connection path answers after the dry run: nothing on any wire since.
      await d.call('daemon.status');
      expect(meter.wire.slice(marks[0]!)).toEqual([]);
      expect(spare.wire.slice(marks[1]!)).toEqual([]);
      expect(readFileSync(d.configPath, 'utf8')).toBe(before);
      expect((await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id)).toEqual(['pm']);
    } finally {
      await d.dispose();
      await meter.close();
      await spare.close();
    }
  });
});
