/**
 * SIGHUP during start-up (issue #20): `systemctl reload` may arrive while daqd is still loading its
 * modules or opening ports; SIGHUP's default action would kill it. The handler is installed first
 * thing (bin/daqd.js), and a SIGHUP before the daemon is up becomes one reload once it is.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitUntil } from '../helpers/daemon.js';
import { METER, NotifyListener, project, spawnDaqd } from '../service/helpers.js';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** Whether the process catches SIGHUP (bit 0 of SigCgt in /proc/PID/status). */
function catchesSighup(pid: number): boolean {
  try {
    const line = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line !== null && (BigInt(`0x${line[1]}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

it('SIGHUPs sent all through start-up do not kill daqd; one reload follows once it is ready', async () => {
  const p = project(`[application.dynamic_config]\nenable_persistence = false\n` + METER('pm1') + METER('pm2'));
  const listener = await NotifyListener.start(join(p.dir, 'notify.sock'));
  const daqd = spawnDaqd(p, { NOTIFY_SOCKET: listener.path });
  cleanup.push(() => p.dispose(), () => listener.close(), () => daqd.kill());
  const pid = daqd.proc.pid!;
  await waitUntil(() => catchesSighup(pid) || daqd.proc.exitCode !== null, 10_000, 'daqd to catch SIGHUP');
  let sent = 0;
  while (!listener.messages.some((m) => m.fields.READY === '1') && daqd.proc.exitCode === null && daqd.proc.signalCode === null) {
    daqd.proc.kill('SIGHUP');
    sent++;
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(daqd.proc.signalCode).toBeNull();
  expect(daqd.proc.exitCode).toBeNull();
  // The handler is there long before ready: most of the start-up was covered.
  expect(sent).toBeGreaterThanOrEqual(5);
  // The SIGHUPs during start-up became a reload after READY=1 (systemd sees RELOADING, READY).
  const firstReady = listener.messages.findIndex((m) => m.fields.READY === '1');
  await listener.waitFor((m, i) => i > firstReady && m.fields.RELOADING === '1', 10_000, 'RELOADING=1 after start-up');
  await listener.waitFor((m, i) => i > firstReady + 1 && m.fields.READY === '1', 10_000, 'READY=1 after that reload');
  const status = await daqd.call('daemon.status');
  expect(status.pid).toBe(pid);
  daqd.proc.kill('SIGTERM');
  expect(await daqd.exited).toBe(0);
});
