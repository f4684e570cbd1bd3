/**
 * daqctl as a person or a script uses it: a child process against a real daqd. Tables by default,
 * `--json` prints the method's result, exit 0 on success, the message on stderr and a non-zero
 * exit on error (1 refused or daqd unreachable, 2 usage: the contract's codes). Every kind of usage error:
 * daqctl-exit-codes.test.ts.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAQCTL_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl, type RunResult } from '../helpers/run.js';

const CONFIG = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm2]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[modules.ratio]
type = "derived"
expression = "a.power / b.power"
output = "ratio"

[modules.ratio.roles]
a = "pm1"
b = "pm2"
`;

const STACK_LINE = /^\s+at /m;

describe('daqctl against a running daqd', () => {
  let daqd: DaemonHandle;

  const ctl = (...args: string[]): Promise<RunResult> => daqctl(daqd.socketPath, args, { cwd: daqd.dir });

  /** A refusal: non-zero exit, a one-line message on stderr, nothing on stdout, no stack trace. */
  function expectRefused(r: RunResult, code: number, ...fragments: string[]): void {
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toBe('');
    for (const f of fragments) expect(r.stderr).toContain(f);
    expect(r.stderr).not.toMatch(STACK_LINE);
  }

  beforeAll(async () => {
    daqd = await startDaemon({ config: CONFIG });
    await waitUntil(async () => (await daqd.call('instrument.list')).instruments.every((i: any) => i.lastReading), 10_000, 'both meters to poll');
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  // Read-only checks (and refusals that change nothing) run side by side; the changes after them in order.
  it.concurrent('status: a summary; --json: the daemon.status result', async () => {
    const human = await ctl('status');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^daqd \d+\.\d+\.\d+ \(pid \d+\), up \d+ s$/m);
    expect(human.stdout).toMatch(/^instruments: 2 \(2 ready\)$/m);
    expect(human.stdout).toContain(daqd.configPath);
    const json = await ctl('--json', 'status');
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout);
    expect(s).toMatchObject({ pid: daqd.proc.pid, configPath: daqd.configPath, instruments: { total: 2 }, modules: { total: 1 } });
  });

  it.concurrent('ls: a table with every instrument; --json: typed values', async () => {
    const human = await ctl('ls');
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+DRIVER\s+PORT\s+STATE\s+SEQ\s+LAST READING/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['pm1', 'newport_1830c', 'sim', 'ready'],
      ['pm2', 'newport_1830c', 'sim', 'ready'],
    ]);
    const json = JSON.parse((await ctl('--json', 'ls')).stdout);
    expect(typeof json.instruments[0].lastReading.values.power).toBe('number');
    expect(typeof json.instruments[0].lastReading.seq).toBe('number');
  });

  it.concurrent('set refused: exit 1, the message and kind on stderr; --json also prints the error object', async () => {
    expectRefused(await ctl('set', 'pm1', 'wavelength_nm=2000'), 1, 'pm1: wavelength_nm must be an integer between 400 and 1100 nm (got 2000)', '[out_of_range]');
    const json = await ctl('--json', 'set', 'pm9', 'wavelength_nm=600');
    expect(json.code).toBe(1);
    expect(json.stderr).toContain('no instrument "pm9"');
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { data: { kind: 'not_found' } } });
  });

  it.concurrent('usage errors: exit 2 without reaching daqd', async () => {
    const [add, set] = await Promise.all([ctl('add', 'pm6', '--port', 'sim'), ctl('set', 'pm1', 'wavelength_nm')]);
    expectRefused(add!, 2, 'add needs --driver and --port');
    expectRefused(set!, 2, 'expected key=value');
  });

  for (const mode of [['watch', '--events'], ['--json', 'watch']]) {
    it.concurrent(`daqctl ${mode.join(' ')}: one JSON event per line until SIGINT, then exit 0`, async () => {
      const child = spawn(process.execPath, [DAQCTL_BIN, '--socket', daqd.socketPath, ...mode, 'pm1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      try {
        // Module events (no instrument) pass an instrument filter too: count the readings.
        await waitUntil(() => out.split('\n').filter((l) => l.includes('"event":"reading"')).length >= 3, 10_000, 'three readings from daqctl watch');
      } catch (e) {
        child.kill('SIGKILL');
        throw new Error(`${(e as Error).message}; stdout: ${out}; stderr: ${err}`);
      }
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const events = out.trim().split('\n').map((l) => JSON.parse(l));
      const readings = events.filter((e) => e.event === 'reading');
      expect(events.every((e) => typeof e.event === 'string')).toBe(true);
      expect(readings.length).toBeGreaterThanOrEqual(3);
      expect(readings.every((e) => e.instrument === 'pm1' && typeof e.seq === 'number' && typeof e.values.power === 'number')).toBe(true);
      expect(err).toBe('');
    });
  }

  it.concurrent('cannot connect: a clear message and exit 1', async () => {
    const r = await daqctl(join(daqd.dir, 'no-such.sock'), ['status']);
    expectRefused(r, 1, 'cannot connect to daqd: is daqd running?', 'no-such.sock');
  });
  it('set: typed values confirmed by the device, human and --json', async () => {
    const human = await ctl('set', 'pm1', 'wavelength_nm=633', 'attenuator=true');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.trim()).toBe('pm1: wavelength_nm=633 attenuator=true');
    const json = await ctl('--json', 'set', 'pm1', 'filter=fast', 'poll_interval_ms=100');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'pm1', params: { filter: 'fast' }, poll_interval_ms: 100, persisted: { written: true } });
    expect((await daqd.call('instrument.get', { id: 'pm1' })).params).toMatchObject({ wavelength_nm: 633, attenuator: true, filter: 'fast' });
  });

  it('add with --driver/--port/--param/--set: typed params, running', async () => {
    const r = await ctl('add', 'pm3', '--driver', 'newport_1830c', '--port', 'sim', '--param', 'wavelength_nm=532', '--param', 'filter=slow', '--set', 'poll_interval_ms=200');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added pm3 \((ready|connecting)\)/);
    const got = await daqd.call('instrument.get', { id: 'pm3' });
    expect(got).toMatchObject({ params: { wavelength_nm: 532, filter: 'slow' }, pollIntervalMs: 200 });
  });

  it('add --toml FILE (a snippet copied from a config file)', async () => {
    const file = join(daqd.dir, 'pm4.toml');
    writeFileSync(file, '# spare head\n[instruments.pm4]\ndriver = "newport_1830c"\nport = "sim"\n\n[instruments.pm4.params]\nwavelength_nm = 1064\n');
    const r = await ctl('--json', 'add', 'pm4', '--toml', file);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'pm4' });
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'pm4' })).state === 'ready', 5000, 'pm4 ready');
    expect((await daqd.call('instrument.get', { id: 'pm4' })).params.wavelength_nm).toBe(1064);
  });

  it('add refused (unknown driver, duplicate): exit 1 with the reason; a missing device is added and its failed connection reported (exit 1)', async () => {
    const [driver, duplicate, port] = await Promise.all([
      ctl('add', 'pm5', '--driver', 'nope', '--port', 'sim'),
      ctl('add', 'pm1', '--driver', 'newport_1830c', '--port', 'sim'),
      ctl('add', 'pm6', '--driver', 'newport_1830c', '--port', '/dev/ttyUSB-none', '--no-persist'),
    ]);
    expectRefused(driver!, 1, 'pm5: unknown driver "nope"', '[unknown_driver]');
    expectRefused(duplicate!, 1, '"pm1" already exists', '[already_exists]');
    // One rule for the file and the socket: a missing device is accepted and retried; --wait says at once that it did not connect.
    expectRefused(port!, 1, 'pm6 was added but its first connection failed', '/dev/ttyUSB-none', '[port_not_found]', 'daqctl rm pm6 to give up');
    expect((await ctl('rm', 'pm6', '--no-persist')).code).toBe(0);
  });

  it('deps: the modules and roles that use an instrument', async () => {
    const [r, unused, asJson] = await Promise.all([ctl('deps', 'pm1'), ctl('deps', 'pm3'), ctl('--json', 'deps', 'pm2')]);
    expect(r!.code).toBe(0);
    expect(r!.stdout).toMatch(/^MODULE\s+TYPE\s+ROLE$/m);
    expect(r!.stdout).toMatch(/^ratio\s+derived\s+a$/m);
    expect(unused!.stdout.trim()).toBe('pm3 is not used by any module');
    const json = JSON.parse(asJson!.stdout);
    expect(json).toEqual({ instrument: 'pm2', usedBy: [{ module: 'ratio', moduleType: 'derived', role: 'b' }] });
  });

  it('rm: refused while a module uses it; --force removes it and says which module is left degraded', async () => {
    expectRefused(await ctl('rm', 'pm2'), 1, 'used by ratio (role b)', '[in_use]');
    const r = await ctl('rm', 'pm2', '--force');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed pm2');
    expect(r.stdout).toContain('modules left degraded: ratio');
    const ids = (await daqd.call('instrument.list')).instruments.map((i: any) => i.id);
    expect(ids).not.toContain('pm2');
    const plain = await ctl('rm', 'pm3');
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toBe('removed pm3');
  });
});
