/**
 * Schedules in an in-process Daemon on simulated instruments with a controlled clock (issue #22):
 * scheduler.tick() after moving the clock, no waiting. Ramps (values, timing, clamping, rate
 * limits), at + misfire, restart mid-ramp, manual sets under a ramp, validation refusals, triggers
 * with hysteresis and hold, and the history of it all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/core/daemon.js';

const CONFIG = `[application.dynamic_config]
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

interface Running {
  daemon: Daemon;
  dir: string;
  clock: { now: number };
}
const opened: Running[] = [];

async function start(reuse?: Running, config = CONFIG): Promise<Running> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'daqd-sched-'));
  if (!reuse) writeFileSync(join(dir, 'default.toml'), config);
  const clock = reuse?.clock ?? { now: Date.parse('2026-12-01T10:00:00Z') };
  const daemon = await Daemon.start({ configPath: join(dir, 'default.toml'), stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false, clock: () => clock.now });
  await daemon.waitForConnection('pm', 5000);
  await daemon.waitForConnection('laser', 5000);
  const r = { daemon, dir, clock };
  opened.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
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

const dev = (r: Running, p = 'wavelength_nm') => r.daemon.getInstrument('pm').device[p];
async function advance(r: Running, ms: number) {
  r.clock.now += ms;
  await r.daemon.scheduler!.tick();
}

describe('ramps', () => {
  it('steps linearly at its interval, on the device, and ends at the target', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', to: 900, duration_ms: 10_000, step_ms: 2_000 }, 'socket');
    await s.tick();
    expect(dev(r)).toBe(800);
    const seen: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      await advance(r, 2_000);
      seen.push(dev(r));
    }
    expect(seen).toEqual([820, 840, 860, 880, 900]);
    expect(s.get('r1').state).toBe('done');
    // intermediate steps in memory, the last one in the config
    expect(r.daemon.config.instruments!.pm!.params!.wavelength_nm).toBe(900);
  });

  it('does not step before its time; a late tick takes the closed-form value now', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 600, duration_ms: 100_000, step_ms: 10_000 }, 'socket');
    await s.tick();
    expect(dev(r)).toBe(500);
    await advance(r, 9_999);
    expect(dev(r)).toBe(500);
    await advance(r, 35_001); // 45 s in: 545
    expect(dev(r)).toBe(545);
    expect(s.get('r1').nextDue).toBe(new Date(Date.parse('2026-12-01T10:00:50Z')).toISOString());
  });

  it('clamps each step to the declared range and limits the rate', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 1000, to: 1300, duration_ms: 3_000, step_ms: 1_000 }, 'socket');
    await s.tick();
    await advance(r, 1_000);
    await advance(r, 1_000);
    expect(dev(r)).toBe(1100); // 1200 clamped to max 1100
    await advance(r, 1_000);
    expect(dev(r)).toBe(1100);
    expect(s.get('r1').state).toBe('done');
  });

  it('limits each step to max_rate_per_min', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 700, duration_ms: 10_000, step_ms: 5_000, max_rate_per_min: 600 }, 'socket');
    await s.tick();
    await advance(r, 5_000); // closed form 600, but 10 nm/s * 5 s = 50: 550
    expect(dev(r)).toBe(550);
    await advance(r, 5_000);
    expect(dev(r)).toBe(600);
    expect(s.get('r1').state).toBe('active'); // not there yet: goes on past the duration
    await advance(r, 5_000);
    await advance(r, 5_000);
    expect(dev(r)).toBe(700);
    expect(s.get('r1').state).toBe('done');
  });

  it('resumes after a restart at the value it should have now', async () => {
    const r = await start();
    r.daemon.scheduler!.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 600, duration_ms: 100_000, step_ms: 10_000 }, 'socket');
    await r.daemon.scheduler!.tick();
    await advance(r, 20_000);
    expect(dev(r)).toBe(520);
    await stop(r);
    r.clock.now += 43_000; // down for 43 s: 63 s into the ramp
    const r2 = await start(r);
    expect(dev(r2)).toBe(563);
    expect(r2.daemon.scheduler!.get('r1').state).toBe('active');
  });
});
