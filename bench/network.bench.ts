/**
 * Issue #24's figures: SCPI instruments on `tcp://127.0.0.1:<port>` (the SCPI simulator served by
 * serveSimulatorTcp, one server per instrument, all in this process), against the raw `node:net`
 * round-trip floor measured in the same run (a bare server answering each line, a bare client with
 * no-delay, same query and reply sizes).
 *
 * 1. One query round trip: raw net vs QueuedLink over TcpTransport (the link's own cost).
 * 2. Set latency through the daemon (instrument.set: command + SYST:ERR? + read-back = one write
 *    and two round trips) vs two raw round trips.
 * 3. Polling throughput: N instruments, each on its own connection, polled every 10 ms (the
 *    minimum poll interval), readings/s delivered vs what they asked for, and vs raw round trips/s
 *    over N concurrent sockets.
 *
 * Run alone: node --import tsx bench/network.bench.ts   (RTTS=2000 SETS=200 POLLERS=20 POLL_S=3)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import type { DaemonEvent } from '../src/core/events.js';
import { ScpiSimulator } from '../src/drivers/scpi/simulator.js';
import { scpiOptionsSchema } from '../src/drivers/scpi/options.js';
import { serveSimulatorTcp, type SimulatorTcpServer } from '../src/sim/serve-tcp.js';
import { QueuedLink, lineReply } from '../src/transport/link.js';
import { TcpTransport } from '../src/transport/tcp-transport.js';

const RTTS = Number(process.env.RTTS ?? 2000);
const SETS = Number(process.env.SETS ?? 200);
const POLLERS = Number(process.env.POLLERS ?? 20);
const POLL_S = Number(process.env.POLL_S ?? 3);
const HOST = '127.0.0.1';
const QUERY = 'MEAS:VOLT:DC?\n';
const REPLY = '+1.50012345E+00\n'; // what the simulator answers: same size

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** A bare line server: answers each "\n"-terminated line with REPLY. */
async function rawServer(): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = 0;
    socket.on('data', (d: Buffer) => {
      for (const b of d) if (b === 0x0a) pending++;
      if (pending > 0) {
        socket.write(REPLY.repeat(pending));
        pending = 0;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: HOST, port: 0 }, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A bare client: one query, wait for the "\n", repeat (n times, or until `untilMs` on performance.now()). Round-trip times in ms. */
async function rawClient(port: number, n: number, untilMs = Infinity): Promise<number[]> {
  const socket = new Socket();
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.connect({ host: HOST, port }, resolve).once('error', reject));
  const out: number[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    if (d.includes(0x0a)) wake?.();
  });
  for (let i = 0; i < n && performance.now() < untilMs; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      wake = resolve;
      socket.write(QUERY);
    });
    out.push(performance.now() - t0);
  }
  socket.destroy();
  return out;
}

const scpiOptions = {
  idn_contains: 'SIM',
  sim: { idn: 'DAQD,SCPI-SIM,0,1.0', values: { volts: 1.5 }, noise: 1e-4 },
  channels: { volts: { query: 'MEAS:VOLT:DC?', unit: 'V' } },
  controls: { range: { command: 'VOLT:RANG {value}', query: 'VOLT:RANG?', min: 0.1, max: 1000 } },
};

function config(ports: (number | 'sim')[], pollMs: (i: number) => number): string {
  const lines = ['[application.dynamic_config]', 'enable_persistence = false', 'enable_hot_reload = false', ''];
  // The same instrument on the built-in simulator (no TCP, pacing off): the daemon's own set cost.
  lines.push('[instruments.simref]', 'driver = "scpi"', 'port = "sim"', 'idn_contains = "SIM"', 'poll_interval_ms = 1000', `sim = { idn = "DAQD,SCPI-SIM,0,1.0" }`);
  lines.push('[instruments.simref.channels.volts]', 'query = "MEAS:VOLT:DC?"', '[instruments.simref.controls.range]', 'command = "VOLT:RANG {value}"', 'query = "VOLT:RANG?"', 'min = 0.1', 'max = 1000', '');
  ports.forEach((port, i) => {
    lines.push(
      `[instruments.dmm${i}]`,
      'driver = "scpi"',
      port === 'sim' ? 'port = "sim"' : `port = "tcp://${HOST}:${port}"`,
      ...(port === 'sim' ? ['sim = { idn = "DAQD,SCPI-SIM,0,1.0" }'] : []),
      `idn_contains = "SIM"`,
      `poll_interval_ms = ${pollMs(i)}`,
      'timeout_ms = 1000',
      `[instruments.dmm${i}.channels.volts]`,
      'query = "MEAS:VOLT:DC?"',
      'unit = "V"',
      `[instruments.dmm${i}.controls.range]`,
      'command = "VOLT:RANG {value}"',
      'query = "VOLT:RANG?"',
      'min = 0.1',
      'max = 1000',
      '',
    );
  });
  return lines.join('\n');
}

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function servePool(n: number): Promise<{ servers: SimulatorTcpServer[]; sims: ScpiSimulator[] }> {
  const options = scpiOptionsSchema.parse(scpiOptions);
  const sims = Array.from({ length: n }, () => new ScpiSimulator(options));
  const servers = await Promise.all(sims.map((sim) => serveSimulatorTcp({ simulators: [sim], host: HOST })));
  return { servers, sims };
}

export async function run(): Promise<unknown[]> {
  const rows: Record<string, unknown>[] = [];

  // 1. One round trip: raw floor vs QueuedLink over TcpTransport against the simulator.
  const raw = await rawServer();
  const rawRtts = await rawClient(raw.port, RTTS);
  const floorP50 = percentile(rawRtts, 50);
  const { servers: oneServer, sims: oneSim } = await servePool(1);
  const transport = new TcpTransport({ host: HOST, port: oneServer[0]!.port });
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 1000 });
  const line = lineReply('\n');
  const linkRtts: number[] = [];
  for (let i = 0; i < RTTS; i++) {
    const t0 = performance.now();
    await link.request({ write: QUERY, reply: line });
    linkRtts.push(performance.now() - t0);
  }
  await transport.close();
  await oneServer[0]!.close();
  oneSim[0]!.dispose();
  rows.push(
    { what: `raw net round trip, 1 socket (ms, n=${RTTS})`, p50: r3(floorP50), p99: r3(percentile(rawRtts, 99)), 'per s': Math.round(1000 / (rawRtts.reduce((a, b) => a + b, 0) / RTTS)), floor_p50: '-', ratio_p50: '-' },
    { what: `QueuedLink over TcpTransport -> scpi simulator (ms, n=${RTTS})`, p50: r3(percentile(linkRtts, 50)), p99: r3(percentile(linkRtts, 99)), 'per s': Math.round(1000 / (linkRtts.reduce((a, b) => a + b, 0) / RTTS)), floor_p50: r3(floorP50), ratio_p50: r2(percentile(linkRtts, 50) / floorP50) },
  );

  // Raw throughput over POLLERS concurrent sockets for as long as the polling run below.
  const rawConcurrent = await (async () => {
    const started = performance.now();
    const counts = await Promise.all(Array.from({ length: POLLERS }, async () => (await rawClient(raw.port, Infinity, started + 1000)).length));
    return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - started);
  })();
  await raw.close();

  // The same polling on port = "sim" (pacing off): what the daemon delivers without any TCP.
  const simPerS = await (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-net-bench-sim-'));
    const configPath = join(dir, 'default.toml');
    writeFileSync(configPath, config(Array.from({ length: POLLERS }, () => 'sim' as const), (i) => (i === 0 ? 1000 : 10)));
    const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false });
    try {
      await until(() => daemon.listInstruments().every((i) => i.state === 'ready'), 15_000, 'instruments ready');
      let n = 0;
      const off = daemon.events.subscribe((e: DaemonEvent) => {
        if (e.type === 'reading' && e.instrument !== 'dmm0' && e.instrument !== 'simref') n++;
      });
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, POLL_S * 1000));
      off();
      return (n * 1000) / (performance.now() - t0);
    } finally {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  })();

  // 2 and 3: a daemon with POLLERS scpi instruments over TCP.
  const { servers, sims } = await servePool(POLLERS);
  const dir = mkdtempSync(join(tmpdir(), 'daqd-net-bench-'));
  const configPath = join(dir, 'default.toml');
  // dmm0 polls slowly (its sets are measured); the others every 10 ms.
  writeFileSync(configPath, config(servers.map((s) => s.port), (i) => (i === 0 ? 1000 : 10)));
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false });
  try {
    await until(() => daemon.listInstruments().every((i) => i.state === 'ready'), 15_000, 'instruments ready');

    // Polling throughput.
    let readings = 0;
    const off = daemon.events.subscribe((e: DaemonEvent) => {
      if (e.type === 'reading' && e.instrument !== 'dmm0' && e.instrument !== 'simref') readings++;
    });
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, POLL_S * 1000));
    const perS = (readings * 1000) / (performance.now() - t0);
    off();
    const asked = (POLLERS - 1) * 100;

    // Set latency on dmm0 while the others poll.
    const setsOn = async (id: string) => {
      const out: number[] = [];
      for (let i = 0; i < SETS; i++) {
        const s0 = performance.now();
        await daemon.submit({ type: 'instrument.set', id, params: { range: i % 2 ? 10 : 100 }, persist: false }, 'bench');
        out.push(performance.now() - s0);
      }
      return out;
    };
    const simSets = await setsOn('simref');
    const sets = await setsOn('dmm0');
    rows.push(
      { what: `set on port = "sim" (no TCP, pacing off), same load (ms, n=${SETS})`, p50: r3(percentile(simSets, 50)), p99: r3(percentile(simSets, 99)), 'per s': '-', floor_p50: '-', ratio_p50: '-' },
      { what: `set (command + SYST:ERR? + read-back) over TCP, ${POLLERS - 1} others polling (ms, n=${SETS})`, p50: r3(percentile(sets, 50)), p99: r3(percentile(sets, 99)), 'per s': '-', floor_p50: `${r3(2 * floorP50)} (2 raw RTT)`, ratio_p50: r2(percentile(sets, 50) / (2 * floorP50)) },
      { what: `polling: ${POLLERS - 1} instruments x 100/s asked, port = "sim" (no TCP) (readings/s)`, p50: '-', p99: '-', 'per s': Math.round(simPerS), floor_p50: `${asked} asked`, ratio_p50: r2(simPerS / asked) },
      { what: `polling: the same over TCP, own connection each (readings/s)`, p50: '-', p99: '-', 'per s': Math.round(perS), floor_p50: `${Math.round(simPerS)} (sim)`, ratio_p50: r2(perS / simPerS) },
      { what: `raw net round trips/s over ${POLLERS} concurrent sockets, back to back (ceiling)`, p50: '-', p99: '-', 'per s': Math.round(rawConcurrent), floor_p50: '-', ratio_p50: `polling = ${r3(perS / rawConcurrent)} of it` },
    );
  } finally {
    await daemon.stop();
    await Promise.all(servers.map((s) => s.close()));
    for (const s of sims) s.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`network instruments over TCP loopback (${HOST}), scpi simulator per instrument; floor = raw node:net round trip measured in the same run`);
  console.table(rows);
  return [];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
