/**
 * One daqd per state dir and per config file, and the same files wherever daqd is started
 * (issue #17): a second daqd is refused at start with the first one's pid and socket; daqd started
 * in a subdirectory of the project finds config/default.toml and the project's .daq.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaqClient } from '../../src/client/client.js';
import { DAQD_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { runNode, type RunResult } from '../helpers/run.js';

const CONFIG = `[instruments.pm]
driver = "newport_1830c"
port = "sim"
`;

function runDaqd(args: string[], cwd: string): Promise<RunResult> {
  return runNode(DAQD_BIN, args, { cwd });
}

describe('one daqd per state dir and per config file', () => {
  let first: DaemonHandle;
  afterAll(async () => {
    await first?.dispose();
  });

  it('refuses a second daqd on the same state dir, and on the same config with another state dir, naming the first', async () => {
    first = await startDaemon({ config: CONFIG });
    const pid = first.proc.pid!;
    const same = await runDaqd(['--config', first.configPath, '--state-dir', join(first.dir, 'state')], first.dir);
    expect(same.code).toBe(1);
    expect(same.out).toContain(`another daqd (pid ${pid}) already runs on the state dir`);
    expect(same.out).toContain(first.socketPath);
    const other = await runDaqd(['--config', first.configPath, '--state-dir', join(first.dir, 'other-state')], first.dir);
    expect(other.code).toBe(1);
    expect(other.out).toContain(`another daqd (pid ${pid}) already runs on the config file`);
    // The first one is untouched and still answers.
    expect((await first.call('daemon.status')).pid).toBe(pid);
  });

  it('takes over a lock left by a daqd that was killed', async () => {
    const dir = first.dir;
    first.proc.kill('SIGKILL');
    await first.exited;
    first = await startDaemon({ config: CONFIG, dir });
    expect((await first.call('daemon.status')).pid).toBe(first.proc.pid);
  });
});

describe('daqd started in a subdirectory of the project', () => {
  const root = mkdtempSync(join(tmpdir(), 'daqd-project-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds config/default.toml upwards and keeps its state in the project root .daq', async () => {
    mkdirSync(join(root, 'config'));
    mkdirSync(join(root, 'notebooks', 'today'), { recursive: true });
    writeFileSync(join(root, 'config', 'default.toml'), CONFIG);
    const proc = spawn(process.execPath, [DAQD_BIN], { cwd: join(root, 'notebooks', 'today'), stdio: 'ignore' });
    try {
      const socket = join(root, '.daq', 'daqd.sock');
      await waitUntil(async () => {
        try {
          const c = await DaqClient.connect(socket);
          c.close();
          return true;
        } catch {
          return false;
        }
      }, 15_000, 'daqd on the project socket');
      expect(existsSync(join(root, 'notebooks', 'today', '.daq'))).toBe(false);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
  });

  it('without a config anywhere upwards, says every path it tried', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'daqd-noconfig-'));
    const r = await runDaqd([], empty);
    expect(r.code).toBe(1);
    expect(r.out).toContain(join(empty, 'config', 'default.toml'));
    expect(r.out).toContain('/config/default.toml');
    rmSync(empty, { recursive: true, force: true });
  });
});
