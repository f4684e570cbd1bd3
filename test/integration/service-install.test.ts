/**
 * The unit and scripts/install.sh (issue #20), without touching the real system: the install goes
 * into a temporary DESTDIR with --no-system (no useradd, chown or systemctl). The unit passes
 * `systemd-analyze verify` (offline; any warning fails), and the installed daqd runs under the
 * unit's paths, where a second daqd is refused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotifyListener, ROOT, spawnDaqd } from '../service/helpers.js';

const INSTALL = join(ROOT, 'scripts/install.sh');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

function install(destdir: string, ...args: string[]) {
  const r = spawnSync('sh', [INSTALL, '--destdir', destdir, '--no-system', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`install.sh ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** `systemd-analyze verify` exits 0 even on unknown keys: any output is a failure. */
function verify(unit: string): string {
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  return `${r.status === 0 ? '' : `exit ${r.status}\n`}${r.stdout}${r.stderr}`.trim();
}

let dest: string;
beforeAll(() => {
  dest = mkdtempSync(join(tmpdir(), 'daqd-install-'));
});
afterAll(() => rmSync(dest, { recursive: true, force: true }));

describe('the unit', () => {
  it.skipIf(!hasAnalyze)('daqd.service and daqd.socket pass systemd-analyze verify with no warning', () => {
    install(dest, '--socket-unit');
    const unit = join(dest, 'etc/systemd/system/daqd.service');
    const text = readFileSync(unit, 'utf8');
    expect(text).not.toContain('@');
    expect(text).toMatch(new RegExp(`^ExecStart=${process.execPath} /opt/daqd/bin/daqd\\.js `, 'm'));
    for (const line of ['Type=notify', 'NotifyAccess=all', 'Restart=on-failure', 'RuntimeDirectory=daqd', 'StateDirectory=daqd', 'ConfigurationDirectory=daqd', 'User=daq', 'Group=daq', 'SupplementaryGroups=dialout', 'UMask=0007', 'SyslogIdentifier=daqd', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=yes', 'DevicePolicy=closed', 'DeviceAllow=char-ttyUSB rw', 'DeviceAllow=char-ttyACM rw', 'DeviceAllow=char-ttyS rw']) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toMatch(/^ExecReload=\S+ \/opt\/daqd\/bin\/daqctl\.js .*reload --wait$/m);
    expect(text).toMatch(/^WatchdogSec=\d+/m);
    expect(text).toMatch(/^TimeoutStopSec=\d+/m);
    expect(text).toMatch(/^RestartSec=\d+/m);
    expect(verify(unit)).toBe('');
    expect(verify(join(dest, 'etc/systemd/system/daqd.socket'))).toBe('');
  });

  it.skipIf(!hasAnalyze)('the check itself catches a broken unit (an unknown key, notify-reload on systemd 252)', () => {
    const good = readFileSync(join(ROOT, 'packaging/daqd.service'), 'utf8').replaceAll('@NODE@', process.execPath).replaceAll('@PREFIX@', ROOT);
    const dir = mkdtempSync(join(tmpdir(), 'daqd-unit-'));
    try {
      writeFileSync(join(dir, 'daqd.service'), good.replace('WatchdogSec=', 'WatchdogSecs='));
      expect(verify(join(dir, 'daqd.service'))).toMatch(/Unknown key 'WatchdogSecs'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(!hasAnalyze)('systemd-analyze is missing: npm test installs Debian\'s systemd (scripts/ensure-test-deps.mjs)', () => {
    console.warn('SKIPPED systemd-analyze verify: systemd-analyze is not installed and could not be (apt-get install -y systemd)');
  });
});

describe('install.sh into a temporary DESTDIR', () => {
  it('installs app, commands, config, state and unit; a second run keeps the config; --uninstall removes all but config and state', () => {
    const d = mkdtempSync(join(tmpdir(), 'daqd-install-'));
    try {
      const first = install(d);
      expect(first).toMatch(/installed .*\/etc\/daqd\/daqd\.toml/);
      expect(existsSync(join(d, 'opt/daqd/bin/daqd.js'))).toBe(true);
      expect(existsSync(join(d, 'opt/daqd/node_modules/pino/package.json'))).toBe(true);
      expect(readlinkSync(join(d, 'usr/local/bin/daqctl'))).toBe('/opt/daqd/bin/daqctl.js');
      expect(statSync(join(d, 'var/lib/daqd')).mode & 0o777).toBe(0o750);
      expect(statSync(join(d, 'etc/daqd')).mode & 0o7777).toBe(0o2770);
      expect(readFileSync(join(d, 'etc/daqd/daqd.toml'), 'utf8')).toBe(readFileSync(join(ROOT, 'config/default.toml'), 'utf8'));
      expect(first).toMatch(/skipped \(--no-system\): systemctl enable daqd\.service/);
      // A person's config survives every later install.
      writeFileSync(join(d, 'etc/daqd/daqd.toml'), '# mine\n');
      const second = install(d);
      expect(second).toMatch(/kept .*daqd\.toml \(exists; never overwritten\)/);
      expect(readFileSync(join(d, 'etc/daqd/daqd.toml'), 'utf8')).toBe('# mine\n');
      expect(existsSync(join(d, 'opt/daqd.new'))).toBe(false);
      const gone = install(d, '--uninstall');
      expect(gone).toMatch(/kept .*etc\/daqd/);
      for (const p of ['opt/daqd', 'etc/systemd/system/daqd.service', 'usr/local/bin/daqd', 'usr/local/bin/daqctl']) {
        expect(() => lstatSync(join(d, p)), p).toThrow();
      }
      expect(readFileSync(join(d, 'etc/daqd/daqd.toml'), 'utf8')).toBe('# mine\n');
      install(d, '--uninstall'); // again: nothing to do, no error
      install(d, '--uninstall', '--purge');
      expect(existsSync(join(d, 'etc/daqd'))).toBe(false);
      expect(existsSync(join(d, 'var/lib/daqd'))).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the installed daqd runs on the unit\'s paths; a second daqd there is refused, so is one by hand on the same config', async () => {
    const d = mkdtempSync(join(tmpdir(), 'daqd-install-'));
    const listener = await NotifyListener.start(join(d, 'notify.sock'));
    // Simulated shipped bench: the installed config, with file writes off (it is the test's copy).
    const kill: (() => Promise<void>)[] = [];
    try {
      install(d);
      const config = join(d, 'etc/daqd/daqd.toml');
      const unitArgs = ['--state-dir', join(d, 'var/lib/daqd'), '--socket', join(d, 'run/daqd/daqd.sock')];
      const p = { dir: d, configPath: config, socketPath: join(d, 'run/daqd/daqd.sock') };
      const bin = join(d, 'opt/daqd/bin/daqd.js');
      const first = spawnDaqd(p, { NOTIFY_SOCKET: listener.path }, unitArgs, bin);
      kill.push(() => first.kill());
      await listener.waitFor((m) => m.fields.READY === '1', 30_000, 'READY=1 from the installed daqd');
      expect((await first.call('daemon.status')).pid).toBe(first.proc.pid);

      const second = spawnDaqd(p, {}, unitArgs, bin);
      kill.push(() => second.kill());
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(new RegExp(`another daqd \\(pid ${first.proc.pid}\\) already runs`));

      const byHand = spawnDaqd(p, {}, ['--state-dir', join(d, 'elsewhere')], bin);
      kill.push(() => byHand.kill());
      expect(await byHand.exited).toBe(1);
      expect(byHand.output()).toMatch(/already runs on the config file/);
      // The first one never noticed.
      expect((await first.call('daemon.status')).pid).toBe(first.proc.pid);
      first.proc.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    } finally {
      for (const k of kill) await k();
      listener.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
