/**
 * daqd as a process: signals (SIGTERM/SIGINT stop cleanly, SIGHUP reloads), `--check-config`, and
 * a bad config at start-up (exit 1, file:line and key, never a stack trace).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAQD_BIN, EventRecorder, startDaemon, waitUntil } from '../helpers/daemon.js';
import { runNode } from '../helpers/run.js';

const GOOD = `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm1.params]
wavelength_nm = 800
`;

/** Three problems on known lines, in three tables: a schema type, a driver parameter, a driver name. */
const BAD = `[application.dynamic_config]
enable_persistence = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = "often"

[instruments.pm2]
driver = "newport_1830c"
port = "sim"

[instruments.pm2.params]
wavelength_nm = 5000

[instruments.lamp]
driver = "halogen_9000"
port = "sim"
`;

function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`test bug: "${needle}" not in the config`);
  return i + 1;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDaqd(args: string[], cwd: string, timeoutMs = 15_000): Promise<Run> {
  return runNode(DAQD_BIN, args, { cwd, timeoutMs });
}

const STACK_LINE = /^\s+at /m;

describe.concurrent('daqd --check-config and a bad config at start', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-check-'));
    writeFileSync(join(dir, 'good.toml'), GOOD);
    writeFileSync(join(dir, 'bad.toml'), BAD);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a good file: exit 0 and a one-line OK', async () => {
    const r = await runDaqd(['--check-config', '--config', 'good.toml'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/good\.toml: OK \(1 instrument, 0 modules\)/);
  });

  it('a bad file: exit 1 and every problem with file:line and key', async () => {
    const r = await runDaqd(['--check-config', '--config', 'bad.toml'], dir);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`bad.toml:${lineOf(BAD, 'poll_interval_ms')}: instruments.pm1.poll_interval_ms`);
    expect(out).toContain(`bad.toml:${lineOf(BAD, 'wavelength_nm')}: instruments.pm2.params.wavelength_nm`);
    expect(out).toContain(`bad.toml:${lineOf(BAD, 'halogen_9000')}: instruments.lamp.driver`);
    expect(out).toContain('has 3 problems');
    expect(out).not.toMatch(STACK_LINE);
  });

  it('a missing file: exit 1, the path named, no stack trace', async () => {
    const r = await runDaqd(['--check-config', '--config', 'nowhere.toml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nowhere.toml');
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('daqd on a bad file: exit 1, names file, line and key, no stack trace, no socket left', async () => {
    // Each test its own state dir: the tests of this block run concurrently, and a second daqd on
    // the same state dir is refused by the instance lock (the message this test would then see).
    const r = await runDaqd(['--config', 'bad.toml', '--state-dir', 'state-bad'], dir);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`bad.toml:${lineOf(BAD, 'poll_interval_ms')}: instruments.pm1.poll_interval_ms`);
    expect(out).toContain(`bad.toml:${lineOf(BAD, 'wavelength_nm')}: instruments.pm2.params.wavelength_nm`);
    expect(out).not.toMatch(STACK_LINE);
    expect(existsSync(join(dir, 'state-bad', 'daqd.sock'))).toBe(false);
  });

  it('a TOML syntax error at start: exit 1 with file:line, no stack trace', async () => {
    writeFileSync(join(dir, 'syntax.toml'), GOOD + '\n[instruments.pm2\ndriver = "scpi"\n');
    const r = await runDaqd(['--config', 'syntax.toml', '--state-dir', 'state-syntax'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`syntax\\.toml:${GOOD.split('\n').length + 1}`));
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('daqd signals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: exit 0 within 5 s, socket removed`, async () => {
      const daqd = await startDaemon({ config: GOOD });
      try {
        expect(existsSync(daqd.socketPath)).toBe(true);
        const t0 = Date.now();
        const code = await daqd.stop(signal);
        expect(code).toBe(0);
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(existsSync(daqd.socketPath)).toBe(false);
        expect(daqd.output()).not.toMatch(STACK_LINE);
      } finally {
        await daqd.dispose();
      }
    });
  }

  it('SIGTERM with a subscriber connected and sets queued: every queued set is answered, then exit 0', async () => {
    const daqd = await startDaemon({ config: GOOD });
    try {
      await waitUntil(async () => (await daqd.call('instrument.get', { id: 'pm1' })).state === 'ready', 5000, 'pm1 ready');
      const rec = await EventRecorder.subscribe(daqd, { types: ['reading'] });
      const client = await daqd.client();
      const before = (await daqd.call('daemon.status')).queue.completed;
      // Ten sets in one write: daqd reads and queues them together; each takes a few device exchanges.
      const sets = Array.from({ length: 10 }, (_, i) =>
        client.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 600 + i } }).then(
          (r) => r.params.wavelength_nm as number,
          (e: Error) => e.message,
        ),
      );
      // Signal once the queue is being worked through, i.e. the sets are in flight, not in transit.
      await waitUntil(async () => (await daqd.call('daemon.status')).queue.completed > before, 5000, 'the first set to finish');
      daqd.proc.kill('SIGTERM');
      expect(await Promise.all(sets)).toEqual(Array.from({ length: 10 }, (_, i) => 600 + i));
      expect(await daqd.exited).toBe(0);
      expect(existsSync(daqd.socketPath)).toBe(false);
      rec.close();
      client.close();
    } finally {
      await daqd.dispose();
    }
  });

  it('SIGHUP reloads the file now (hot reload off): the change is applied and reported', async () => {
    const daqd = await startDaemon({ config: GOOD });
    try {
      const rec = await EventRecorder.subscribe(daqd, { types: ['config.'] });
      const edited = readFileSync(daqd.configPath, 'utf8').replace('wavelength_nm = 800', 'wavelength_nm = 532') +
        '\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 50\n';
      writeFileSync(daqd.configPath, edited);
      daqd.proc.kill('SIGHUP');
      const reloaded = await rec.waitFor((e) => e.method === 'config.reloaded', 10_000, 'config.reloaded');
      expect(reloaded.params.source).toBe('signal');
      expect((await daqd.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(532);
      await waitUntil(async () => (await daqd.call('instrument.get', { id: 'pm2' })).lastReading, 5000, 'pm2 to poll');
      expect((await daqd.call('config.reloadStatus')).outcome).toBe('applied');
      expect(daqd.proc.exitCode).toBeNull();
      rec.close();
    } finally {
      await daqd.dispose();
    }
  });

  it('SIGHUP with a broken file: config.reloadFailed with the line, the running config unchanged', async () => {
    const daqd = await startDaemon({ config: GOOD });
    try {
      const rec = await EventRecorder.subscribe(daqd, { types: ['config.'] });
      writeFileSync(daqd.configPath, GOOD.replace('wavelength_nm = 800', 'wavelength_nm = 5000'));
      daqd.proc.kill('SIGHUP');
      const failed = await rec.waitFor((e) => e.method === 'config.reloadFailed', 10_000, 'config.reloadFailed');
      expect(JSON.stringify(failed.params.errors)).toContain('wavelength_nm');
      expect(failed.params.errors[0].line).toBe(lineOf(GOOD, 'wavelength_nm'));
      expect((await daqd.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(800);
      expect(daqd.proc.exitCode).toBeNull();
      rec.close();
    } finally {
      await daqd.dispose();
    }
  });
});
