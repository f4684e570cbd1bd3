/**
 * Schedules in an in-process Daemon on simulated instruments with a controlled clock: start one
 * (or restart it on the same directory), stop it with its state written, move the clock and tick.
 * Shared by scheduler.test.ts and scheduler-restart.test.ts; every daemon started is stopped and
 * its directory removed after each test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { Daemon } from '../../src/core/daemon.js';

export const CONFIG = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm.params]
wavelength_nm = 800

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 50
`;

export interface Running {
  daemon: Daemon;
  dir: string;
  clock: { now: number };
}
const opened: Running[] = [];

export async function start(reuse?: Running, config = CONFIG): Promise<Running> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'daqd-sched-'));
  if (!reuse) writeFileSync(join(dir, 'default.toml'), config);
  const clock = reuse?.clock ?? { now: Date.parse('2026-12-01T10:00:00Z') };
  const daemon = await Daemon.start({ configPath: join(dir, 'default.toml'), stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false, clock: () => clock.now });
  await daemon.waitForConnection('pm', 5000);
  await daemon.waitForConnection('laser', 5000);
  // Steps due at start-up wait for their instrument; let them run before the test looks.
  await daemon.scheduler!.tick();
  await daemon.scheduler!.idle();
  const r = { daemon, dir, clock };
  opened.push(r);
  return r;
}

export async function stop(r: Running): Promise<void> {
  await r.daemon.scheduler!.flushed();
  await r.daemon.stop();
  opened.splice(opened.indexOf(r), 1);
}

afterEach(async () => {
  for (const r of opened.splice(0)) {
    await r.daemon.stop();
    rmSync(r.dir, { recursive: true, force: true });
  }
});

export const dev = (r: Running, p = 'wavelength_nm') => r.daemon.getInstrument('pm').device[p];
export async function advance(r: Running, ms: number) {
  r.clock.now += ms;
  await r.daemon.scheduler!.tick();
}
