/**
 * Start-up costs a person or a script pays at every call, measured from outside the process
 * (spawn -> exit, wall clock), A and floor alternating so a drift of the machine hits both:
 *
 * - `daqctl status` against a real daqd on the shipped config: bin/daqctl.js as installed (the
 *   compiled dist/ when it is up to date), and forced through tsx (DAQD_FROM_SOURCE=1, what every
 *   call cost before dist/). Floor: `node -e 0`.
 * - daqd cold start to socket ready (a connect and daemon.status answered), on the shipped config.
 *   Floor: a node process that listens on a Unix socket, spawn -> connect.
 *
 * Medians of RUNS runs after one warm-up. Run alone: npm run bench -- cli
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DaqClient } from '../src/client/client.js';
import { DAQCTL_BIN, DAQD_BIN, startDaemon, waitUntil } from '../test/helpers/daemon.js';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = 15;
const START_RUNS = 5;

function wall(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? resolvePromise(performance.now() - started) : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => Math.round(x * 10) / 10;

/** Runs `a` and `b` alternately RUNS times after a warm-up each; medians. */
async function paired(a: () => Promise<number>, b: () => Promise<number>, runs = RUNS): Promise<{ a: number; b: number; ratio: number }> {
  await a();
  await b();
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const x = await a();
    const y = await b();
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return { a: median(as), b: median(bs), ratio: median(ratios) };
}

const FLOOR_LISTENER = `require('node:net').createServer(() => {}).listen(process.argv[1])`;

/** spawn -> a connection accepted and (for daqd) daemon.status answered. */
async function coldStart(command: (socket: string, dir: string) => string[], ask: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-bench-start-'));
  const socket = join(dir, '.daq', 'daqd.sock');
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'default.toml'), readFileSync(join(ROOT, 'config/default.toml'), 'utf8'));
  mkdirSync(join(dir, '.daq'), { recursive: true });
  const started = performance.now();
  const child = spawn(process.execPath, command(socket, dir), { cwd: dir, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitUntil(
      async () => {
        try {
          const c = await DaqClient.connect(socket);
          try {
            if (ask) await c.call('daemon.status');
          } finally {
            c.close();
          }
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      'the socket',
    );
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, string | number>[]> {
  const { freshBuild } = (await import(join(ROOT, 'bin/launch.js'))) as { freshBuild: (name: string) => string | null };
  const compiled = freshBuild('cli/daqctl-main') !== null;
  const daemon = await startDaemon({ config: readFileSync(join(ROOT, 'config/default.toml'), 'utf8') });
  const rows: Record<string, string | number>[] = [];
  try {
    await waitUntil(async () => (await daemon.call('daemon.status')).instruments.ready >= 1, 20_000, 'the bench config');
    const floor = () => wall(['-e', '0']);
    const status = (env?: NodeJS.ProcessEnv) => () => wall([DAQCTL_BIN, '--socket', daemon.socketPath, 'status'], env);
    const ours = await paired(status(), floor);
    rows.push({
      what: `daqctl status wall, median of ${RUNS} (${compiled ? 'compiled dist/' : 'tsx: dist/ missing or stale, npm run build:dist'})`,
      seed: '-',
      'ours ms': ms(ours.a),
      'floor ms (node -e 0)': ms(ours.b),
      'ours / floor': ms(ours.ratio),
    });
    const tsx = await paired(status({ ...process.env, DAQD_FROM_SOURCE: '1' }), floor, 5);
    rows.push({ what: 'same through tsx (DAQD_FROM_SOURCE=1: every call before dist/)', seed: '-', 'ours ms': ms(tsx.a), 'floor ms (node -e 0)': ms(tsx.b), 'ours / floor': ms(tsx.ratio) });
  } finally {
    await daemon.stop();
    await daemon.dispose();
  }
  const start = await paired(
    () => coldStart(() => [DAQD_BIN, '--log-level', 'warn'], true),
    () => coldStart((socket) => ['-e', FLOOR_LISTENER, socket], false),
    START_RUNS,
  );
  rows.push({
    what: `daqd cold start to socket ready (shipped config, 8 instruments), median of ${START_RUNS}`,
    seed: '-',
    'ours ms': ms(start.a),
    'floor ms (node -e 0)': `${ms(start.b)} (node listening on a socket)`,
    'ours / floor': ms(start.ratio),
  });
  console.log('Start-up wall time, spawn -> exit (daqctl) or spawn -> socket answers (daqd), A and floor alternating');
  console.table(rows);
  return [];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
