/**
 * Issue #15's figures, in one process on simulators paced at their real baud rates:
 *
 * 1. Trip -> safe bytes at the actuator: the sensor's first over-limit reading (the event the
 *    interlock acts on) -> the safe command (`1PA0`) reaching the ESP300 simulator. Idle, and
 *    during a long move of the same controller (the move is aborted first: `1ST`/`2ST` go out as
 *    urgent traffic, then the safe move). Floor: one exchange on that link (`1TP?` round trip on a
 *    fresh link at the same baud), measured in the same run.
 * 2. Set latency on instrument B (a Newport meter) while instrument A (the stage) is in a 10 s
 *    move, against the same set when A is idle. A single global queue made B wait for A's move.
 *
 * Run alone: node --import tsx bench/safety.bench.ts   (TRIPS=30 SETS=200 to change the counts)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import type { DaemonEvent } from '../src/core/events.js';
import { Newport1830cSimulator } from '../src/drivers/newport_1830c/simulator.js';
import { Esp300Simulator } from '../src/drivers/esp300/simulator.js';
import { esp300Driver } from '../src/drivers/esp300/index.js';
import { QueuedLink, lineReply } from '../src/transport/link.js';
import { SimTransport } from '../src/transport/sim-transport.js';

const TRIPS = Number(process.env.TRIPS ?? 20);
const SETS = Number(process.env.SETS ?? 100);

const CONFIG = `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

# The sensor: 1 mW of light, attenuated to 1 uW at start.
[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 20
sim = { power_w = 1e-3, noise = 0 }

[instruments.pm.params]
attenuator = true

[instruments.ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 1000
sim = { noise = 0 }

# The actuator: a beam block on axis 1 of a two-axis controller (19200 baud).
[instruments.stage]
driver = "esp300"
port = "sim"
axes = [1, 2]
poll_interval_ms = 100

[instruments.stage.params]
axis1_velocity = 2.0
axis2_velocity = 2.0

[modules.guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "axis1_position"
value = 0.0
tolerance = 0.01

[modules.guard.roles]
sensor = "pm"
actuator = "stage"
`;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Captures simulator instances the daemon creates, and when lines reach them. */
function instrumentSimulators() {
  const newports: Newport1830cSimulator[] = [];
  const esps: Esp300Simulator[] = [];
  const lines: { line: string; at: number }[] = [];
  const np = Newport1830cSimulator.prototype as unknown as { receive(d: Buffer): void };
  const ep = Esp300Simulator.prototype as unknown as { receive(d: Buffer): void };
  const npReceive = np.receive;
  const epReceive = ep.receive;
  np.receive = function (this: Newport1830cSimulator, d: Buffer) {
    if (!newports.includes(this)) newports.push(this);
    npReceive.call(this, d);
  };
  ep.receive = function (this: Esp300Simulator, d: Buffer) {
    if (!esps.includes(this)) esps.push(this);
    const at = performance.now();
    for (const line of d.toString('latin1').split(/\r?\n/)) if (line.trim()) lines.push({ line: line.trim(), at });
    epReceive.call(this, d);
  };
  return {
    newports,
    esps,
    lines,
    restore() {
      np.receive = npReceive;
      ep.receive = epReceive;
    },
  };
}

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One exchange on a fresh ESP300 link at its real baud: the floor of "safe bytes within one exchange". */
async function exchangeFloor(n: number): Promise<number[]> {
  const transport = new SimTransport({ serial: esp300Driver.serial, pacing: true });
  transport.attach(new Esp300Simulator({ axes: [1, 2] }));
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: 1920 });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await link.request({ write: '1TP?\r', reply: lineReply('\r\n') });
    out.push(performance.now() - t0);
  }
  await transport.close();
  return out;
}

export async function run(): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-safety-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(configPath, CONFIG);
  const sims = instrumentSimulators();
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }) });
  try {
    await until(() => daemon.listInstruments().every((i) => i.state === 'ready'), 10_000, 'instruments ready');
    await until(() => sims.newports.length >= 2 && sims.esps.length >= 1, 5000, 'simulators');
    const stage = sims.esps[0]!;
    const pm = daemon.getInstrument('pm');
    void pm;

    /** The first over-limit reading of pm after `from`, as the interlock sees it. */
    let overAt = 0;
    const off = daemon.events.subscribe((e: DaemonEvent) => {
      if (e.type === 'reading' && e.instrument === 'pm' && typeof e.values.power === 'number' && e.values.power > 1e-4 && overAt === 0) overAt = performance.now();
    });

    const stops: number[] = [];
    const trip = async (duringMove: boolean): Promise<number> => {
      if (duringMove) {
        void daemon.submit({ type: 'instrument.set', id: 'stage', params: { axis1_position: 20 }, persist: false }, 'bench').catch(() => {});
        await until(() => stage.isMoving(1), 5000, 'the stage to move');
      }
      const mark = sims.lines.length;
      overAt = 0;
      await daemon.submit({ type: 'instrument.set', id: 'pm', params: { attenuator: false }, persist: false }, 'bench');
      await until(() => sims.lines.slice(mark).some((l) => /^1PA0(\.0*)?$/.test(l.line)), 5000, 'the safe move');
      const safe = sims.lines.slice(mark).find((l) => /^1PA0(\.0*)?$/.test(l.line))!;
      const took = safe.at - overAt;
      const stop = sims.lines.slice(mark).find((l) => /^1ST$/.test(l.line));
      if (duringMove && stop) stops.push(stop.at - overAt);
      // Back to safe light, reset the latch, wait until the stage is still.
      await daemon.submit({ type: 'instrument.set', id: 'pm', params: { attenuator: true }, persist: false }, 'bench');
      await until(() => {
        const v = daemon.getInstrument('pm').lastReading?.values.power;
        return typeof v === 'number' && v < 1e-4;
      }, 5000, 'the sensor back within the limit');
      await until(() => !stage.isMoving(1) && !stage.isMoving(2), 30_000, 'the stage to stop');
      await daemon.submit({ type: 'module.reset', id: 'guard' }, 'bench');
      return took;
    };

    const idleTrips: number[] = [];
    for (let i = 0; i < TRIPS; i++) idleTrips.push(await trip(false));
    const movingTrips: number[] = [];
    for (let i = 0; i < TRIPS; i++) movingTrips.push(await trip(true));
    off();
    const floor = await exchangeFloor(50);

    // Set latency on ref, idle vs while the stage moves for 10 s (20 mm at 2 mm/s).
    const setRef = async (i: number) => {
      const t0 = performance.now();
      await daemon.submit({ type: 'instrument.set', id: 'ref', params: { wavelength_nm: 600 + (i % 400) }, persist: false }, 'bench');
      return performance.now() - t0;
    };
    const idleSets: number[] = [];
    for (let i = 0; i < SETS; i++) idleSets.push(await setRef(i));
    await daemon.submit({ type: 'instrument.set', id: 'stage', params: { axis1_position: 0 }, persist: false }, 'bench').catch(() => {});
    const move = daemon.submit({ type: 'instrument.set', id: 'stage', params: { axis2_position: 20 }, persist: false }, 'bench').catch(() => {});
    await until(() => stage.isMoving(2), 5000, 'the long move');
    const busySets: number[] = [];
    for (let i = 0; i < SETS && stage.isMoving(2); i++) busySets.push(await setRef(i));
    daemon.abortInstrument('stage', 'bench');
    await move;

    const rows = [
      { what: 'trip -> safe bytes at the actuator, idle (ms)', seed: '-', p50: r2(percentile(idleTrips, 50)), p99: r2(percentile(idleTrips, 99)), floor_p50: r2(percentile(floor, 50)), ratio_p50: r2(percentile(idleTrips, 50) / percentile(floor, 50)) },
      { what: 'trip -> stop bytes (1ST) during a long move of the same controller (ms)', seed: '27 s (behind the move)', p50: r2(percentile(stops, 50)), p99: r2(percentile(stops, 99)), floor_p50: r2(percentile(floor, 50)), ratio_p50: r2(percentile(stops, 50) / percentile(floor, 50)) },
      { what: 'trip -> safe move (1PA0) during that move, after the axis is at rest (ms)', seed: '27 s (behind the move)', p50: r2(percentile(movingTrips, 50)), p99: r2(percentile(movingTrips, 99)), floor_p50: r2(percentile(floor, 50)), ratio_p50: r2(percentile(movingTrips, 50) / percentile(floor, 50)) },
      { what: `set on B, A idle (ms, n=${idleSets.length})`, seed: '-', p50: r2(percentile(idleSets, 50)), p99: r2(percentile(idleSets, 99)), floor_p50: '-', ratio_p50: '-' },
      { what: `set on B while A is in a 10 s move (ms, n=${busySets.length})`, seed: '7.9 s', p50: r2(percentile(busySets, 50)), p99: r2(percentile(busySets, 99)), floor_p50: r2(percentile(idleSets, 50)), ratio_p50: r2(percentile(busySets, 50) / percentile(idleSets, 50)) },
    ];
    console.log(`safety lane and per-instrument lanes: ${TRIPS} trips each way, paced simulators (ESP300 19200 baud, Newport 9600); floor = one 1TP? exchange on a fresh ESP300 link / B's idle set`);
    console.table(rows);
    return [];
  } finally {
    sims.restore();
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
