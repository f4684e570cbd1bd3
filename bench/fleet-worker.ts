/**
 * One measurement of bench/fleet.bench.ts, in a process of its own (so CPU, RSS and event-loop delay
 * are this process's alone). Prints one JSON line.
 *
 *   node --import tsx bench/fleet-worker.ts daqd N SECONDS   a Daemon with N simulated Newport
 *       1830-C meters (paced at 9600 baud, as `port = "sim"` runs) polled every 100 ms
 *   node --import tsx bench/fleet-worker.ts process N SECONDS   the same fleet in a real daqd child
 *       process (bin/daqd.js, as `npm start` runs it: no tsx, no bench harness in its memory), measured
 *       from /proc: CPU and RSS of that process, readings from its poll counts
 *   node --import tsx bench/fleet-worker.ts bare N SECONDS   the floor: N bare loops doing the same
 *       exchanges (D? then Q?, every 100 ms) against the same simulators on the same SimTransport,
 *       with no link, driver, actor, event or service
 *   node --import tsx bench/fleet-worker.ts idle N           heap and RSS with N connected instruments
 *       that do not poll (poll_interval_ms = 1 h), after N = 0 in the same process is subtracted
 *   node --import tsx bench/fleet-worker.ts lifecycle N      Daemon.start, every instrument ready, and
 *       stop of N polling instruments, in ms (quadratic before issue #25: xstate children)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuMs, rssMb } from './proc.js';
import { pino } from 'pino';
import type { Daemon as DaemonClass } from '../src/core/daemon.js';

/**
 * daqd's code as a lab runs it: the compiled dist/ when it is up to date (what `npm start` runs,
 * bin/launch.js), else the sources through tsx, which wraps every closure it creates in a naming
 * helper and so adds a few per cent to closure-heavy paths. The floor loads the same SimTransport
 * and simulator from the same place. `code` in the output says which ran.
 */
const { freshBuild } = (await import('../bin/launch.js' as string)) as { freshBuild: (name: string) => string | null };
const CODE: 'dist' | 'tsx' = freshBuild('core/daemon') ? 'dist' : 'tsx';
async function load<T>(name: string): Promise<T> {
  const built = CODE === 'dist' ? freshBuild(name) : null;
  return (await import(built ? pathToFileURL(built).href : `../src/${name}.ts`)) as T;
}
const { Daemon } = await load<typeof import('../src/core/daemon.js')>('core/daemon');
const { SimTransport } = await load<typeof import('../src/transport/sim-transport.js')>('transport/sim-transport');
const { Newport1830cSimulator } = await load<typeof import('../src/drivers/newport_1830c/simulator.js')>('drivers/newport_1830c/simulator');
const { DaqClient } = await load<typeof import('../src/client/client.js')>('client/client');
type Daemon = DaemonClass;

const [mode = 'daqd', nArg = '100', secondsArg = '30'] = process.argv.slice(2);
const N = Number(nArg);
const SECONDS = Number(secondsArg);
const INTERVAL_MS = 100;
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Window {
  readings: number;
  seconds: number;
  cpuMs: number;
  rssMaxMb: number;
  loopP99Ms: number;
  /** Share of the window the main thread was busy (event-loop utilisation, 0-1): the one core's load. */
  mainThread: number;
}

/** Readings, CPU (all threads of this process), RSS and event-loop delay over SECONDS. */
async function measure(count: () => number): Promise<Window> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
  const r0 = count();
  const elu0 = performance.eventLoopUtilization();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const readings = count() - r0;
  const mainThread = performance.eventLoopUtilization(elu0).utilization;
  clearInterval(sampler);
  delay.disable();
  return { readings, seconds, cpuMs: (cpu.user + cpu.system) / 1000, rssMaxMb: rssMax / 1e6, loopP99Ms: delay.percentile(99) / 1e6, mainThread };
}

function fleetConfig(n: number, pollMs: number): string {
  // Recording on (the default) unless STORAGE=0: what recording costs is the difference.
  let config = `[application.dynamic_config]\nenable_persistence = true\nenable_hot_reload = true\n\n[application.http]\nenabled = false\n\n[application.storage]\nenabled = ${process.env.STORAGE !== '0'}\n\n`;
  for (let i = 0; i < n; i++) config += `[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = ${pollMs}\n\n`;
  return config;
}

async function startFleet(dir: string, n: number, pollMs: number): Promise<Daemon> {
  const configPath = join(dir, 'config', 'default.toml');
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(configPath, fleetConfig(n, pollMs));
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, `.daq-${n}-${pollMs}`), log });
  const deadline = Date.now() + 60_000;
  while (daemon.listInstruments().some((i) => i.state !== 'ready') && Date.now() < deadline) await sleep(100);
  return daemon;
}

async function daqd(): Promise<Window & { notReady: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-fleet-'));
  const daemon = await startFleet(dir, N, INTERVAL_MS);
  const notReady = daemon.listInstruments().filter((i) => i.state !== 'ready').length;
  let readings = 0;
  daemon.events.subscribe((e) => {
    if (e.type === 'reading') readings++;
  });
  await sleep(2000); // settle after the start-up storm
  const w = await measure(() => readings);
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
  return { ...w, notReady };
}

/** The fleet in a real daqd child process, measured from outside (see the header). */
async function daqdProcess(): Promise<Window & { notReady: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-fleet-proc-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(configPath, fleetConfig(N, INTERVAL_MS));
  const socketPath = join(dir, 'daqd.sock');
  const child = spawn(process.execPath, [fileURLToPath(new URL('../bin/daqd.js', import.meta.url)), '--config', configPath, '--state-dir', join(dir, '.daq'), '--socket', socketPath, '--log-level', 'warn'], {
    stdio: 'ignore',
  });
  const pid = child.pid!;
  const exited = new Promise((r) => child.once('close', r));
  try {
    let client: Awaited<ReturnType<typeof DaqClient.connect>> | undefined;
    const deadline = Date.now() + 120_000;
    while (!client && Date.now() < deadline) client = await DaqClient.connect(socketPath).catch(() => sleep(100).then(() => undefined));
    if (!client) throw new Error('daqd did not open its socket within 120 s');
    const status = () => client!.call('daemon.status') as Promise<{ instruments: Record<string, number> }>;
    while (((await status()).instruments.ready ?? 0) < N && Date.now() < deadline) await sleep(200);
    const notReady = N - ((await status()).instruments.ready ?? 0);
    const polls = async () => ((await client!.call('instrument.list')) as { instruments: { polls: number }[] }).instruments.reduce((sum, i) => sum + i.polls, 0);
    await sleep(2000); // settle after the start-up storm
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(pid))), 250);
    const r0 = await polls();
    const c0 = cpuMs(`/proc/${pid}/stat`);
    const m0 = cpuMs(`/proc/${pid}/task/${pid}/stat`);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const used = cpuMs(`/proc/${pid}/stat`) - c0;
    const mainMs = cpuMs(`/proc/${pid}/task/${pid}/stat`) - m0;
    const readings = (await polls()) - r0;
    clearInterval(sampler);
    client.close();
    // Event-loop delay is not visible from outside: NaN, shown as such.
    return { readings, seconds, cpuMs: used, rssMaxMb: rssMax, loopP99Ms: NaN, mainThread: mainMs / 1000 / seconds, notReady };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: the same exchanges on the same simulated lines, by hand. */
async function bare(): Promise<Window> {
  let readings = 0;
  const loops: (() => void)[] = [];
  for (let i = 0; i < N; i++) {
    const t = new SimTransport({ description: `sim ${i}` });
    t.attach(new Newport1830cSimulator({}));
    await t.open();
    let buf = '';
    let waiting: ((line: string) => void) | undefined;
    t.onData((chunk) => {
      buf += chunk.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0 && waiting) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const w = waiting;
        waiting = undefined;
        w(line);
      }
    });
    const query = (q: string) =>
      new Promise<string>((resolve) => {
        waiting = resolve;
        void t.write(Buffer.from(q, 'latin1'));
      });
    let stopped = false;
    const loop = async () => {
      while (!stopped) {
        const started = performance.now();
        const power = Number((await query('D?\n')).trim());
        const status = Number((await query('Q?\n')).trim());
        if (Number.isFinite(power) && Number.isFinite(status)) readings++;
        await sleep(Math.max(0, started + INTERVAL_MS - performance.now()));
      }
    };
    void loop();
    loops.push(() => {
      stopped = true;
    });
  }
  await sleep(2000);
  const w = await measure(() => readings);
  for (const stop of loops) stop();
  return w;
}

/** Heap and RSS per connected, idle instrument: N = 0 first, then N, in this process. */
async function idle(): Promise<{ heapKbPerInstrument: number; rssKbPerInstrument: number; heapMb: number; rssMb: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(50);
    }
    return process.memoryUsage();
  };
  const dir = mkdtempSync(join(tmpdir(), 'daqd-fleet-idle-'));
  const empty = await startFleet(dir, 0, 3_600_000);
  const m0 = await settle();
  await empty.stop();
  const daemon = await startFleet(dir, N, 3_600_000);
  await sleep(500);
  const m1 = await settle();
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    heapKbPerInstrument: (m1.heapUsed - m0.heapUsed) / 1024 / N,
    rssKbPerInstrument: (m1.rss - m0.rss) / 1024 / N,
    heapMb: m1.heapUsed / 1e6,
    rssMb: m1.rss / 1e6,
  };
}

/** Start-up to every instrument ready, and shutdown, of N instruments polling at 10 Hz. */
async function lifecycle(): Promise<{ allReadyMs: number; stopMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-fleet-life-'));
  const t0 = performance.now();
  const daemon = await startFleet(dir, N, INTERVAL_MS); // returns once all are ready
  const allReady = performance.now();
  await sleep(1000);
  const t1 = performance.now();
  await daemon.stop();
  const stopMs = performance.now() - t1;
  rmSync(dir, { recursive: true, force: true });
  return { allReadyMs: allReady - t0, stopMs };
}

const result =
  mode === 'bare' ? await bare() : mode === 'idle' ? await idle() : mode === 'lifecycle' ? await lifecycle() : mode === 'process' ? await daqdProcess() : await daqd();
console.log(JSON.stringify({ ...result, code: CODE }));
process.exit(0);
