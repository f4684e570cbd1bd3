/**
 * The daqctl commands of issue #17 against a real daqd: enable / disable / restart one instrument,
 * drivers and `drivers show`, ports (a pty from socat in use by an instrument), memory-only changes
 * listed by status and get, reload --allow-empty, and --json durations without float noise.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import { daqctl } from '../cli/helpers.js';

describe('daqctl enable / disable / restart, drivers, ports, memory-only changes', () => {
  let daqd: DaemonHandle;
  let pty: PtyPair;
  const ctl = (...args: string[]) => daqctl(['--socket', daqd.socketPath, ...args], { cwd: daqd.dir });
  const state = async (id: string) => (await daqd.call('instrument.get', { id })).state as string;

  beforeAll(async () => {
    pty = await startPtyPair();
    daqd = await startDaemon({
      config: `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm1.params]
wavelength_nm = 800

[instruments.pm_pty]
driver = "newport_1830c"
port = "${pty.a}"
enabled = false

[instruments.pm_gone]
driver = "newport_1830c"
port = "/dev/ttyUSB-daqctl-test-gone"
enabled = false
`,
    });
    await waitUntil(async () => (await state('pm1')) === 'ready', 15_000, 'pm1 ready');
  });
  afterAll(async () => {
    await daqd?.dispose();
    await pty?.dispose();
  });

  it('disable, enable (waits until ready), restart; again is "already"', async () => {
    const off = await ctl('disable', 'pm1');
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout.trim()).toBe('disabled pm1 (port closed, not polled)');
    expect(await state('pm1')).toBe('disabled');
    expect(readFileSync(daqd.configPath, 'utf8')).toMatch(/^enabled = false/m);
    const again = await ctl('disable', 'pm1');
    expect(again.stdout.trim()).toBe('pm1 was already disabled');
    const on = await ctl('enable', 'pm1');
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout.trim()).toBe('enabled pm1 (ready)');
    expect(on.stderr).toBe(''); // no spinner off a terminal
    const restart = await ctl('restart', 'pm1');
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout.trim()).toBe('restarted pm1 (ready)');
  });

  it('enable of a device that is not there: exit 1, it did not connect, and the reason', async () => {
    const r = await ctl('enable', 'pm_gone', '--no-persist', '--timeout', '5');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^daqctl: pm_gone did not connect: .*\/dev\/ttyUSB-daqctl-test-gone.* \[\w+\] \(it keeps retrying; daqctl disable pm_gone to stop it\)$/m);
    expect((await ctl('disable', 'pm_gone', '--no-persist')).code).toBe(0);
    const missing = await ctl('restart', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[not_found]');
  });

  it('drivers and drivers show: parameters with kind, type, unit, range; readings', async () => {
    const [list, show, unknown] = await Promise.all([ctl('drivers'), ctl('drivers', 'show', 'newport_1830c'), ctl('drivers', 'show', 'halogen')]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^DRIVER\s+SERIAL\s+BUS\s+DESCRIPTION$/m);
    for (const name of ['ell14', 'esp300', 'maitai', 'modbus_rtu', 'newport_1830c', 'scpi']) expect(list.stdout).toMatch(new RegExp(`^${name}\\s`, 'm'));
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^wavelength_nm\s+setpoint\s+integer\s+nm\s+400\.\.1100\s+yes$/m);
    expect(show.stdout).toMatch(/^power\s+number\s+W\s/m);
    expect(Math.max(...list.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown driver "halogen"');
  });

  it('ports: the pty an instrument is configured on, and who uses it', async () => {
    const r = await ctl('ports');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PATH\s+VID:PID\s+SERIAL\s+MANUFACTURER\s+USED BY$/m);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\s+-\s+-\s+-\s+pm_pty$/m);
    const json = JSON.parse((await ctl('--json', 'ports')).stdout);
    expect(json.ports.some((p: any) => p.usedBy.includes('pm_pty'))).toBe(true);
  });

  it('a --no-persist set is listed as memory-only by status and get; --json durations have no float noise', async () => {
    const set = await ctl('--json', 'set', 'pm1', 'wavelength_nm=633', '--no-persist');
    expect(set.code, set.stderr).toBe(0);
    for (const m of set.stdout.matchAll(/"(\w*[mM]s)": (\d+\.\d+)/g)) expect(m[2]!.split('.')[1]!.length, `${m[1]} = ${m[2]}`).toBeLessThanOrEqual(2);
    const [status, get] = await Promise.all([ctl('status'), ctl('get', 'pm1')]);
    expect(status.stdout).toContain('memory only: 1 change not in the file (daqctl sync writes it):');
    expect(status.stdout).toContain('  instruments.pm1.params.wavelength_nm = 633 (file: 800)');
    expect(get.stdout).toContain('memory:  params.wavelength_nm = 633 (file: 800), not in the file (daqctl sync writes it)');
    const json = JSON.parse((await ctl('--json', 'status')).stdout);
    expect(json.overrides).toEqual([{ path: 'instruments.pm1.params.wavelength_nm', kind: 'set', value: 633, file: 800 }]);
  });

  it('reload of an emptied file is refused; reload --allow-empty applies it', async () => {
    const text = readFileSync(daqd.configPath, 'utf8');
    writeFileSync(daqd.configPath, '# everything removed\n');
    const refused = await ctl('reload');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('daqctl reload --allow-empty');
    expect((await daqd.call('instrument.list')).instruments.length).toBe(3);
    const applied = await ctl('reload', '--allow-empty');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^applied at \S+ in [\d.]+ m?s \(socket\): /);
    expect((await daqd.call('instrument.list')).instruments.length).toBe(0);
    writeFileSync(daqd.configPath, text);
  });
});
