/**
 * Hot reload, measured on a real daqd child:
 *
 * 1. Time from renaming an edited config over the file to the change being applied (the
 *    config.reloaded event's arrival on a subscribed socket), minus the debounce, for 10, 100 and
 *    1000 simulated instruments (long poll intervals, so the big configs measure the reload, not
 *    polling). Split into detection (rename -> reload starts, minus the debounce) and the reload
 *    itself (the event's durationMs). Two edits: a parameter that goes to the device live (9600-baud
 *    paced simulator: the write and its confirmation take ~10 ms of line time), and a poll interval
 *    (no device I/O). Floor, same run, same file: a bare fs.watch sees the rename, then the file is
 *    read, parsed and validated once in this process - what any reload has to do at least.
 * 2. The same edit applied by restarting the daemon (what a user would otherwise do): the longest
 *    gap in an unchanged instrument's readings, hot reload vs restart. Floor: its poll interval.
 *
 * Run alone: node --import tsx -e "import('./bench/reload.bench.ts').then(m => m.run())"
 */
import { watch, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../src/config/load.js';
import { driver as newport } from '../src/drivers/newport_1830c/index.js';
import { QueuedLink } from '../src/transport/link.js';
import { SimTransport } from '../src/transport/sim-transport.js';
import { lineRate } from '../src/transport/serial-settings.js';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../test/helpers/daemon.js';

const DEBOUNCE_MS = 100;
const EDITS = 7;

interface Edit {
  kind: 'param' | 'poll';
  k: number;
}

function bigConfig(n: number, edit?: Edit): string {
  const lines = [`# ${n} simulated meters`, '[application.dynamic_config]', `hot_reload_debounce_ms = ${DEBOUNCE_MS}`, ''];
  for (let i = 0; i < n; i++) {
    const poll = edit?.kind === 'poll' && i === 0 ? 600_000 + edit.k + 1 : 600_000;
    const wl = edit?.kind === 'param' && i === 0 ? 700 + edit.k : 800;
    lines.push(`[instruments.m${i}]`, 'driver = "newport_1830c"', 'port = "sim"', `poll_interval_ms = ${poll}`, '');
    lines.push(`[instruments.m${i}.params]`, `wavelength_nm = ${wl} # meter ${i}`, '');
  }
  return lines.join('\n');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

function saveByRename(path: string, text: string): number {
  const tmp = `${path}.bench-tmp`;
  writeFileSync(tmp, text);
  const at = Date.now();
  renameSync(tmp, path);
  return at;
}

async function allReady(d: DaemonHandle, n: number): Promise<void> {
  await waitUntil(
    async () => (await d.call('daemon.status')).instruments.ready === n,
    120_000,
    `${n} instruments ready`,
  );
}

/** Floor: fs.watch on the directory sees a rename, then read + parse + validate once, here. */
async function floorMs(dir: string, text: string): Promise<number> {
  const path = join(dir, 'floor.toml');
  writeFileSync(path, text);
  const samples: number[] = [];
  for (let k = 0; k < EDITS; k++) {
    const seen = new Promise<void>((resolve) => {
      const w = watch(dir, (_e, name) => {
        if (name === 'floor.toml') {
          w.close();
          resolve();
        }
      });
    });
    const t0 = performance.now();
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    await seen;
    loadConfigText(readFileSync(path, 'utf8'), path);
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

/**
 * Floor for the device part of a live param edit: the newport driver's wavelength set (write,
 * status check, read-back) on a simulator paced at 9600 baud, in this process, no daemon around it.
 */
async function setFloorMs(): Promise<number> {
  const transport = new SimTransport({ serial: newport.serial, pacing: true });
  const config = { id: 'floor', params: {}, options: newport.optionsSchema.parse({}) };
  transport.attach(newport.createSimulator(config));
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: lineRate(newport.serial), timeoutMs: 3000 });
  const driver = newport.create({ link, config, log: pino({ level: 'silent' }) });
  await driver.init();
  const samples: number[] = [];
  for (let k = 0; k < EDITS + 1; k++) {
    const t0 = performance.now();
    await driver.setParam('wavelength_nm', 700 + (k % 2) * 100);
    if (k > 0) samples.push(performance.now() - t0);
  }
  transport.dispose();
  return median(samples);
}

interface SizeRow {
  instruments: number;
  edit: string;
  'detect ms (p50)': number;
  'reload ms (p50)': number;
  'rename->applied - debounce ms (p50)': number;
  'floor ms (p50)': number;
  'ours / floor': number;
  seed: string;
}

async function measureSize(n: number): Promise<SizeRow[]> {
  const daemon = await startDaemon({ config: bigConfig(n), readyTimeoutMs: 120_000 });
  const rows: SizeRow[] = [];
  try {
    await allReady(daemon, n);
    const rec = await EventRecorder.subscribe(daemon, { types: ['config.'] });
    const fileFloor = await floorMs(daemon.dir, bigConfig(n));
    const deviceFloor = await setFloorMs();
    for (const kind of ['param', 'poll'] as const) {
      const detect: number[] = [];
      const reload: number[] = [];
      const total: number[] = [];
      // One warm-up edit first (JIT, first validation of the driver schemas), not counted.
      for (let k = -1; k < EDITS; k++) {
        const from = rec.events.length;
        let arrived = 0;
        // Stamp the arrival in the notification itself (rec.waitFor looks only every 10 ms).
        const off = rec.client.onNotification((method) => {
          if (method.startsWith('config.reload') && !arrived) arrived = Date.now();
        });
        const renamedAt = saveByRename(daemon.configPath, bigConfig(n, { kind, k: k + 1 }));
        const ev = await rec.waitFor((e) => rec.events.indexOf(e) >= from && e.method.startsWith('config.reload'), 30_000, 'the reload');
        off();
        if (ev.method !== 'config.reloaded') throw new Error(`reload failed: ${JSON.stringify(ev.params)}`);
        if (k < 0) continue;
        detect.push(Date.parse(ev.params.at) - renamedAt - DEBOUNCE_MS);
        reload.push(ev.params.durationMs);
        total.push(arrived - renamedAt - DEBOUNCE_MS);
      }
      const ours = median(total);
      const floor = kind === 'param' ? fileFloor + deviceFloor : fileFloor;
      rows.push({
        instruments: n,
        edit: kind === 'param' ? 'one param (live, device I/O)' : 'one poll interval (no I/O)',
        'detect ms (p50)': r1(median(detect)),
        'reload ms (p50)': r1(median(reload)),
        'rename->applied - debounce ms (p50)': r1(ours),
        'floor ms (p50)': r1(floor),
        'ours / floor': r1(ours / floor),
        seed: 'detect < 1000, reload < 200',
      });
    }
    rec.close();
  } finally {
    await daemon.dispose();
  }
  return rows;
}

// ---- 2. hot reload vs restart: the gap in an unchanged instrument's readings ----

const STEADY_POLL_MS = 50;

function benchConfig(variant: 0 | 1): string {
  const meter = (id: string, poll: number, wl: number) =>
    `[instruments.${id}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = ${poll}\n\n[instruments.${id}.params]\nwavelength_nm = ${wl}\n\n`;
  let text = `[application.dynamic_config]\nhot_reload_debounce_ms = ${DEBOUNCE_MS}\n\n`;
  text += meter('steady', STEADY_POLL_MS, 800);
  for (let i = 0; i < 8; i++) text += meter(`m${i}`, 1000, variant === 1 && i === 0 ? 633 : 800);
  if (variant === 1) text += meter('added', 1000, 800);
  return text;
}

/** Arrival times (ms) of `steady` readings. */
function steadyArrivals(rec: EventRecorder, into: number[]): void {
  rec.client.onNotification((method, params) => {
    if (method === 'reading' && params.instrument === 'steady') into.push(performance.now());
  });
}

function maxGap(times: number[], from: number, to: number): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) if (times[i]! >= from && times[i - 1]! <= to) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

async function measureGap(): Promise<{ hot: number; restart: number; hotSeqBreaks: number; restartMissed: number }> {
  // Hot reload.
  let daemon = await startDaemon({ config: benchConfig(0) });
  let hot = 0;
  let hotSeqBreaks = 0;
  try {
    await allReady(daemon, 9);
    const rec = await EventRecorder.subscribe(daemon, { types: ['reading', 'config.'] });
    const times: number[] = [];
    steadyArrivals(rec, times);
    await waitUntil(() => times.length >= 10, 10_000, 'steady readings');
    const t0 = performance.now();
    saveByRename(daemon.configPath, benchConfig(1));
    await rec.waitFor((e) => e.method === 'config.reloaded', 10_000, 'the reload');
    const n = times.length;
    await waitUntil(() => times.length >= n + 10, 10_000, 'steady readings after the reload');
    hot = maxGap(times, t0, performance.now());
    const seqs = rec.events.filter((e) => e.method === 'reading' && e.params.instrument === 'steady').map((e) => e.params.seq as number);
    hotSeqBreaks = seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1).length;
    rec.close();
  } finally {
    await daemon.stop();
  }
  // Restart: stop, write the edit, start again on the same directory, first reading of steady.
  const dir = daemon.dir;
  daemon = await startDaemon({ config: benchConfig(0), dir });
  let restart = 0;
  let restartMissed = 0;
  try {
    await allReady(daemon, 9);
    const rec = await EventRecorder.subscribe(daemon, { types: ['reading'] });
    const times: number[] = [];
    steadyArrivals(rec, times);
    await waitUntil(() => times.length >= 10, 10_000, 'steady readings');
    await daemon.stop();
    const last = times.at(-1)!;
    rec.close();
    daemon = await startDaemon({ config: benchConfig(1), dir });
    const rec2 = await EventRecorder.subscribe(daemon, { types: ['reading'] });
    const after: number[] = [];
    steadyArrivals(rec2, after);
    await waitUntil(() => after.length >= 1, 20_000, 'the first steady reading after the restart');
    restart = after[0]! - last;
    restartMissed = Math.max(0, Math.round(restart / STEADY_POLL_MS) - 1);
    rec2.close();
  } finally {
    await daemon.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return { hot, restart, hotSeqBreaks, restartMissed };
}

export async function run(): Promise<void> {
  const rows: SizeRow[] = [];
  for (const n of [10, 100, 1000]) rows.push(...(await measureSize(n)));
  console.log(`Hot reload: rename of an edited config -> change applied, minus the ${DEBOUNCE_MS} ms debounce (${EDITS} edits each, p50)`);
  console.table(rows);

  const g = await measureGap();
  console.log(`Same edit (one param changed, one instrument added) by hot reload vs by restarting daqd: unchanged instrument polled every ${STEADY_POLL_MS} ms`);
  console.table([
    {
      measure: 'longest gap in the unchanged instrument\'s readings, ms',
      seed: '-',
      'hot reload': r1(g.hot),
      restart: r1(g.restart),
      'restart / hot': r1(g.restart / g.hot),
      'floor (poll interval)': STEADY_POLL_MS,
      'hot / floor': r1(g.hot / STEADY_POLL_MS),
    },
    {
      measure: 'missed polls (seq breaks)',
      seed: '-',
      'hot reload': g.hotSeqBreaks,
      restart: g.restartMissed,
      'restart / hot': '-',
      'floor (poll interval)': 0,
      'hot / floor': '-',
    },
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
