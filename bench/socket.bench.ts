/**
 * Request rate on the command socket: `daemon.status` against a real daqd child process running
 * the shipped optics-bench config (8 simulated instruments polling, 3 modules), on one connection
 * and on 20 at once, each connection with one request in flight (a script waiting for each answer)
 * and with 32 in flight (pipelined).
 *
 * The floor, measured in the same run with the same client code: a minimal newline-JSON-RPC server
 * in a child Node process on a Unix socket that parses each line and answers `{"ok":true}`. The
 * ratio ours/floor is the share of the socket's bare capacity daqd delivers.
 *
 * Run alone: node --import tsx -e "import('./bench/socket.bench.ts').then(m => m.run())"
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DaqClient } from '../src/client/client.js';
import { startDaemon, waitUntil } from '../test/helpers/daemon.js';

const WINDOW_MS = 1500;

const FLOOR_SERVER = `
const net = require('node:net');
const server = net.createServer((socket) => {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\\n')) >= 0) {
      const req = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      socket.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { ok: true } }) + '\\n');
    }
  });
  socket.on('error', () => {});
});
server.listen(process.argv[1], () => process.stdout.write('ready\\n'));
`;

/** Requests per second over `connections` connections, each keeping `inFlight` requests outstanding. */
async function rate(socketPath: string, method: string, connections: number, inFlight: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: connections }, () => DaqClient.connect(socketPath)));
  let done = 0;
  let stop = false;
  const loop = async (client: DaqClient) => {
    while (!stop) {
      await client.call(method);
      done++;
    }
  };
  // Warm up, then count over a fixed window.
  await Promise.all(clients.map((c) => c.call(method)));
  const started = performance.now();
  const loops = clients.flatMap((c) => Array.from({ length: inFlight }, () => loop(c)));
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  stop = true;
  const counted = done;
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(loops);
  clients.forEach((c) => c.close());
  return counted / elapsed;
}

async function startFloorServer(path: string): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['-e', FLOOR_SERVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const stopFloor = await startFloorServer(floorPath);
  const rows: Record<string, string | number>[] = [];
  try {
    await waitUntil(async () => (await daemon.call('daemon.status')).instruments.ready === 8, 10_000, 'all 8 instruments ready');
    const statusBytes = JSON.stringify(await daemon.call('daemon.status')).length;
    for (const [connections, inFlight] of [
      [1, 1],
      [1, 32],
      [20, 1],
      [20, 32],
    ] as const) {
      const ours = await rate(daemon.socketPath, 'daemon.status', connections, inFlight);
      const floor = await rate(floorPath, 'ping', connections, inFlight);
      rows.push({
        measure: `daemon.status req/s, ${connections} connection${connections > 1 ? 's' : ''}, ${inFlight} in flight each`,
        seed: '-',
        ours: Math.round(ours),
        'floor req/s': Math.round(floor),
        'ours / floor': Math.round((ours / floor) * 100) / 100,
      });
    }
    console.log(`Socket request rate: daemon.status (${statusBytes}-byte result) on the shipped config; floor = bare JSON-line server, same client`);
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
