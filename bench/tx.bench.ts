/**
 * Issue #18's figures, in one process on simulated Newport 1830-C meters paced at 9600 baud, with
 * persistence on (temp file, fsync, rename, directory fsync):
 *
 * 1. tx.commit of 10 operations (5 adds + 5 sets), including the wait for the new meters to be
 *    ready, every set confirmed by read-back, and the one atomic write. Seed target < 500 ms, ours
 *    < 50 ms. Floors measured in the same run: an atomic write of the same file, and the devices'
 *    own exchange time (one W? round trip on a fresh paced link) x the exchanges the commit needs.
 * 2. Checkpoint (device read-back of the 5 set meters) and a failing commit's restore: the same 10
 *    ops plus an 11th (an instrument on a port that does not exist) that fails at its readiness wait.
 *
 * Run alone: node --import tsx bench/tx.bench.ts   (ROUNDS=10 to change the count)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import { driver as newportDriver } from '../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../src/drivers/newport_1830c/simulator.js';
import { atomicWriteFile } from '../src/persistence/atomic-write.js';
import { QueuedLink, lineReply } from '../src/transport/link.js';
import { SimTransport } from '../src/transport/sim-transport.js';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const METERS = 5;

function config(): string {
  let text = `[application.dynamic_config]\nenable_persistence = true\nenable_hot_reload = false\n`;
  for (let i = 0; i < METERS; i++) text += `\n[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 1000\n\n[instruments.pm${i}.params]\nwavelength_nm = 800\n`;
  return text;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

async function exchangeFloor(n: number): Promise<number[]> {
  const transport = new SimTransport({ serial: newportDriver.serial, pacing: true });
  transport.attach(new Newport1830cSimulator({ noise: 0 }));
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: 960 });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await link.request({ write: 'W?\n', reply: lineReply('\n') });
    out.push(performance.now() - t0);
  }
  await transport.close();
  return out;
}

async function until(probe: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function run(): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-txbench-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(configPath, config());
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }) });
  const commits: number[] = [];
  const checkpoints: number[] = [];
  const failing: number[] = [];
  const writes: number[] = [];
  try {
    await until(() => daemon.listInstruments().every((i) => i.state === 'ready'), 10_000, 'meters ready');
    const stage10 = async (round: number, extra = false) => {
      const { id } = await daemon.tx.begin('bench');
      for (let i = 0; i < METERS; i++) await daemon.tx.stage(id, { type: 'instrument.add', id: `new${round}_${i}`, config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 1000, params: { wavelength_nm: 900 + i } } });
      for (let i = 0; i < METERS; i++) await daemon.tx.stage(id, { type: 'instrument.set', id: `pm${i}`, params: { wavelength_nm: 700 + ((round * 7 + i) % 300) } });
      if (extra) await daemon.tx.stage(id, { type: 'instrument.add', id: `gone${round}`, config: { driver: 'newport_1830c', port: '/dev/daqd-bench-no-such-port' } });
      return id;
    };
    const cleanup = async (round: number) => {
      for (let i = 0; i < METERS; i++) await daemon.submit({ type: 'instrument.remove', id: `new${round}_${i}` }, 'bench').catch(() => {});
    };
    for (let round = 0; round < ROUNDS + 1; round++) {
      const id = await stage10(round);
      const t0 = performance.now();
      const r = await daemon.tx.commit(id, { timeout_s: 10 }, 'bench');
      const ms = performance.now() - t0;
      if (round > 0) {
        // round 0 warms up
        commits.push(ms);
        checkpoints.push(r.checkpointMs as number);
      }
      const text = readFileSync(configPath, 'utf8');
      const w0 = performance.now();
      await atomicWriteFile(join(dir, 'floor.toml'), text);
      writes.push(performance.now() - w0);
      await cleanup(round);
    }
    for (let round = 100; round < 100 + Math.max(3, Math.floor(ROUNDS / 2)); round++) {
      const id = await stage10(round, true);
      const t0 = performance.now();
      await daemon.tx.commit(id, { timeout_s: 10 }, 'bench').then(
        () => {
          throw new Error('the failing commit succeeded');
        },
        () => undefined,
      );
      failing.push(performance.now() - t0);
    }
    const exchange = await exchangeFloor(30);
    // Device I/O the commit cannot avoid, in sequence: the checkpoint reads run in parallel (one
    // exchange's worth); per set meter the write and its read-back, one meter after another (the one
    // apply path sets instruments in order); the 5 new meters connect in parallel: count one connect's
    // worth, ~3 exchanges (identify, wavelength, read-back).
    const exchanges = 1 + METERS * 2 + 3;
    const floorSum = percentile(exchange, 50) * exchanges;
    const rows = [
      { what: `tx.commit, 10 ops (5 adds + 5 sets), ready + confirmed + fsync (ms, n=${commits.length})`, seed: '< 500', target: '< 50', p50: r2(percentile(commits, 50)), p99: r2(percentile(commits, 99)) },
      { what: 'floor: atomic write of the same file (ms)', seed: '-', target: '-', p50: r2(percentile(writes, 50)), p99: r2(percentile(writes, 99)) },
      { what: `floor: devices' own exchanges, ${exchanges} x one W? round trip at 9600 baud (ms)`, seed: '-', target: '-', p50: r2(floorSum), p99: r2(percentile(exchange, 99) * exchanges) },
      { what: 'ratio: commit / (exchanges + atomic write), p50', seed: '-', target: '-', p50: r2(percentile(commits, 50) / (floorSum + percentile(writes, 50))), p99: '-' },
      { what: 'checkpoint of the 5 set meters (device read-back) (ms)', seed: '-', target: '-', p50: r2(percentile(checkpoints, 50)), p99: r2(percentile(checkpoints, 99)) },
      { what: `failing commit: 10 ops applied, 11th fails, everything restored (ms, n=${failing.length})`, seed: '-', target: '-', p50: r2(percentile(failing, 50)), p99: r2(percentile(failing, 99)) },
    ];
    console.log(`tx commit: ${METERS} simulated Newport meters paced at 9600 baud, persistence on; one W? exchange p50 ${r2(percentile(exchange, 50))} ms`);
    return rows;
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
  process.exit(0);
}
