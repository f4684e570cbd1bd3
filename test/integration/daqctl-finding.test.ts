/**
 * daqctl finds daqd from any directory (docs/daqctl.md, "Finding daqd"): a daqd started the way a
 * lab runs it (in the project directory, config/default.toml, the default state dir .daq) answers
 * daqctl run from a subdirectory, and from anywhere given --config or $DAQD_CONFIG. When nothing
 * answers, the error names every path tried.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaqClient } from '../../src/client/client.js';
import { DAQD_BIN, waitUntil } from '../helpers/daemon.js';
import { daqctl } from '../cli/helpers.js';

const CONFIG = '[instruments.pm1]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 200\n';

describe('daqctl from another directory', () => {
  let project: string;
  let outside: string;
  let daqd: ChildProcess;
  let exited: Promise<unknown>;
  let log = '';

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'daqd-lab-'));
    outside = mkdtempSync(join(tmpdir(), 'daqd-elsewhere-'));
    mkdirSync(join(project, 'config'));
    mkdirSync(join(project, 'data', 'run1'), { recursive: true });
    writeFileSync(join(project, 'config', 'default.toml'), CONFIG);
    // As a lab starts it: in the project directory, every path the default.
    const env = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('DAQD_')) delete env[key];
    daqd = spawn(process.execPath, [DAQD_BIN], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    daqd.stdout!.on('data', (d) => (log += d));
    daqd.stderr!.on('data', (d) => (log += d));
    exited = new Promise((resolve) => daqd.once('close', resolve));
    const socket = join(project, '.daq', 'daqd.sock');
    await waitUntil(
      async () => {
        if (daqd.exitCode !== null) throw new Error(`daqd exited: ${log}`);
        try {
          const c = await DaqClient.connect(socket);
          c.close();
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      `daqd on ${socket}`,
    );
  });
  afterAll(async () => {
    if (daqd && daqd.exitCode === null) {
      daqd.kill('SIGKILL');
      await exited;
    }
    rmSync(project, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const configLine = () => `config:      ${join(project, 'config', 'default.toml')}`;

  it('from a subdirectory of the project', async () => {
    const r = await daqctl(['status'], { cwd: join(project, 'data', 'run1') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(configLine());
  });

  it('from anywhere with --config or $DAQD_CONFIG', async () => {
    const file = join(project, 'config', 'default.toml');
    const [flag, env] = await Promise.all([daqctl(['--config', file, 'status'], { cwd: outside }), daqctl(['status'], { cwd: outside, env: { DAQD_CONFIG: file } })]);
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.stdout).toContain(configLine());
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toContain(configLine());
  });

  it('outside any project, without --config: the system socket only, and the error says so', async () => {
    const r = await daqctl(['status'], { cwd: outside });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/run/daqd/daqd.sock');
    expect(r.stderr).toContain('no project found');
  });

  it('when the project\'s daqd is down: exit 1, every path tried, and why /run/daqd was not', async () => {
    daqd.kill('SIGTERM');
    await exited;
    const r = await daqctl(['status'], { cwd: join(project, 'data') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot connect to daqd: is daqd running? Tried:');
    expect(r.stderr.match(/^  \//gm)).toHaveLength(1);
    expect(r.stderr).toContain(`${join(project, '.daq', 'daqd.sock')} (project ${project}): no socket`);
    expect(r.stderr).toContain(`/run/daqd/daqd.sock was not tried: you are inside the project ${project}`);
    expect(readFileSync(join(project, 'config', 'default.toml'), 'utf8')).toBe(CONFIG);
  });
});
