/**
 * Config versions (issue #19) through a real daqd: a snapshot before every change (socket command,
 * reload, transaction) holding the file's exact text before it; retention (15 unlabelled + 2
 * labelled); diff between versions, `current` and `running`; ids that try to leave the versions
 * directory or name nothing; two snapshots in one second; concurrent snapshot requests; corrupt
 * and hand-edited snapshots listed, never fatal; enable_versioning = false; daqctl's commands.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl as runDaqctl, type RunResult } from '../helpers/run.js';

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(RpcError);
  return err as RpcError;
}

interface Version {
  id: string;
  label?: string;
  cause?: string;
  revision?: number;
  problems?: string[];
}

const CONFIG = (extra = '') => `# bench
[application.dynamic_config]
enable_hot_reload = false
snapshot_retention = 10
${extra}
[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 200

[instruments.pm.params]
wavelength_nm = 800   # keep in step with the laser
`;

const versionsDir = (d: DaemonHandle) => join(d.dir, 'state', 'config_versions');
const list = async (d: DaemonHandle): Promise<Version[]> => (await d.call('version.list')).versions;
const text = (d: DaemonHandle, id: string) => readFileSync(join(versionsDir(d), `${id}.toml`), 'utf8');

function daqctl(d: DaemonHandle, args: string[]): Promise<RunResult> {
  return runDaqctl(d.socketPath, args, { env: { ...process.env, NO_COLOR: '1' } });
}

describe('config versions', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG() });
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).state === 'ready', 10_000, 'pm ready');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('takes one snapshot before each change (socket, reload, transaction), holding the file as it was', async () => {
    const t0 = readFileSync(d.configPath, 'utf8');
    const rev = (await d.call('daemon.status')).revision;
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
    let v = await list(d);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ cause: 'instrument.set', revision: rev, summary: '~pm(wavelength_nm)', origin: 'socket', auto: true });
    expect(text(d, v[0]!.id)).toBe(t0);

    // A set that changes nothing in the config (same value) is no change: no snapshot.
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
    expect(await list(d)).toHaveLength(1);

    // A person's edit, reloaded: the snapshot is the file before the edit.
    const t1 = readFileSync(d.configPath, 'utf8');
    writeFileSync(`${d.configPath}.new`, t1.replace('wavelength_nm = 820', 'wavelength_nm = 830'));
    renameSync(`${d.configPath}.new`, d.configPath);
    await d.call('config.reload');
    v = await list(d);
    expect(v).toHaveLength(2);
    expect(v[0]!.cause).toBe('config.reload (socket)');
    expect(text(d, v[0]!.id)).toBe(t1);

    // A transaction's commit.
    const t2 = readFileSync(d.configPath, 'utf8');
    const { id: tx } = await d.call('tx.begin');
    await d.call('tx.stageSet', { tx, id: 'pm', params: { wavelength_nm: 840 } });
    await d.call('tx.commit', { tx });
    v = await list(d);
    expect(v).toHaveLength(3);
    expect(v[0]!.cause).toBe(`tx.commit ${tx}`);
    expect(text(d, v[0]!.id)).toBe(t2);
    // Memory-only changes leave the file alone: the next snapshot would hold the same text, stored once.
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 850 }, persist: false });
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 860 }, persist: false });
    expect(await list(d)).toHaveLength(4);
    await d.call('config.sync');
  });

  it('diff: versions, current and running', async () => {
    const base = await d.call('version.create', { label: 'diff-base' });
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 800 } });
    await d.call('version.create', { label: 'diff-800' });
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
    const vs = await list(d);
    const at800 = vs.find((v) => v.label === 'diff-800')!;
    const r = await d.call('version.diff', { a: at800.id, b: 'current' });
    expect(r.diff).toMatch(/^-wavelength_nm = 800 {3}# keep in step with the laser$/m);
    expect(r.diff).toMatch(/^\+wavelength_nm = 820 {3}# keep in step with the laser$/m);
    expect(r).toMatchObject({ a: at800.id, b: 'current', identical: false });
    expect((await d.call('version.diff', { a: 'current', b: 'running' })).identical).toBe(true);
    // A memory-only change: running differs from the file by exactly that line.
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 870 }, persist: false });
    const run = await d.call('version.diff', { a: 'current', b: 'running' });
    expect(run.diff).toMatch(/^-wavelength_nm = 820 /m);
    expect(run.diff).toMatch(/^\+wavelength_nm = 870 /m);
    expect(run.added).toBeGreaterThanOrEqual(1); // the value (and daqd's "# daqd: set" note above it)
    expect(run.removed).toBeGreaterThanOrEqual(1);
    const cli = await daqctl(d, ['diff', at800.id, 'current']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('-wavelength_nm = 800');
    expect(cli.stdout).toContain('+wavelength_nm = 820');
    expect(cli.stdout).not.toContain('\x1b['); // not a terminal
    expect((await daqctl(d, ['diff', base.id, base.id])).stdout).toContain('identical');
    await d.call('config.sync');
  });

  it('retention keeps the newest snapshot_retention unlabelled ones and every labelled one (15 + 2)', async () => {
    await d.call('version.create', { label: 'keep-a' });
    for (let i = 0; i < 15; i++) {
      await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 500 + i } });
      if (i === 7) await d.call('version.create', { label: 'keep-b' });
    }
    const vs = await list(d);
    const unlabelled = vs.filter((v) => v.label === undefined);
    expect(unlabelled).toHaveLength(10);
    expect(vs.filter((v) => v.label?.startsWith('keep-'))).toHaveLength(2);
    // The newest ten, each the file before a set; the file keep-b holds (507) is not stored twice.
    const values = unlabelled.map((v) => Number(/^wavelength_nm = (\d+) /m.exec(text(d, v.id))![1]));
    expect(values).toEqual([513, 512, 511, 510, 509, 508, 506, 505, 504, 503]);
    const files = readdirSync(versionsDir(d));
    expect(files.filter((f) => f.endsWith('.toml')).length).toBe(vs.length);
    expect(files.filter((f) => f.endsWith('.json')).length).toBe(vs.length);
  });

  it('ids are looked up in the listing only: traversal and odd ids are not_found', async () => {
    writeFileSync(join(d.dir, 'state', 'secret.toml'), '[instruments]\n');
    const odd = ['../secret', '../../default', '/etc/passwd', 'config_versions/../secret', '..', '.', '', 'a/b', 'a\\b', '%2e%2e%2fsecret', 'x\0y', 'constructor', '__proto__', 'toString', 'config-*', 'x'.repeat(1000), '\u202e', ' ', 'current/..'];
    for (const id of odd) {
      for (const [method, params] of [
        ['version.rollback', { id }],
        ['version.rollback', { id, dryRun: true }],
        ['version.delete', { id }],
        ['version.diff', { a: id, b: 'current' }],
      ] as const) {
        const err = await rejection(d.call(method, params));
        expect(['not_found', 'invalid_params'], `${method} ${JSON.stringify(id).slice(0, 40)}`).toContain(err.kind);
        if (id !== '' && id.length <= 1024) expect(err.kind, `${method} ${JSON.stringify(id).slice(0, 40)}`).toBe('not_found');
      }
    }
    expect((await rejection(d.call('version.create', { label: '../x' }))).kind).toBe('invalid_params');
    expect((await rejection(d.call('version.create', { label: 'a..b' }))).kind).toBe('invalid_params');
    expect(readFileSync(join(d.dir, 'state', 'secret.toml'), 'utf8')).toBe('[instruments]\n');
  });

  it('two snapshots in one second get different names', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const a = await d.call('version.create', { label: 'twin' });
      const b = await d.call('version.create', { label: 'twin' });
      const stamp = (id: string) => /^config-(\d{8}_\d{6})/.exec(id)![1];
      if (stamp(a.id) !== stamp(b.id)) continue; // crossed a second boundary: try again
      expect(a.id).not.toBe(b.id);
      expect(b.id).toMatch(/^config-\d{8}_\d{6}_2-[0-9a-f]{8}-twin$/);
      expect(text(d, a.id)).toBe(text(d, b.id));
      return;
    }
    throw new Error('never two snapshots within one second');
  });

  it('concurrent snapshot requests: unchanged content once, distinct labels each', async () => {
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 777 } });
    const before = (await list(d)).length;
    const same = await Promise.all(Array.from({ length: 20 }, () => d.call('version.create')));
    expect(new Set(same.map((r) => r.id)).size).toBe(1);
    expect(same.filter((r) => r.created).length).toBeLessThanOrEqual(1);
    const labelled = await Promise.all(Array.from({ length: 10 }, (_, i) => d.call('version.create', { label: `c${i}` })));
    expect(new Set(labelled.map((r) => r.id)).size).toBe(10);
    const vs = await list(d);
    expect(vs.filter((v) => v.problems)).toEqual([]);
    expect(vs.filter((v) => /^c\d$/.test(v.label ?? ''))).toHaveLength(10);
    expect(vs.length).toBeLessThanOrEqual(before + 11);
    expect(readdirSync(versionsDir(d)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a corrupt or hand-edited snapshot is listed with its problems, never fatal; rollback to it is refused', async () => {
    const [newest] = await list(d);
    const victim = await d.call('version.create', { label: 'victim' });
    writeFileSync(join(versionsDir(d), `${victim.id}.toml`), '[[[ not toml');
    const edited = await d.call('version.create', { label: 'edited' });
    writeFileSync(join(versionsDir(d), `${edited.id}.toml`), `${text(d, edited.id)}\n# a person was here\n`);
    writeFileSync(join(versionsDir(d), `${edited.id}.json`), '{ broken');
    writeFileSync(join(versionsDir(d), 'notes.toml'), 'x = 1\n');
    const vs = await list(d);
    expect(vs.find((v) => v.id === victim.id)!.problems!.join(' ')).toMatch(/not valid TOML/);
    expect(vs.find((v) => v.id === edited.id)!.problems!.join(' ')).toMatch(/hash.*metadata|metadata.*hash|does not match/);
    expect(vs.find((v) => v.id === 'notes')!.problems!.join(' ')).toMatch(/not written by daqd/);
    expect(vs.find((v) => v.id === newest!.id)!.problems).toBeUndefined();
    expect((await rejection(d.call('version.rollback', { id: victim.id }))).kind).toBe('validation_failed');
    expect((await daqctl(d, ['versions'])).stdout).toContain(`! ${victim.id}: `);
    await d.call('version.delete', { id: victim.id });
    await d.call('version.delete', { id: 'notes' });
    expect((await list(d)).some((v) => v.id === victim.id)).toBe(false);
    expect((await d.call('daemon.status')).versions).toMatchObject({ enabled: true, retention: 10 });
  });

  it('daqctl snapshot, versions, rollback --dry-run, versions rm', async () => {
    const snap = await daqctl(d, ['snapshot', '--label', 'from-cli']);
    expect(snap.code, snap.stderr).toBe(0);
    const id = snap.stdout.trim().split('\n')[0]!;
    expect(id).toMatch(/^config-\d{8}_\d{6}(_\d+)?-[0-9a-f]{8}-from-cli$/);
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 990 } });
    const ls = await daqctl(d, ['versions']);
    expect(ls.stdout).toContain(id);
    const dry = await daqctl(d, ['rollback', id, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run/);
    expect(dry.stdout).toMatch(/pm: wavelength_nm 990 -> 777/);
    const roll = await daqctl(d, ['rollback', id]);
    expect(roll.code, roll.stderr).toBe(0);
    expect(readFileSync(d.configPath, 'utf8')).toBe(text(d, id));
    const rm = await daqctl(d, ['versions', 'rm', id]);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await daqctl(d, ['versions', 'rm', id])).code).toBe(1);
    expect((await daqctl(d, ['rollback', '../etc'])).stderr).toMatch(/not_found/);
  });
});

describe('enable_versioning = false', () => {
  it('takes no automatic snapshot; manual ones still work', async () => {
    const d = await startDaemon({ config: CONFIG('enable_versioning = false') });
    try {
      await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).state === 'ready', 10_000, 'pm ready');
      await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
      expect(await list(d)).toEqual([]);
      const v = await d.call('version.create');
      expect(v.created).toBe(true);
      expect((await list(d)).map((x) => x.id)).toEqual([v.id]);
      expect((await d.call('version.list')).enabled).toBe(false);
    } finally {
      await d.dispose();
    }
  });
});
