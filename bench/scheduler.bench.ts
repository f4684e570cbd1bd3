/**
 * Issue #22's figures, in one process on simulated Newport meters (simulator pacing off: the
 * scheduler's cost, not the wire's):
 *
 * 1. Overhead of 1000 active ramps (one per instrument, a step a second; with the history on): CPU time per second and
 *    event-loop delay, against the same fleet with no schedule, measured for WINDOW_S each.
 * 2. Scheduled time -> device write: `at` schedules due at known times; the time from the due
 *    time to the `W<nm>` line reaching the simulator, against a bare setTimeout's lateness for the
 *    same times in the same run. Seed target: < 10 ms.
 *
 * Run alone: node --import tsx bench/scheduler.bench.ts   (RAMPS=1000 WINDOW_S=10 SHOTS=50)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import { Newport1830cSimulator } from '../src/drivers/newport_1830c/simulator.js';

const RAMPS = Number(process.env.RAMPS ?? 1000);
const WINDOW_S = Number(process.env.WINDOW_S ?? 10);
const SHOTS = Number(process.env.SHOTS ?? 50);

const r2 = (n: number) => Math.round(n * 100) / 100;
function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(probe: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function config(n: number): string {
  let text = `[application.dynamic_config]\nenable_persistence = false\nenable_hot_reload = false\n\n[application.storage]\nenabled = false\n`;
  for (let i = 0; i < n; i++) text += `\n[instruments.m${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 60000\nsim = { noise = 0 }\n`;
  return text;
}

/** CPU ms per wall second and event-loop delay over `seconds`. */
async function measure(seconds: number) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  h.disable();
  return { cpuMsPerS: r2((cpu.user + cpu.system) / 1000 / (wall / 1000)), loopP50: r2(h.percentile(50) / 1e6), loopP99: r2(h.percentile(99) / 1e6), loopMax: r2(h.max / 1e6) };
}

export async function run(): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-sched-bench-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(configPath, config(RAMPS));
  // Every W<nm> line the simulators receive, with its wall time (ms, sub-ms precision).
  const writes: { line: string; at: number }[] = [];
  const np = Newport1830cSimulator.prototype as unknown as { receive(d: Buffer): void };
  const npReceive = np.receive;
  np.receive = function (this: Newport1830cSimulator, d: Buffer) {
    const at = performance.timeOrigin + performance.now();
    for (const line of d.toString('latin1').split(/\r?\n|\r/)) if (/^W\d{4}$/.test(line.trim())) writes.push({ line: line.trim(), at });
    npReceive.call(this, d);
  };
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false });
  try {
    await until(() => daemon.listInstruments().every((i) => i.state === 'ready'), 120_000, 'instruments ready');
    const s = daemon.scheduler!;
    await sleep(500);
    const idle = await measure(WINDOW_S);

    for (let i = 0; i < RAMPS; i++) s.add(`r${i}`, { type: 'ramp', instrument: `m${i}`, param: 'wavelength_nm', from: 500, to: 1000, duration_ms: 3_600_000, step_ms: 1000 }, 'bench');
    await sleep(1500);
    const writesBefore = writes.length;
    const busy = await measure(WINDOW_S);
    const stepsPerS = (writes.length - writesBefore) / WINDOW_S;
    for (let i = 0; i < RAMPS; i++) s.cancel(`r${i}`);

    // Latency: one `at` schedule at a time on m0, due 50-150 ms ahead; a bare timer for the same time.
    const lat: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < SHOTS; i++) {
      const due = Date.now() + 50 + (i % 10) * 10;
      const nm = 600 + i;
      const mark = writes.length;
      s.add(`at${i}`, { type: 'at', instrument: 'm0', param: 'wavelength_nm', value: nm, at: new Date(due).toISOString() }, 'bench');
      const timer = new Promise<number>((resolve) => setTimeout(() => resolve(performance.timeOrigin + performance.now() - due), Math.max(0, due - Date.now())));
      bare.push(await timer);
      await until(() => writes.slice(mark).some((w) => w.line === `W0${nm}`), 5000, `the write of ${nm}`);
      lat.push(writes.slice(mark).find((w) => w.line === `W0${nm}`)!.at - due);
      await s.idle(); // the one-shot is done (its set recorded) before the next one on m0
    }
    const rows = [
      { what: `no schedules, ${RAMPS} instruments: CPU ms per s`, value: idle.cpuMsPerS, loop_p50_ms: idle.loopP50, loop_p99_ms: idle.loopP99, loop_max_ms: idle.loopMax },
      { what: `${RAMPS} active ramps (1 step/s each, ${r2(stepsPerS)} device writes/s): CPU ms per s`, value: busy.cpuMsPerS, loop_p50_ms: busy.loopP50, loop_p99_ms: busy.loopP99, loop_max_ms: busy.loopMax },
      { what: `scheduled time -> device write, p50 / p99 ms (n=${lat.length}, seed < 10 ms)`, value: `${r2(percentile(lat, 50))} / ${r2(percentile(lat, 99))}`, loop_p50_ms: '-', loop_p99_ms: '-', loop_max_ms: '-' },
      { what: 'bare setTimeout lateness for the same times, p50 / p99 ms', value: `${r2(percentile(bare, 50))} / ${r2(percentile(bare, 99))}`, loop_p50_ms: '-', loop_p99_ms: '-', loop_max_ms: '-' },
    ];
    console.log(`scheduler: ${RAMPS} simulated Newport meters (pacing off), ${WINDOW_S} s windows, ${SHOTS} one-shots`);
    console.table(rows);
    return rows;
  } finally {
    np.receive = npReceive;
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
