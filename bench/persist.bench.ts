/**
 * Cost of one persisted config change (ConfigFile.write: conflict check, render, verify, atomic
 * write) against the floor measured in the same run: atomicWriteFile of the same bytes (write,
 * fsync, rename, directory fsync). Generated commented configs of 10, 100 and 1000 instruments.
 *
 * Issue 25's target: at 1000 instruments within 3x the floor. Before it a change there cost
 * 16.3 ms (set one scalar), ~10x the floor, most of it re-parsing the whole file to verify it;
 * ConfigFile now verifies the lines a change touched (src/persistence/toml-local-verify.ts).
 * `render ms` is the render alone with a full re-parse (what a write without a known base pays),
 * timed in a second pass over the same changes.
 *
 *   node --import tsx bench/persist.bench.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'smol-toml';
import { atomicWriteFile } from '../src/persistence/atomic-write.js';
import { ConfigFile } from '../src/persistence/config-file.js';
import { freezeModel } from '../src/config/model.js';
import { renderConfigChange, renderStats } from '../src/persistence/toml-writer.js';

export interface PersistBenchRow {
  instruments: number;
  change: 'set one scalar' | 'add one instrument';
  fileKiB: number;
  /** Median ms of ConfigFile.write for the change. */
  oursMs: number;
  /** Median ms of ConfigFile.write for the same changes given as unshared deep copies (the full diff). */
  unsharedMs: number;
  /** Median ms of renderConfigChange alone (no I/O), the part of `oursMs` that is ours. */
  renderMs: number;
  /** Median ms of atomicWriteFile of the same bytes. */
  floorMs: number;
  ratio: number;
  seed: string;
  /** The figure issue 25 started from (ms, ConfigFile.write), where one was measured. */
  before?: number;
  /** Issue 25's target for this row, and whether this run met it. */
  target: string;
}

/** Issue 25's starting figure: 1000 instruments, set one scalar. */
const BEFORE: Record<string, number> = { '1000 set one scalar': 16.3 };
const TARGET_RATIO = 3;

/** A config shaped like a lab's: comments above and inline, params sub-tables, a few modules. */
export function generateConfig(instruments: number): string {
  const out = [
    '# Generated benchmark config', '',
    '[application]', 'name = "bench"  # shows in status', 'poll_interval_ms = 250', '',
    '[application.dynamic_config]', 'enable_persistence = true', 'enable_hot_reload = true', '',
  ];
  for (let i = 0; i < instruments; i++) {
    out.push(
      `# Instrument ${i}: power meter on rail ${i % 4}`,
      `[instruments.pm${i}]`, 'driver = "newport_1830c"', `port = "/dev/ttyUSB${i}"`, 'baud = 9600   # vendor default', 'enabled = true', '',
      `[instruments.pm${i}.params]`, 'wavelength_nm = 800', 'gain = 1.0  # unity', `label = "meter ${i}"`, 'channels = [1, 2, 3]', '',
    );
  }
  for (let m = 0; m < Math.max(1, Math.floor(instruments / 20)); m++) {
    out.push(`# Module ${m}`, `[modules.scan${m}]`, 'type = "scan"', '', `[modules.scan${m}.roles]`, `meter = "pm${m}"`, '');
  }
  return out.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

async function measure(dir: string, instruments: number, change: PersistBenchRow['change'], iterations: number): Promise<PersistBenchRow> {
  const path = join(dir, `bench-${instruments}-${change.replace(/ /g, '-')}.toml`);
  const floorPath = join(dir, `floor-${instruments}.toml`);
  const text = generateConfig(instruments);
  writeFileSync(path, text);
  writeFileSync(floorPath, text);
  const file = new ConfigFile(path);
  // The models as the daemon hands them over: path-copied and frozen (Execution.draftInstrument /
  // draftTop, then commit's freezeModel).
  let model = freezeModel(parse(await file.load()) as Record<string, any>);
  const ours: number[] = [];
  const render: number[] = [];
  const floor: number[] = [];
  const changes: Array<{ base: string; prev: unknown; next: unknown }> = [];
  for (let i = 0; i < iterations + 2; i++) {
    const next = freezeModel(changed(model, change, i, instruments));
    const base = file.knownText!;
    const { ms } = await file.write(model, next);
    const written = await readFile(path, 'utf8');
    const f0 = performance.now();
    await atomicWriteFile(floorPath, written);
    const floorMs = performance.now() - f0;
    if (i >= 2) { // first two are warm-up
      ours.push(ms);
      floor.push(floorMs);
      changes.push({ base, prev: model, next });
    }
    model = next;
  }
  // The same changes told as unshared deep copies (a caller that may still edit its models): the
  // writer then diffs its own copy of the whole config against each. On a second file.
  const unsharedPath = join(dir, `unshared-${instruments}-${change.replace(/ /g, '-')}.toml`);
  writeFileSync(unsharedPath, text);
  const unsharedFile = new ConfigFile(unsharedPath);
  await unsharedFile.load();
  const unshared: number[] = [];
  for (const c of changes) unshared.push((await unsharedFile.write(structuredCloneKeepingDates(c.prev), structuredCloneKeepingDates(c.next))).ms);
  // The same changes rendered with a full re-parse, afterwards, so that its garbage (a parse of
  // the whole file each) is not collected during the writes measured above.
  for (const c of changes) {
    const r0 = performance.now();
    renderConfigChange(c.base, c.prev, c.next);
    render.push(performance.now() - r0);
  }
  const oursMs = median(ours), floorMs = median(floor);
  const unsharedMs = median(unshared);
  const ratio = Math.round((oursMs / floorMs) * 100) / 100;
  const before = BEFORE[`${instruments} ${change}`];
  return {
    instruments, change, fileKiB: Math.round(Buffer.byteLength(file.knownText!) / 1024),
    oursMs: round(oursMs), unsharedMs: round(unsharedMs), renderMs: round(median(render)), floorMs: round(floorMs), ratio,
    seed: 'never persisted',
    ...(before !== undefined ? { before } : {}),
    target: instruments >= 1000 ? `≤ ${TARGET_RATIO}× at 1000: ${ratio <= TARGET_RATIO ? 'met' : 'missed'}` : '-',
  };
}

/** The next model the daemon's way: copies of the tables along the changed path, the rest shared. */
function changed(model: Record<string, any>, change: PersistBenchRow['change'], i: number, instruments: number): Record<string, any> {
  if (change === 'set one scalar') {
    const id = `pm${i % instruments}`;
    const table = model.instruments[id];
    return { ...model, instruments: { ...model.instruments, [id]: { ...table, params: { ...table.params, wavelength_nm: 900 + i } } } };
  }
  return { ...model, instruments: { ...model.instruments, [`added${i}`]: { driver: 'sim', port: `sim://added${i}`, params: { gain: 2, label: `added ${i}` } } } };
}

/** Copy that keeps leaves (the manager's models are plain data). */
function structuredCloneKeepingDates<T>(value: T): T {
  if (Array.isArray(value)) return value.map(structuredCloneKeepingDates) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCloneKeepingDates(v)])) as T;
  }
  return value;
}

export async function run(options: { sizes?: number[]; iterations?: number } = {}): Promise<PersistBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-persist-bench-'));
  const rows: PersistBenchRow[] = [];
  try {
    for (const n of options.sizes ?? [10, 100, 1000]) {
      const iterations = options.iterations ?? 31;
      rows.push(await measure(dir, n, 'set one scalar', iterations));
      rows.push(await measure(dir, n, 'add one instrument', iterations));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const before = { ...renderStats };
  const rows = await run();
  console.table(rows.map((r) => ({
    instruments: r.instruments, change: r.change, 'file KiB': r.fileKiB, seed: r.seed,
    'before ms': r.before ?? '', 'ours ms (p50)': r.oursMs, 'floor ms (p50)': r.floorMs, 'ours / floor': r.ratio,
    'target ≤ 3× at 1000': r.target, 'unshared copies ms (p50)': r.unsharedMs, 'render ms, full re-parse (p50)': r.renderMs,
  })));
  // Each change is rendered twice: by the write (verified locally after the first) and alone.
  console.log(`renders: ${renderStats.spliced - before.spliced} spliced, ${renderStats.verifiedLocally - before.verifiedLocally} of them verified locally, ${renderStats.diffedFromShared - before.diffedFromShared} diffed from the shared model, ${renderStats.careful - before.careful} via the careful path, ${renderStats.patchedOps - before.patchedOps} dt.patch ops`);
}
