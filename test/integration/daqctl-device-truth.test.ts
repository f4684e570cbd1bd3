/**
 * Issue #15 end to end, with real daqd and daqctl processes on a real socket:
 * - a string where the driver declares a boolean or a number is an error in the file
 *   (`--check-config`, start-up, reload) with its line and a TOML hint, and over JSON-RPC with a
 *   JSON hint: the value that passes is the value the driver gets;
 * - daqctl converts command-line words with the parameter's declared type (`shutter=off`);
 * - get (configured vs device), abort, add --wait, status trouble, reload --status exit codes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/client/client.js';
import { DAQCTL_BIN, DAQD_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { runNode } from '../helpers/run.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], cwd?: string): Promise<Result> {
  return runNode(bin, args, { cwd });
}

const GOOD = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 100

[instruments.laser.params]
wavelength_nm = 800
shutter = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm1.params]
filter = "slow"
`;

/** GOOD with the laser's shutter given as the string "off" (line 12). */
const SHUTTER_OFF = GOOD.replace('shutter = false', 'shutter = "off"');

describe('the file: strings are not numbers or booleans', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-typing-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('daqd --check-config: shutter = "off" exits 1 with the line and "use shutter = false"', async () => {
    const file = join(dir, 'off.toml');
    writeFileSync(file, SHUTTER_OFF);
    const r = await run(DAQD_BIN, ['--check-config', '--config', file]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${file}:12: instruments.laser.params.shutter: laser: shutter must be true or false (got "off"); use shutter = false`);
  });

  it('daqd --check-config: wavelength_nm = "800" and filter = "SLOW" each with their line and hint', async () => {
    const file = join(dir, 'strings.toml');
    writeFileSync(file, GOOD.replace('wavelength_nm = 800', 'wavelength_nm = "800"').replace('filter = "slow"', 'filter = "SLOW"'));
    const r = await run(DAQD_BIN, ['--check-config', '--config', file]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${file}:11: instruments.laser.params.wavelength_nm:`);
    expect(r.stderr).toContain('use wavelength_nm = 800');
    expect(r.stderr).toContain(`${file}:20: instruments.pm1.params.filter:`);
    expect(r.stderr).toContain('did you mean "slow"?');
  });

  it('start-up refuses the file the same way (exit 1, nothing opened)', async () => {
    const file = join(dir, 'start.toml');
    writeFileSync(file, SHUTTER_OFF);
    const r = await run(DAQD_BIN, ['--config', file, '--state-dir', join(dir, 'state'), '--log-level', 'error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('use shutter = false');
  });
});

describe('daqctl and the device truth (needs the issue #15 core: instrument.get parameters, abort, add wait, trouble)', () => {
  let daqd: DaemonHandle;
  const ctl = (...args: string[]) => run(DAQCTL_BIN, ['--socket', daqd.socketPath, ...args], daqd.dir);

  beforeAll(async () => {
    daqd = await startDaemon({ config: GOOD });
    await waitUntil(async () => (await daqd.call('instrument.list')).instruments.every((i: any) => i.state === 'ready' && i.lastReading), 15_000, 'both instruments polling');
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  it('over JSON-RPC a string is refused with a JSON hint (invalid_params)', async () => {
    const err = await daqd.call('instrument.set', { id: 'laser', params: { shutter: 'off' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).kind).toBe('invalid_params');
    expect((err as RpcError).message).toContain('give true or false, not "off"');
    const num = await daqd.call('instrument.set', { id: 'laser', params: { wavelength_nm: '810' } }).catch((e: unknown) => e);
    expect((num as RpcError).kind).toBe('invalid_params');
    expect((num as RpcError).message).toContain('give 810, not "810"');
  });

  it('daqctl set laser shutter=off: converted with the declared type, confirmed by the device', async () => {
    const open = await ctl('set', 'laser', 'shutter=on');
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toMatch(/^laser: shutter=true/);
    const closed = await ctl('--json', 'set', 'laser', 'shutter=off');
    expect(closed.code, closed.stderr).toBe(0);
    expect(JSON.parse(closed.stdout)).toMatchObject({ id: 'laser', params: { shutter: false } });
    const view = await daqd.call('instrument.get', { id: 'laser' });
    expect(view.device.shutter).toBe(false);
  });

  it('daqctl set: an enum in any case is sent in its declared spelling; an unknown word is a usage error', async () => {
    const fast = await ctl('set', 'pm1', 'filter=FAST');
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.stdout).toMatch(/^pm1: filter=fast/);
    const bad = await ctl('set', 'laser', 'shutter=ajar');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('laser: shutter is true or false: give true/false, on/off, yes/no, 1/0 (got "ajar")');
  });

  it('daqctl get: the parameter table, configured vs device; --json prints the view', async () => {
    const human = await ctl('get', 'laser', '--refresh');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^PARAMETER\s+KIND\s+CONFIGURED\s+DEVICE\s+UNIT/m);
    expect(human.stdout).toMatch(/^wavelength_nm\s+setpoint\s+800\s+800\s+nm/m);
    expect(human.stdout).toMatch(/^shutter\s+action\s+\S+\s+false/m);
    expect(Math.max(...human.stdout.split('\n').filter((l) => /^(PARAMETER|wavelength_nm|shutter|emission)\b/.test(l)).map((l) => l.length))).toBeLessThanOrEqual(80);
    const json = JSON.parse((await ctl('--json', 'get', 'laser')).stdout);
    expect(json.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['wavelength_nm', 'shutter', 'emission']));
  });

  it('daqctl abort: nothing in flight on an idle laser', async () => {
    const r = await ctl('abort', 'laser');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('laser: nothing was in flight; state ready');
  });

  it('daqctl status: "no trouble" on a healthy bench', async () => {
    const r = await ctl('status');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('no trouble');
  });

  it('daqctl add waits for the first connection: ready -> exit 0, no spinner off a terminal', async () => {
    const r = await ctl('add', 'pm2', '--driver', 'newport_1830c', '--port', 'sim', '--param', 'wavelength_nm=633');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('added pm2 (ready)');
    expect(r.stderr).toBe('');
  });

  it('daqctl add: a first connection that fails -> exit 1 with the connect error', async () => {
    // A device that is not there is accepted (and retried), as in the file; its first connection fails.
    const r = await ctl('add', 'pm_null', '--driver', 'newport_1830c', '--port', '/dev/ttyUSB-not-plugged', '--timeout', '10', '--no-persist');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^daqctl: pm_null was added but its first connection failed: .+ \[\w+\]/);
    await ctl('rm', 'pm_null', '--no-persist');
  });

  it('daqctl add --param shutter=off: not converted (the type is unknown before the add); daqd refuses with its hint', async () => {
    const r = await ctl('add', 'laser2', '--driver', 'maitai', '--port', 'sim:l2', '--param', 'shutter=off');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('give true or false, not "off"');
    expect(r.stderr).toContain('[invalid_params]');
  });

  it('reload of a file with shutter = "off": refused; reload --status exits 1 with the line and the hint; status shows it', async () => {
    writeFileSync(daqd.configPath, SHUTTER_OFF);
    const reload = await ctl('reload');
    expect(reload.code).toBe(1);
    expect(reload.stderr).toContain('use shutter = false');
    const status = await ctl('reload', '--status');
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('line 12: instruments.laser.params.shutter: laser: shutter must be true or false (got "off"); use shutter = false');
    const summary = await ctl('status');
    expect(summary.stdout).toMatch(/^TROUBLE \(\d+\):$/m);
    expect(summary.stdout).toContain('last reload failed');
  });
});
