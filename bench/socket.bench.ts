/**
 * Request rate on the command socket for reads: `daemon.status` and `instrument.get` against a real
 * daqd child process running the shipped optics-bench config (8 simulated instruments polling, 3
 * modules), on one connection and on 20 at once, each connection with one request in flight (a
 * script waiting for each answer); daemon.status also with 32 in flight (pipelined), for reference.
 *
 * The floor, measured in the same run with the same client code: a minimal newline-JSON-RPC server
 * in a child Node process on a Unix socket that parses each line and answers `{"ok":true}`. The
 * ratio ours/floor is the share of the socket's bare capacity daqd delivers; issue 25's target is
 * >= 0.5 ("within 2x of a bare server") for the one-in-flight rows. The seed column is the ratio
 * before issue 25: 0.26-0.39 for daemon.status as the issue reports it, and (here ...) the range
 * this bench gave for the seed's daqd in six runs on the shared 2-core machine the change was made
 * on, where other work came and went (hence medians of rounds taken in turn, and wide ranges).
 *
 * The same-answer floor is the same bare server sending daqd's own answer (2.5 kB for status): the
 * most any server can deliver for that answer with this client, which parses every byte. On that
 * machine it was 0.23-0.46 of the {"ok":true} floor for status, so the >= 0.5 target is out of reach
 * for status whatever daqd does; "ours / same-answer" says how close daqd is to that limit.
 *
 * Where the time went (seed): daemon.status built a view of every instrument and module per call
 * (~120 us of ~150-200 us daqd CPU per request); now that aggregate is reused while nothing in it
 * changed (src/core/status-memo.ts), and the reused parts' JSON text is made once
 * (src/rpc/json-text.ts): ~32 us of daqd CPU per request, most of it the stringify of the fresh
 * parts and the socket write. instrument.get builds its view and parameter list per call
 * (Daemon.describeInstrument, the instrument supervisor): unchanged here.
 *
 * Run alone: node --import tsx -e "import('./bench/socket.bench.ts').then(m => m.run()).then(() => process.exit(0))"
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DaqClient } from '../src/client/client.js';
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

/** Requests per second over `connections` connections, each keeping `inFlight` requests outstanding. */
async function rate(socketPath: string, method: string, params: unknown, connections: number, inFlight: number): Promise<number> {
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

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function startFloorServer(path: string, canned: Record<string, unknown>): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['-e', FLOOR_SERVER, path, JSON.stringify(canned)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitUntil(() => out.includes('ready'), 10_000, 'the floor server');
  return async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
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
    stopFloor = await startFloorServer(floorPath, answers);
    for (const c of CASES) {
      const params = c.method === 'instrument.get' ? getParams : undefined;
      const runs: [number, number, number][] = [];
      for (let i = 0; i < ROUNDS; i++) {
        runs.push([
          await rate(daemon.socketPath, c.method, params, c.connections, c.inFlight),
          await rate(floorPath, 'ping', undefined, c.connections, c.inFlight),
          await rate(floorPath, c.method, params, c.connections, c.inFlight),
        ]);
      }
      const [ours, floor, sameSize] = [0, 1, 2].map((k) => median(runs.map((r) => r[k]!))) as [number, number, number];
      const ratio = Math.round((ours / floor) * 100) / 100;
      rows.push({
        measure: `${c.method} req/s, ${c.connections} connection${c.connections > 1 ? 's' : ''}, ${c.inFlight} in flight each`,
        'seed ours/floor': c.seed,
        'ours req/s': Math.round(ours),
        'floor req/s': Math.round(floor),
        'ours / floor': ratio,
        target: c.inFlight === 1 ? '>= 0.5' : '-',
        met: c.inFlight === 1 ? (ratio >= 0.5 ? 'yes' : 'no') : '-',
        'same-answer floor req/s': Math.round(sameSize),
        'ours / same-answer': Math.round((ours / sameSize) * 100) / 100,
      });
    }
    const bytes = (m: string) => JSON.stringify(answers[m]).length;
    console.log(
      `Socket request rate for reads on the shipped config: daemon.status (${bytes('daemon.status')}-byte result), instrument.get pm_sample (${bytes('instrument.get')} bytes).`,
    );
    console.log('floor = bare JSON-line server answering {"ok":true}; same-answer floor = the same server sending daqd\'s own answer (stringified per request); same client for all');
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
