/**
 * The instrument.set hot path in one process, without the socket and the pty: Daemon.submit of
 * wavelength_nm on a `sim` Newport 1830-C (unpaced, persistence off) -> the `W<nnnn>` line
 * reaching the simulator ("to device"), and -> the submit resolving after the status and
 * read-back exchanges ("confirmed"). Also reports the event loop's delay and V8 collections
 * during the run, because the tail of the socket bench is made of those.
 *
 * Run alone: node --import tsx bench/set-path.bench.ts  (SETS=20000 for a longer run)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import { Newport1830cSimulator } from '../src/drivers/newport_1830c/simulator.js';

const SETS = Number(process.env.SETS ?? 3000);
const WARMUP = 500;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Notes when each `W<nnnn>` line reaches any Newport simulator in this process. */
function watchWavelengthLines(): { expect(line: string): Promise<number>; restore(): void } {
  const proto = Newport1830cSimulator.prototype as unknown as { receive(data: Buffer): void };
  const original = proto.receive;
  const waiting = new Map<string, (t: number) => void>();
  proto.receive = function (this: unknown, data: Buffer) {
    const now = performance.now();
    const text = data.toString('latin1').trim();
    const waiter = waiting.get(text);
    if (waiter) {
      waiting.delete(text);
      waiter(now);
    }
    original.call(this, data);
  };
  return {
    expect: (line) => new Promise((resolve) => waiting.set(line, resolve)),
    restore: () => {
      proto.receive = original;
    },
  };
}

export async function run(): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-setpath-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(
    configPath,
    `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 1000

[instruments.pm.sim]
noise = 0
`,
  );
  const wire = watchWavelengthLines();
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'info' }, pino.destination('/dev/null')), simPacing: false });
  const toDevice: number[] = [];
  const confirmed: number[] = [];
  const gcs: { kind: number; ms: number }[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration });
  });
  try {
    const deadline = Date.now() + 5000;
    while (daemon.getInstrument('pm').state !== 'ready') {
      if (Date.now() > deadline) throw new Error('pm never became ready');
      await new Promise((r) => setTimeout(r, 5));
    }
    let heapBefore = 0;
    for (let i = 0; i < SETS + WARMUP; i++) {
      if (i === WARMUP) {
        loop.enable();
        gcObserver.observe({ entryTypes: ['gc'] });
        heapBefore = process.memoryUsage().heapUsed;
      }
      const nm = 400 + (i % 700);
      const onWire = wire.expect(`W${String(nm).padStart(4, '0')}`);
      const t0 = performance.now();
      const done = daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: nm } }, 'bench');
      const t1 = await onWire;
      await done;
      const t2 = performance.now();
      if (i >= WARMUP) {
        toDevice.push(t1 - t0);
        confirmed.push(t2 - t0);
      }
    }
    loop.disable();
    gcObserver.disconnect();
    const scavenges = gcs.filter((g) => g.kind === 1);
    const rows = [
      { measure: 'submit -> W line at the simulator', p50: r3(percentile(toDevice, 50)), p99: r3(percentile(toDevice, 99)), max: r3(Math.max(...toDevice)) },
      { measure: 'submit -> confirmed (set, Q?, W?)', p50: r3(percentile(confirmed, 50)), p99: r3(percentile(confirmed, 99)), max: r3(Math.max(...confirmed)) },
      {
        measure: 'event loop delay (ms)',
        p50: r3(loop.percentile(50) / 1e6),
        p99: r3(loop.percentile(99) / 1e6),
        max: r3(loop.max / 1e6),
      },
    ];
    console.log(`in-process instrument.set, ${SETS} sets after ${WARMUP} warm-up, sim unpaced, persistence off`);
    console.table(rows);
    console.log(
      `GC: ${scavenges.length} scavenges (one per ${Math.round(SETS / Math.max(1, scavenges.length))} sets, ` +
        `p50 ${r3(percentile(scavenges.map((g) => g.ms), 50) || 0)} ms, max ${r3(Math.max(0, ...scavenges.map((g) => g.ms)))} ms), ` +
        `${gcs.length - scavenges.length} other; heap ${((process.memoryUsage().heapUsed - heapBefore) / 1024).toFixed(0)} KB change`,
    );
    return [];
  } finally {
    wire.restore();
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
