/**
 * Issue #19's figures:
 *
 * 1. Snapshot creation (VersionStore.create: sha256 of the text, a unique name, the text and its
 *    metadata written to temp files, both fsynced, renamed, one directory fsync) on generated
 *    commented configs of 10, 100 and 1000 instruments, against the floor measured in the same run:
 *    one atomicWriteFile of the same text. Seed target < 100 ms; ours < 5 ms at 100 instruments.
 *    Also with retention running (snapshot_retention = 10, so every create also prunes one).
 * 2. A rollback against a hot reload of the same difference: 10 simulated Newport meters paced at
 *    9600 baud, the difference is a new wavelength on 5 of them. Reload: the file is rewritten and
 *    config.reload applies it. Rollback: version.rollback to the snapshot holding the other side
 *    (checkpoint read-back, snapshot of the file it replaces, the same apply, the exact text written).
 *
 * Run alone: node --import tsx bench/versions.bench.ts   (N=30 ROUNDS=10 to change the counts)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
import { VersionStore } from '../src/core/versions/store.js';
import { atomicWriteFile } from '../src/persistence/atomic-write.js';

const N = Number(process.env.N ?? 30);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const METERS = 10;
const CHANGED = 5;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

/** A commented config of n instruments, about 260 bytes each (the persist bench's shape). */
function bigConfig(n: number): string {
  let text = '# generated for bench/versions.bench.ts\n[application]\nname = "bench"\n\n[application.dynamic_config]\nenable_hot_reload = false\n';
  for (let i = 0; i < n; i++) {
    text += `\n# meter ${i}: on the bench, row ${i % 10}\n[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 1000   # 1 Hz\n\n[instruments.pm${i}.params]\nwavelength_nm = ${700 + (i % 300)}\nattenuator = false\nfilter = "medium"\n`;
  }
  return text;
}

async function snapshots(n: number): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-verbench-'));
  const store = new VersionStore(join(dir, 'state'), pino({ level: 'silent' }));
  await store.init();
  const base = bigConfig(n);
  const create: number[] = [];
  const retained: number[] = [];
  const floor: number[] = [];
  try {
    for (let i = 0; i < N + 2; i++) {
      const text = `${base}# edit ${i}\n`; // a different text each time (no dedup)
      const f0 = performance.now();
      await atomicWriteFile(join(dir, 'floor.toml'), text);
      const f = performance.now() - f0;
      const t0 = performance.now();
      await store.create(text, { revision: i, cause: 'bench', origin: 'bench', auto: true }, true);
      const c = performance.now() - t0;
      const p0 = performance.now();
      await store.prune(10);
      const p = performance.now() - p0;
      if (i < 2) continue; // warm-up
      floor.push(f);
      create.push(c);
      retained.push(c + p);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const kib = Math.round(Buffer.byteLength(base) / 1024);
  return [
    { what: `snapshot create, ${n} instruments (${kib} KiB) (ms, n=${create.length})`, seed: '< 100', target: n === 100 ? '< 5' : '-', p50: r2(percentile(create, 50)), p99: r2(percentile(create, 99)) },
    { what: `  + retention (keep 10: list and remove one) (ms)`, seed: '-', target: '-', p50: r2(percentile(retained, 50)), p99: r2(percentile(retained, 99)) },
    { what: `  floor: atomicWriteFile of the same text (ms)`, seed: '-', target: '-', p50: r2(percentile(floor, 50)), p99: r2(percentile(floor, 99)) },
    { what: `  ratio create / floor, p50`, seed: '-', target: '-', p50: r2(percentile(create, 50) / percentile(floor, 50)), p99: '-' },
  ];
}

function meters(wavelength: (i: number) => number): string {
  let text = `# ${METERS} meters\n[application.dynamic_config]\nenable_persistence = true\nenable_hot_reload = false\nsnapshot_retention = 50\n`;
  for (let i = 0; i < METERS; i++) text += `\n[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 1000\n\n[instruments.pm${i}.params]\nwavelength_nm = ${wavelength(i)}   # calibration\n`;
  return text;
}

async function until(probe: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rollbackVsReload(): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-verbench-'));
  const configPath = join(dir, 'default.toml');
  const textA = meters(() => 800);
  const textB = meters((i) => (i < CHANGED ? 900 : 800));
  writeFileSync(configPath, textA);
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }) });
  const reloads: number[] = [];
  const rollbacks: number[] = [];
  const checkpoints: number[] = [];
  try {
    await until(() => daemon.listInstruments().every((i) => i.state === 'ready'), 10_000, 'meters ready');
    const a = await daemon.versions.create('side-a', 'bench');
    for (let round = 0; round < ROUNDS + 1; round++) {
      // A -> B by a hot reload of the edited file.
      const t0 = performance.now();
      await atomicWriteFile(configPath, textB);
      await daemon.submit({ type: 'config.reload', source: 'socket' }, 'bench');
      const reload = performance.now() - t0;
      // B -> A by a rollback to the snapshot holding A.
      const t1 = performance.now();
      const r = await daemon.versions.rollback({ id: a.id }, 'bench');
      const rollback = performance.now() - t1;
      if (readFileSync(configPath, 'utf8') !== textA) throw new Error('the rollback did not restore the text');
      if (round === 0) continue; // warm-up
      reloads.push(reload);
      rollbacks.push(rollback);
      checkpoints.push(r.checkpointMs as number);
    }
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    { what: `hot reload, ${CHANGED} of ${METERS} meters change wavelength (write + config.reload) (ms, n=${reloads.length})`, seed: '-', target: '-', p50: r2(percentile(reloads, 50)), p99: r2(percentile(reloads, 99)) },
    { what: `rollback of the same difference (checkpoint + snapshot + apply + exact text) (ms)`, seed: '-', target: '-', p50: r2(percentile(rollbacks, 50)), p99: r2(percentile(rollbacks, 99)) },
    { what: `  of which: checkpoint read-back of the ${CHANGED} meters (ms)`, seed: '-', target: '-', p50: r2(percentile(checkpoints, 50)), p99: r2(percentile(checkpoints, 99)) },
    { what: `  ratio rollback / reload, p50`, seed: '-', target: '-', p50: r2(percentile(rollbacks, 50) / percentile(reloads, 50)), p99: '-' },
  ];
}

export async function run(): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const n of [10, 100, 1000]) rows.push(...(await snapshots(n)));
  rows.push(...(await rollbackVsReload()));
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
  process.exit(0);
}
