/**
 * Issue #25: a lab's worth of instruments on one process. For 100 / 300 / 1000 / 3000 simulated
 * Newport 1830-C meters polled at 10 Hz (the shipped `port = "sim"`: paced at 9600 baud, two line
 * exchanges a reading), each for DURATION_S (default 30) in a process of its own
 * (bench/fleet-worker.ts): readings/s against requested, CPU (% of one core, every thread of the
 * process: GC helpers and the file-system thread pool included), how busy the main thread was
 * (event-loop utilisation: the one core daqd's own work runs on), RSS, event-loop delay p99, and CPU
 * µs per reading against the floor measured in the same run: bare loops doing the same exchanges
 * against the same simulators on the same transport.
 * At 1000 the fleet also runs in a real daqd child process (bin/daqd.js, measured from /proc: no
 * bench harness, tsx or readings counter in its memory or CPU), and that row is the one the
 * targets (CPU < 50 %, RSS < 200 MB) are checked on; the in-process row carries ~25 MB of tsx and
 * harness and the cost of counting every reading.
 * Then the memory of a connected, idle instrument. daqd's code is the compiled dist/ when it is up
 * to date (what `npm start` runs), else the sources through tsx; the output says which.
 *
 *   node --import tsx bench/fleet.bench.ts          FLEET=100,300,1000,3000 DURATION_S=30
 *
 * The seed's figures (issue #25, the daemon before it): 1000 instruments gave 6,925 of 10,000
 * readings/s at 120 % CPU and 282 MB; 150-210 µs of CPU per reading.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Window as FleetWindow } from './fleet-worker.js';

const FLEET = (process.env.FLEET ?? '100,300,1000,3000').split(',').map(Number);
const DURATION_S = Number(process.env.DURATION_S ?? 30);
const IDLE_N = Number(process.env.IDLE_N ?? 1000);
const worker = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
const r1 = (x: number) => Math.round(x * 10) / 10;


/** Which code each worker ran ('dist' or 'tsx'), said under the table. */
const ran = new Set<string>();

function measure(mode: string, n: number, seconds = DURATION_S): FleetWindow & { notReady?: number } & Record<string, number> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', worker, mode, String(n), String(seconds)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: (seconds + 180) * 1000,
  });
  const result = JSON.parse(out.trim().split('\n').at(-1)!);
  ran.add(result.code);
  return result;
}

const SEED: Record<number, string> = { 100: '1,000/s 21% 137 MB', 300: '2,989/s 46% 199 MB', 1000: '6,925/s 120% 282 MB' };

export async function run() {
  const rows: Record<string, unknown>[] = [];
  const perReading = (w: FleetWindow) => (w.cpuMs * 1000) / Math.max(1, w.readings);
  const cpuPct = (w: FleetWindow) => (w.cpuMs / 1000 / w.seconds) * 100;
  const rate = (w: FleetWindow) => w.readings / w.seconds;
  for (const n of FLEET) {
    const floor = measure('bare', n);
    const requested = n * (1000 / 100);
    const row = (what: string, ours: FleetWindow, target: string, met: string) => ({
      instruments: what,
      seed: SEED[n] ?? '-',
      'readings/s (requested)': `${Math.round(rate(ours))} (${requested})`,
      'missed %': r1(Math.max(0, 100 - (rate(ours) / requested) * 100)),
      'CPU %': r1(cpuPct(ours)),
      'main thread %': r1(ours.mainThread * 100),
      'RSS MB': Math.round(ours.rssMaxMb),
      'loop p99 ms': Number.isFinite(ours.loopP99Ms) ? r1(ours.loopP99Ms) : '-',
      'µs/reading': r1(perReading(ours)),
      'floor µs/reading': r1(perReading(floor)),
      'floor CPU %': r1(cpuPct(floor)),
      ratio: r1(perReading(ours) / perReading(floor)),
      target,
      met,
    });
    const ours = measure('daqd', n);
    const ratioMet = perReading(ours) / perReading(floor) <= 3 ? 'yes' : 'no';
    rows.push(row(`${n}`, ours, 'ratio ≤ 3', ratioMet));
    // The lab's figures: the same fleet in a real daqd process (no bench harness or tsx in it).
    if (n === 1000) {
      const real = measure('process', n);
      const met = rate(real) >= requested * 0.999 && cpuPct(real) < 50 && real.rssMaxMb < 200 && perReading(real) / perReading(floor) <= 3;
      rows.push(row(`${n} (a real daqd process)`, real, 'all readings, CPU < 50 %, RSS < 200 MB, ratio ≤ 3', met ? 'yes' : 'no'));
    }
  }
  console.table(rows);
  console.log(
    `daqd's code in these runs: ${ran.has('dist') ? 'compiled dist/ (what npm start runs)' : ''}${ran.size > 1 ? ' and ' : ''}${ran.has('tsx') ? 'the sources through tsx (dist/ missing or stale: npm run build:dist; tsx costs a few per cent more CPU)' : ''}`,
  );
  const idle = measure('idle', IDLE_N, 0) as unknown as { heapKbPerInstrument: number; rssKbPerInstrument: number };
  const life = FLEET.map((n) => ({ n, ...(measure('lifecycle', n, 0) as unknown as { allReadyMs: number; stopMs: number }) }));
  return [
    ...life.map((l) => ({
      what: `${l.n} instruments: start-up to all polling / shutdown, ms`,
      seed: l.n === 1000 ? '1355 / 1944 (before #25, same bench)' : '-',
      ours: `${Math.round(l.allReadyMs)} / ${Math.round(l.stopMs)}`,
      target: 'linear in instruments',
      met: '-',
    })),
    {
      what: `memory per connected idle instrument (${IDLE_N}, heap after GC)`,
      seed: '-',
      ours: `${r1(idle.heapKbPerInstrument)} KB heap, ${r1(idle.rssKbPerInstrument)} KB RSS`,
      target: '< 100 KB',
      met: idle.rssKbPerInstrument < 100 && idle.heapKbPerInstrument < 100 ? 'met' : 'NOT MET',
    },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(await run());
  process.exit(0);
}
