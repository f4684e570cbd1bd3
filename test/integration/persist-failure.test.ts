/**
 * A write that fails (seed rule): the command still succeeds in memory, the response and
 * daemon.status say the file is out of date and why, a `config.persistFailed` event is sent, and
 * once the cause is gone `config.sync` (and `daqctl sync`) writes the file.
 *
 * The tests run as root, so file modes do not stop a write. What does, honestly, here:
 * - `chattr +i` on the config file (ext4 here): even root cannot rename over an immutable file
 *   (EPERM), which is also what a person gets from a config someone locked with chattr;
 * - a full disk: the config lives on a tiny tmpfs mounted for the test and filled up (ENOSPC);
 * - as a non-root user, a read-only directory (chmod 0555) is enough (EACCES).
 * Each way is probed first and skipped, saying so, where this machine cannot do it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { RpcError } from '../../src/client/client.js';
import { EventRecorder, startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl as runDaqctl, type RunResult } from '../helpers/run.js';
import { expectFileText, readText, replaceOnce, tempFilesIn, waitAllReady } from './persist-helpers.js';

const CONFIG = `# Failure-path bench.
[application]
name = "persist-failure"

[application.dynamic_config]
enable_persistence = true
enable_hot_reload = true
hot_reload_debounce_ms = 50

# The meter changed while the file cannot be written.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm1.params]
wavelength_nm = 800   # keep in step with the laser
attenuator = false
`;

const isRoot = process.getuid?.() === 0;

function works(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Can this machine make a file immutable where the tests keep their temp dirs? */
function chattrWorks(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'daqd-chattr-probe-'));
  const file = join(probe, 'f');
  writeFileSync(file, 'x');
  const ok = works('chattr', ['+i', file]);
  if (ok) works('chattr', ['-i', file]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

function tmpfsWorks(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'daqd-tmpfs-probe-'));
  const ok = works('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  if (ok) works('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

interface Blocker {
  name: string;
  available: boolean;
  /** Why it cannot run here, when it cannot. */
  unavailable: string;
  /** The cause daqd must name in its reason. */
  cause: RegExp;
  /** Prepare the directory the daemon will run in (before it starts). */
  setup(): string;
  block(dir: string, configPath: string): void;
  unblock(dir: string, configPath: string): void;
  teardown(dir: string): void;
}

const blockers: Blocker[] = [
  {
    name: 'immutable config file (chattr +i)',
    available: isRoot && chattrWorks(),
    unavailable: 'needs root and a file system with the immutable attribute',
    cause: /operation not permitted \(EPERM\)/,
    setup: () => mkdtempSync(join(tmpdir(), 'daqd-it-')),
    block: (_dir, file) => execFileSync('chattr', ['+i', file]),
    unblock: (_dir, file) => works('chattr', ['-i', file]),
    teardown: (dir) => rmSync(dir, { recursive: true, force: true }),
  },
  {
    name: 'full disk (a 512 KiB tmpfs, filled)',
    available: isRoot && tmpfsWorks(),
    unavailable: 'needs the privilege to mount a tmpfs',
    cause: /no space left on the device \(ENOSPC\)/,
    setup: () => {
      const dir = mkdtempSync(join(tmpdir(), 'daqd-it-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir]);
      mkdirSync(join(dir, 'state'));
      return dir;
    },
    block: (dir) => {
      // Write until the file system refuses: the filler takes every block that is left.
      try {
        writeFileSync(join(dir, 'filler'), Buffer.alloc(1024 * 1024, 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    },
    unblock: (dir) => rmSync(join(dir, 'filler'), { force: true }),
    teardown: (dir) => {
      works('umount', [dir]) || works('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  },
  {
    name: 'read-only directory (chmod 0555, not root)',
    available: !isRoot,
    unavailable: 'root ignores directory permissions',
    cause: /permission denied \(EACCES\)/,
    setup: () => mkdtempSync(join(tmpdir(), 'daqd-it-')),
    block: (dir) => chmodSync(dir, 0o555),
    unblock: (dir) => chmodSync(dir, 0o755),
    teardown: (dir) => {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    },
  },
];

function daqctl(socket: string, ...args: string[]): Promise<RunResult> {
  return runDaqctl(socket, args);
}

const note = (was: string) => `# daqd: set <TS> (was ${was})`;

for (const blocker of blockers) {
  describe.skipIf(!blocker.available)(`persist failure: ${blocker.name}${blocker.available ? '' : ` (skipped: ${blocker.unavailable})`}`, () => {
    let dir: string;
    let d: DaemonHandle;
    let events: EventRecorder;
    let blocked = false;
    const since = new Date();

    const block = () => {
      blocker.block(dir, d.configPath);
      blocked = true;
    };
    const unblock = () => {
      blocker.unblock(dir, d.configPath);
      blocked = false;
    };

    beforeAll(async () => {
      dir = blocker.setup();
      d = await startDaemon({ config: CONFIG, dir });
      await waitAllReady(d);
      events = await EventRecorder.subscribe(d, { types: ['config.'] });
    });
    afterAll(async () => {
      if (blocked) unblock();
      events?.close();
      await d?.dispose();
      if (dir) blocker.teardown(dir);
    });

    it('the set succeeds in memory; response, status and a config.persistFailed event say why the file is stale', async () => {
      block();
      const r = await d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 1064 } });
      expect(r.params).toEqual({ wavelength_nm: 1064 });
      expect(r.persisted.written).toBe(false);
      expect(r.persisted.reason).toMatch(blocker.cause);
      expect(r.persisted.reason).toContain(d.configPath);
      expect(r.persisted.error.kind).toBe('persist_failed');
      expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(1064);

      expect(readText(d.configPath)).toBe(CONFIG);
      expect(tempFilesIn(dir)).toEqual([]);

      const { persistence } = await d.call('daemon.status');
      expect(persistence.upToDate).toBe(false);
      expect(persistence.reason).toMatch(/^last write failed: /);
      expect(persistence.reason).toMatch(blocker.cause);
      expect(persistence.lastError.kind).toBe('persist_failed');

      const failed = await events.waitFor((e) => e.method === 'config.persistFailed', 5000, 'config.persistFailed');
      expect(failed.params.file).toBe(d.configPath);
      expect(failed.params.message).toMatch(blocker.cause);
    });

    it('a second change and a sync while the cause is still there fail the same way, the file untouched', async () => {
      const r = await d.call('instrument.set', { id: 'pm1', params: { attenuator: true } });
      expect(r.persisted.written).toBe(false);
      const err = await d.call('config.sync').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).kind).toBe('persist_failed');
      expect((err as RpcError).message).toMatch(blocker.cause);
      expect(readText(d.configPath)).toBe(CONFIG);
      expect((await d.call('daemon.status')).persistence.upToDate).toBe(false);
    });

    it('after the cause is removed, config.sync writes every pending change and status is up to date again', async () => {
      unblock();
      const r = await d.call('config.sync');
      expect(r).toMatchObject({ file: d.configPath, written: true });
      const expected = replaceOnce(
        replaceOnce(CONFIG, 'wavelength_nm = 800   #', `${note('800')}\nwavelength_nm = 1064   #`),
        'attenuator = false\n',
        `${note('false')}\nattenuator = true\n`,
      );
      expectFileText(readText(d.configPath), expected, since);
      const { persistence } = await d.call('daemon.status');
      expect(persistence).toMatchObject({ upToDate: true });
      expect(persistence.reason).toBeUndefined();
      await events.waitFor((e) => e.method === 'config.persisted', 5000, 'config.persisted after the sync');
    });

    it('daqctl sync does the same from the shell', async () => {
      block();
      const r = await d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 633 } });
      expect(r.persisted.written).toBe(false);
      const refused = await daqctl(d.socketPath, 'sync');
      expect(refused.code, `daqctl sync while blocked: ${JSON.stringify(refused)}`).not.toBe(0);
      expect(refused.stderr).toMatch(blocker.cause);
      unblock();
      const ok = await daqctl(d.socketPath, 'sync');
      expect(ok, `daqctl sync after unblocking: ${JSON.stringify(ok)}`).toMatchObject({ code: 0, stderr: '' });
      expect(ok.stdout).toContain(`wrote ${d.configPath}`);
      expect((parse(readText(d.configPath)) as any).instruments.pm1.params.wavelength_nm).toBe(633);
      expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);
    });

    it('without a sync, the next change that persists also writes the one that failed', async () => {
      block();
      expect((await d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 700 } })).persisted.written).toBe(false);
      unblock();
      expect((await d.call('instrument.set', { id: 'pm1', params: { attenuator: false } })).persisted.written).toBe(true);
      const params = (parse(readText(d.configPath)) as any).instruments.pm1.params;
      expect(params).toEqual({ wavelength_nm: 700, attenuator: false });
      expect((await d.call('daemon.status')).persistence.upToDate).toBe(true);
    });
  });
}
