/**
 * Parameter update latency, socket request -> bytes on the wire, through a real daqd child process
 * and a real serial port. A Newport 1830-C simulator is served on one end of a socat pty pair in
 * this process; daqd has the other end (`port = "<pty>"`). For each `instrument.set` of
 * wavelength_nm we take the time this process writes the request to daqd's socket and the time the
 * simulator receives the whole `W<nnnn>` line: same process, same clock. The set is then confirmed
 * by the device (status and read-back queries) before the next one is sent.
 *
 * The floor, measured in the same run on the same pty after daqd has stopped: raw `serialport`
 * on both ends, write `W0800\n` on daqd's end -> the line read on the simulator's end (one way, the
 * same path the set takes), and the write -> reply round trip.
 *
 * Where the time goes: bench/wire-marks.mjs, preloaded into daqd, notes when each request reaches
 * daqd's socket and when daqd hands the W line to serialport, which splits the total into
 * client -> daqd socket, daqd's own work, and serialport + pty -> device (clocks comparable across
 * the two processes: performance.timeOrigin + performance.now()).
 *
 * Run alone: node --import tsx -e "import('./bench/latency.bench.ts').then(m => m.run())"
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { Newport1830cSimulator } from '../src/drivers/newport_1830c/simulator.js';
import { serveSimulator } from '../src/sim/serve.js';
import { startDaemon, waitUntil } from '../test/helpers/daemon.js';
import { startPtyPair } from '../test/helpers/pty.js';
import type { DeviceSimulator } from '../src/drivers/types.js';

const SETS = 300;
const FLOOR_ROUNDS = 300;
const WARMUP = 20;

/** Passes bytes to the simulator and notes when each complete `W<nnnn>` line arrived. */
class WireClock implements DeviceSimulator {
  private text = '';
  private readonly waiting = new Map<string, (t: number) => void>();

  constructor(private readonly inner: DeviceSimulator) {}

  /** Resolves with the arrival time of the line `W<nnnn>`. */
  expect(line: string): Promise<number> {
    return new Promise((resolve) => this.waiting.set(line, resolve));
  }

  receive(data: Buffer): void {
    const now = performance.now();
    this.text += data.toString('latin1');
    let nl: number;
    while ((nl = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, nl).trim();
      this.text = this.text.slice(nl + 1);
      const waiter = this.waiting.get(line);
      if (waiter) {
        this.waiting.delete(line);
        waiter(now);
      }
    }
    this.inner.receive(data);
  }

  onSend(listener: (data: Buffer) => void): void {
    this.inner.onSend(listener);
  }

  dispose(): void {
    this.inner.dispose();
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

async function openRaw(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

/** Raw serialport on both ends of the pty: one-way write -> read, and write -> reply round trip. */
async function measureFloor(hostPath: string, devicePath: string): Promise<{ oneWay: number[]; roundTrip: number[] }> {
  const host = await openRaw(hostPath);
  const device = await openRaw(devicePath);
  let deviceText = '';
  let hostText = '';
  let onDeviceLine: ((t: number) => void) | undefined;
  let onHostLine: ((t: number) => void) | undefined;
  device.on('data', (chunk: Buffer) => {
    const now = performance.now();
    deviceText += chunk.toString('latin1');
    if (deviceText.includes('\n')) {
      deviceText = '';
      onDeviceLine?.(now);
      device.write('0800\n'); // what the meter answers to W?
    }
  });
  host.on('data', (chunk: Buffer) => {
    const now = performance.now();
    hostText += chunk.toString('latin1');
    if (hostText.includes('\n')) {
      hostText = '';
      onHostLine?.(now);
    }
  });
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  try {
    for (let i = 0; i < FLOOR_ROUNDS + WARMUP; i++) {
      const arrived = new Promise<number>((resolve) => (onDeviceLine = resolve));
      const answered = new Promise<number>((resolve) => (onHostLine = resolve));
      const t0 = performance.now();
      host.write('W0800\n');
      const t1 = await arrived;
      const t2 = await answered;
      if (i >= WARMUP) {
        oneWay.push(t1 - t0);
        roundTrip.push(t2 - t0);
      }
    }
  } finally {
    await new Promise<void>((resolve) => host.close(() => resolve()));
    await new Promise<void>((resolve) => device.close(() => resolve()));
  }
  return { oneWay, roundTrip };
}

/** p50 / p99 / max of one segment, in ms. */
function spread(xs: number[]) {
  return { p50: r2(percentile(xs, 50)), p99: r2(percentile(xs, 99)), max: r2(Math.max(...xs)) };
}

export async function run(): Promise<void> {
  const marksFile = join(tmpdir(), `daqd-wire-marks-${process.pid}.json`);
  const pty = await startPtyPair();
  const clock = new WireClock(new Newport1830cSimulator({ noise: 0 }));
  const server = await serveSimulator({ path: pty.b, simulators: [clock] });
  const daemon = await startDaemon({
    env: { NODE_OPTIONS: `--import ${new URL('./wire-marks.mjs', import.meta.url).pathname}`, DAQD_BENCH_MARKS: marksFile },
    config: `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "${pty.a}"
poll_interval_ms = 1000
`,
  });
  const toWire: number[] = [];
  const confirmed: number[] = [];
  /** Per measured set: request sent and W line at the device, on the cross-process clock. */
  const sentAt: number[] = [];
  const atDevice: number[] = [];
  try {
    await waitUntil(async () => (await daemon.call('instrument.get', { id: 'pm' })).state === 'ready', 10_000, 'pm on the pty to be ready');
    const client = await daemon.client();
    for (let i = 0; i < SETS + WARMUP; i++) {
      const nm = 400 + (i % 700); // a different value each time: an unchanged value is not sent
      const onWire = clock.expect(`W${String(nm).padStart(4, '0')}`);
      const t0 = performance.now();
      const reply = client.call('instrument.set', { id: 'pm', params: { wavelength_nm: nm } });
      const t1 = await onWire;
      await reply;
      const t2 = performance.now();
      if (i >= WARMUP) {
        toWire.push(t1 - t0);
        confirmed.push(t2 - t0);
        sentAt.push(performance.timeOrigin + t0);
        atDevice.push(performance.timeOrigin + t1);
      }
    }
    client.close();
  } finally {
    await daemon.stop();
    await daemon.dispose();
    await server.close();
  }
  // daqd wrote its marks on exit: the last SETS requests and W writes are the measured sets.
  const marks = JSON.parse(readFileSync(marksFile, 'utf8')) as { requests: number[]; writes: number[] };
  rmSync(marksFile, { force: true });
  const reached = marks.requests.slice(-SETS);
  const written = marks.writes.slice(-SETS);
  let floor: { oneWay: number[]; roundTrip: number[] };
  try {
    floor = await measureFloor(pty.a, pty.b);
  } finally {
    await pty.dispose();
  }

  const floorP50 = percentile(floor.oneWay, 50);
  const floorP99 = percentile(floor.oneWay, 99);
  console.log(`Parameter update latency over a socat pty, ${SETS} sets (after ${WARMUP} warm-up), daqd polling the same port every 1000 ms`);
  console.table([
    {
      measure: 'socket request -> set bytes at the device, p50 ms',
      seed: '< 10',
      ours: r2(percentile(toWire, 50)),
      'floor ms': r2(floorP50),
      'ours / floor': r2(percentile(toWire, 50) / floorP50),
    },
    {
      measure: 'socket request -> set bytes at the device, p99 ms',
      seed: '< 10',
      ours: r2(percentile(toWire, 99)),
      'floor ms': r2(floorP99),
      'ours / floor': r2(percentile(toWire, 99) / floorP99),
    },
    {
      measure: 'socket request -> set bytes at the device, max ms',
      seed: '-',
      ours: r2(Math.max(...toWire)),
      'floor ms': r2(Math.max(...floor.oneWay)),
      'ours / floor': r2(Math.max(...toWire) / Math.max(...floor.oneWay)),
    },
    {
      measure: 'request -> confirmed response (set, status, read-back), p50 ms',
      seed: '-',
      ours: r2(percentile(confirmed, 50)),
      'floor ms': r2(percentile(floor.roundTrip, 50) * 3),
      'ours / floor': r2(percentile(confirmed, 50) / (percentile(floor.roundTrip, 50) * 3)),
    },
    {
      measure: 'request -> confirmed response, p99 ms',
      seed: '-',
      ours: r2(percentile(confirmed, 99)),
      'floor ms': r2(percentile(floor.roundTrip, 99) * 3),
      'ours / floor': r2(percentile(confirmed, 99) / (percentile(floor.roundTrip, 99) * 3)),
    },
  ]);
  console.log('floor: raw serialport on the same pty; one way W0800 -> line read at the far end (rows 1-3), three write -> reply round trips (rows 4-5: the set, Q? and W? exchanges)');
  if (reached.length === SETS && written.length === SETS) {
    console.log('where the time goes (socket request -> set bytes at the device), ms:');
    console.table([
      { segment: 'client -> daqd socket (bench client, unix socket, daqd wake-up)', ...spread(reached.map((t, k) => t - sentAt[k]!)) },
      { segment: 'daqd: request read -> W line handed to serialport', ...spread(written.map((t, k) => t - reached[k]!)) },
      { segment: 'serialport write + pty -> line read by the device (other process)', ...spread(atDevice.map((t, k) => t - written[k]!)) },
    ]);
  } else {
    console.log(`(no breakdown: daqd noted ${reached.length} requests and ${written.length} writes for ${SETS} sets)`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
