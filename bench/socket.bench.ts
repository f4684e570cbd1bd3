/**
 * Request rate on the command socket for reads: `daemon.status` and `instrument.get` against a real
 * daqd child process running the shipped optics-bench config (8 simulated instruments polling, 3
 * modules), on one connection and on 20 at once, each connection with one request in flight (a
 * script waiting for each answer); daemon.status also with 32 in flight (pipelined), for reference.
 *
 * The floor, measured in the same run with the same client: a minimal newline-JSON-RPC server in a
 * child Node process on a Unix socket that parses each line and answers `{"ok":true}`. The ratio
 * ours/floor is the share of the socket's bare capacity daqd delivers; issue 25's target is >= 0.5
 * ("within 2x of a bare server") for the one-in-flight rows. The same-answer floor is the same bare
 * server sending daqd's own answer (2.5 kB for status, 1.1 kB for instrument.get), stringified per
 * request: the most any server can deliver for that answer; "ours / same-answer" says how close
 * daqd is to it. `CPU µs/req` is each server process's own CPU per answer (/proc), the cost
 * without the round trip.
 *
 * The client is a load generator (raw sockets, pre-encoded requests, answers counted by newline,
 * the first on each connection parsed and checked): a few µs per answer. Until this stop the bench
 * used DaqClient, which parses every answer; on a 2-core machine that client was the bottleneck
 * (its JSON.parse of a 2.5 kB answer capped every server's rate), so the ratios it gave (last
 * column) measured the client as much as daqd. The seed column is the ratio before issue 25 as
 * the issue reports it, and as this bench gave it with DaqClient on the shared machine.
 *
 * Where the time went (seed): daemon.status built a view of every instrument and module per call
 * (~120 us of ~150-200 us daqd CPU per request); now that aggregate is reused while nothing in it
 * changed (src/core/status-memo.ts), and the reused parts' JSON text is made once
 * (src/rpc/json-text.ts). instrument.get's `{id}` params skip zod (src/rpc/fast-params.ts, the
 * same verdict) and its parameter list is built without temporary objects.
 * Fourth stop: status requests read in one pass of the event loop share one answer made after they
 * all arrived (src/rpc/answer-batch.ts), whose text reuses the last one's where a part has the same
 * content (src/rpc/json-snapshot.ts) and is one flat string; instrument.get answers the same object
 * while the instrument's stamp holds (DaemonViews.describeInstrument), its text made once.
 *
 * Run alone: node --import tsx -e "import('./bench/socket.bench.ts').then(m => m.run()).then(() => process.exit(0))"
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DaqClient } from '../src/client/client.js';
import { cpuMs } from './proc.js';
import { startDaemon, waitUntil } from '../test/helpers/daemon.js';

/** Each rate is the median of ROUNDS windows, daqd's and the floors' taken in turn (the machine is shared: load comes and goes). */
const ROUNDS = 3;
const WINDOW_MS = 600;
const WARMUP_MS = 200;

/** What each row measures, and the seed's ratio ours/floor for it (see the header). */
const CASES = [
  { method: 'daemon.status', connections: 1, inFlight: 1, seed: '0.26-0.39 (here 0.02-0.18)' },
  { method: 'daemon.status', connections: 20, inFlight: 1, seed: '0.26-0.39 (here 0.07-0.15)' },
  { method: 'instrument.get', connections: 1, inFlight: 1, seed: '(here 0.32-0.39)' },
  { method: 'instrument.get', connections: 20, inFlight: 1, seed: '(here 0.22-0.27)' },
  { method: 'daemon.status', connections: 1, inFlight: 32, seed: '(here 0.06-0.09)' },
  { method: 'daemon.status', connections: 20, inFlight: 32, seed: '(here 0.06-0.08)' },
] as const;

/**
 * The bare server. A request whose method is in the canned answers (argv[2], JSON) is answered with
 * that answer, stringified per request like any server would: the same-size floor, what a server
 * that does nothing but send daqd's very answer delivers. Anything else gets {"ok":true}.
 */
const FLOOR_SERVER = `
const net = require('node:net');
const canned = JSON.parse(process.argv[2]);
const server = net.createServer((socket) => {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\\n')) >= 0) {
      const req = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const result = Object.hasOwn(canned, req.method) ? canned[req.method] : { ok: true };
      socket.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result }) + '\\n');
    }
  });
  socket.on('error', () => {});
});
server.listen(process.argv[1], () => process.stdout.write('ready\\n'));
`;

/** Requests per second over `connections` connections, each keeping `inFlight` requests outstanding (the DaqClient, which parses every answer). */
async function clientRate(socketPath: string, method: string, params: unknown, connections: number, inFlight: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: connections }, () => DaqClient.connect(socketPath)));
  let done = 0;
  let stop = false;
  const loop = async (client: DaqClient) => {
    while (!stop) {
      await client.call(method, params);
      done++;
    }
  };
  // Warm up under the same load (JIT, lazily compiled paths, the client's own), then count over a fixed window.
  await Promise.all(clients.map((c) => c.call(method, params)));
  const loops = clients.flatMap((c) => Array.from({ length: inFlight }, () => loop(c)));
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const before = done;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  stop = true;
  const counted = done - before;
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(loops);
  clients.forEach((c) => c.close());
  return counted / elapsed;
}

/** CPU time (user + system) a process has used so far, in ms. */
const cpuMsOf = (pid: number) => cpuMs(`/proc/${pid}/stat`);

interface LoadResult {
  /** Answers per second over the window. */
  rate: number;
  /** The server's CPU per answer over the window, in microseconds. */
  serverUs: number;
}

/**
 * The load generator: raw sockets, pre-encoded request lines, and answers counted by their newline
 * without parsing them (the first answer on each connection is parsed and must be a result, so a
 * server answering errors fast cannot pass). It costs a few microseconds per answer, far less than
 * any server under test, so the rate it sees is the server's and the round trip's, not its own.
 */
async function loadRate(socketPath: string, serverPid: number, method: string, params: unknown, connections: number, inFlight: number): Promise<LoadResult> {
  const line = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) }) + '\n');
  const batch = Buffer.concat(Array.from({ length: inFlight }, () => line));
  let done = 0;
  let stop = false;
  let outstanding = 0;
  let allIdle: (() => void) | undefined;
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Socket>((resolveSocket, reject) => {
          const socket = createConnection(socketPath, () => resolveSocket(socket));
          socket.once('error', reject);
        }),
    ),
  );
  // The first answer on each connection, parsed: it must be a result.
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((ok, fail) => {
          let text = '';
          const onData = (chunk: Buffer) => {
            text += chunk.toString('utf8');
            const nl = text.indexOf('\n');
            if (nl < 0) return;
            socket.off('data', onData);
            const answer = JSON.parse(text.slice(0, nl)) as { result?: unknown; error?: unknown };
            if (answer.result === undefined) fail(new Error(`${method} answered ${text.slice(0, 200)}`));
            else ok();
          };
          socket.on('data', onData);
          socket.write(line);
        }),
    ),
  );
  for (const socket of sockets) {
    socket.on('data', (chunk: Buffer) => {
      let answers = 0;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) answers++;
      done += answers;
      outstanding -= answers;
      if (!stop) {
        socket.write(answers === inFlight ? batch : Buffer.concat(Array.from({ length: answers }, () => line)));
        outstanding += answers;
      } else if (outstanding === 0) allIdle?.();
    });
    socket.write(batch);
    outstanding += inFlight;
  }
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const before = done;
  const cpuBefore = cpuMsOf(serverPid);
  const started = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const counted = done - before;
  const cpu = cpuMsOf(serverPid) - cpuBefore;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  if (outstanding > 0) await new Promise<void>((r) => (allIdle = r));
  sockets.forEach((s) => s.destroy());
  return { rate: counted / elapsed, serverUs: (cpu * 1000) / counted };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function startFloorServer(path: string, canned: Record<string, unknown>): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', FLOOR_SERVER, path, JSON.stringify(canned)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitUntil(() => out.includes('ready'), 10_000, 'the floor server');
  return {
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function run(): Promise<void> {
  const shipped = readFileSync(resolve(import.meta.dirname, '../config/default.toml'), 'utf8');
  const daemon = await startDaemon({ config: shipped });
  const dir = mkdtempSync(join(tmpdir(), 'daqd-bench-socket-'));
  const floorPath = join(dir, 'floor.sock');
  let stopFloor = async () => {};
  const rows: Record<string, string | number>[] = [];
  try {
    await waitUntil(async () => (await daemon.call('daemon.status')).instruments.ready === 8, 10_000, 'all 8 instruments ready');
    const getParams = { id: 'pm_sample' };
    const answers: Record<string, unknown> = { 'daemon.status': await daemon.call('daemon.status'), 'instrument.get': await daemon.call('instrument.get', getParams) };
    const floorServer = await startFloorServer(floorPath, answers);
    stopFloor = floorServer.stop;
    const daqdPid = daemon.proc.pid!;
    for (const c of CASES) {
      const params = c.method === 'instrument.get' ? getParams : undefined;
      const runs: { ours: LoadResult; floor: LoadResult; same: LoadResult; oursClient: number; floorClient: number }[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        runs.push({
          ours: await loadRate(daemon.socketPath, daqdPid, c.method, params, c.connections, c.inFlight),
          floor: await loadRate(floorPath, floorServer.pid, 'ping', undefined, c.connections, c.inFlight),
          same: await loadRate(floorPath, floorServer.pid, c.method, params, c.connections, c.inFlight),
          oursClient: await clientRate(daemon.socketPath, c.method, params, c.connections, c.inFlight),
          floorClient: await clientRate(floorPath, 'ping', undefined, c.connections, c.inFlight),
        });
      }
      const med = (pick: (r: (typeof runs)[number]) => number) => median(runs.map(pick));
      const [ours, floor, same] = [med((r) => r.ours.rate), med((r) => r.floor.rate), med((r) => r.same.rate)];
      const ratio = round2(ours / floor);
      rows.push({
        measure: `${c.method}, ${c.connections} conn × ${c.inFlight} in flight`,
        'seed ours/floor': c.seed,
        'ours req/s': Math.round(ours),
        'floor req/s': Math.round(floor),
        'ours / floor': ratio,
        target: c.inFlight === 1 ? '>= 0.5' : '-',
        met: c.inFlight === 1 ? (ratio >= 0.5 ? 'yes' : 'no') : '-',
        'ours / same-answer': round2(ours / same),
        'CPU µs/req ours': Math.round(med((r) => r.ours.serverUs)),
        'floor': Math.round(med((r) => r.floor.serverUs)),
        'same-answer': Math.round(med((r) => r.same.serverUs)),
        'DaqClient ours / floor': round2(med((r) => r.oursClient) / med((r) => r.floorClient)),
      });
    }
    const bytes = (m: string) => JSON.stringify(answers[m]).length;
    console.log(
      `Socket request rate for reads on the shipped config: daemon.status (${bytes('daemon.status')}-byte result), instrument.get pm_sample (${bytes('instrument.get')} bytes).`,
    );
    console.log(
      'floor = bare JSON-line server answering {"ok":true}; same-answer = the same server sending daqd\'s own answer (stringified per request). Rates from the light load generator; CPU µs/req = the server process\'s CPU per answer (/proc); last column = the same ratio seen through DaqClient, which parses every answer.',
    );
    console.table(rows);
  } finally {
    await stopFloor();
    rmSync(dir, { recursive: true, force: true });
    await daemon.stop();
    await daemon.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
