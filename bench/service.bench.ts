/**
 * Issue #20's figures: how long `systemctl start` and `systemctl reload` take with daqd, measured
 * the way systemd sees them, against `node -e 0` (the floor: starting Node at all) in the same run.
 *
 * 1. Cold start to READY=1: spawn of `bin/daqd.js` on the shipped config (a temp copy; its
 *    simulated optics bench) -> READY=1 received on a datagram socket held by /usr/bin/python3
 *    (test/service/notify-listener.py), both on CLOCK_MONOTONIC. Through the real helper
 *    (/usr/bin/systemd-notify), as under systemd.
 * 2. Reload as ExecReload= does it: `daqctl reload --wait` (a process: its own start-up included)
 *    wall time, and the socket request `config.reload {wait: true}` alone (daqd's part: re-read,
 *    validate, diff, apply, RELOADING=1 and READY=1 read by the listener).
 *
 * Run alone: node --import tsx bench/service.bench.ts   (STARTS=5 RELOADS=10 to change the counts)
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DaqClient } from '../src/client/client.js';
import { NotifyListener, monoUsec, spawnDaqd } from '../test/service/helpers.js';

const STARTS = Number(process.env.STARTS ?? 5);
const RELOADS = Number(process.env.RELOADS ?? 10);
const ROOT = resolve(import.meta.dirname, '..');
const DAQCTL = join(ROOT, 'bin/daqctl.js');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r1 = (x: number) => Math.round(x * 10) / 10;

function wallMs(cmd: string, args: string[]): { ms: number; status: number | null; out: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ms: performance.now() - t0, status: r.status, out: `${r.stdout}${r.stderr}` };
}

export async function run() {
  const floor: number[] = [];
  for (let i = 0; i < STARTS; i++) floor.push(wallMs(process.execPath, ['-e', '0']).ms);

  const dir = mkdtempSync(join(tmpdir(), 'daqd-bench-svc-'));
  const starts: number[] = [];
  const reloads: number[] = [];
  const requests: number[] = [];
  let daqctlNote = '';
  try {
    cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
    const configPath = join(dir, 'config/default.toml');
    const p = { dir, configPath, socketPath: join(dir, '.daq/daqd.sock') };
    const listener = await NotifyListener.start(join(dir, 'notify.sock'));
    try {
      for (let i = 0; i < STARTS; i++) {
        const from = listener.messages.length;
        const t0 = monoUsec();
        const d = spawnDaqd(p, { NOTIFY_SOCKET: listener.path });
        const ready = await listener.waitFor((m, idx) => idx >= from && m.fields.READY === '1', 30_000, 'READY=1');
        starts.push((ready.t - t0) / 1000);
        if (i < STARTS - 1) {
          d.proc.kill('SIGTERM');
          await d.exited;
          continue;
        }
        // The last daqd serves the reload figures.
        const original = readFileSync(configPath, 'utf8');
        for (let j = 0; j < RELOADS; j++) {
          writeFileSync(configPath, original.replace(/^(poll_interval_ms = )(\d+)/m, (_m, k, v) => `${k}${Number(v) + (j % 2 ? 0 : 1)}`));
          const r = wallMs(process.execPath, [DAQCTL, '--socket', p.socketPath, 'reload', '--wait']);
          if (r.status !== 0) {
            // daqctl without --wait yet: the same request without the flag (config.reload answers once applied).
            daqctlNote = ` (daqctl reload --wait refused: ${r.out.trim().split('\n')[0]}; measured daqctl reload)`;
            const plain = wallMs(process.execPath, [DAQCTL, '--socket', p.socketPath, 'reload']);
            reloads.push(plain.ms);
          } else reloads.push(r.ms);
          writeFileSync(configPath, original.replace(/^(poll_interval_ms = )(\d+)/m, (_m, k, v) => `${k}${Number(v) + 2 + (j % 2)}`));
          const c = await DaqClient.connect(p.socketPath);
          const t1 = performance.now();
          await c.call('config.reload', { wait: true });
          requests.push(performance.now() - t1);
          c.close();
        }
        d.proc.kill('SIGTERM');
        await d.exited;
      }
    } finally {
      listener.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const nodeCtl = wallMs(process.execPath, [DAQCTL, '--help']).ms;
  const rows = [
    { what: `node -e 0 (floor, ms, n=${floor.length})`, median: r1(median(floor)), min: r1(Math.min(...floor)), ratio_to_floor: 1 },
    { what: `cold start -> READY=1, shipped config (ms, n=${starts.length})`, median: r1(median(starts)), min: r1(Math.min(...starts)), ratio_to_floor: r1(median(starts) / median(floor)) },
    { what: `daqctl reload --wait, whole process (ms, n=${reloads.length})${daqctlNote}`, median: r1(median(reloads)), min: r1(Math.min(...reloads)), ratio_to_floor: r1(median(reloads) / median(floor)) },
    { what: `config.reload {wait} request alone: apply + RELOADING/READY read (ms, n=${requests.length})`, median: r1(median(requests)), min: r1(Math.min(...requests)), ratio_to_floor: r1(median(requests) / median(floor)) },
    { what: 'daqctl --help (its start-up alone, ms, n=1)', median: r1(nodeCtl), min: r1(nodeCtl), ratio_to_floor: r1(nodeCtl / median(floor)) },
  ];
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
  process.exit(0);
}
