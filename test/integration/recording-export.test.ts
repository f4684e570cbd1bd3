/**
 * daqctl export against a real daqd: CSV equal to the recorded rows, --from/--to, Parquet read
 * back with an independent reader (hyparquet), the events file, and an unknown id.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl } from '../cli/helpers.js';

const CONFIG = `[application.dynamic_config]
enable_hot_reload = false

[application.storage]
flush_ms = 100

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 20
`;

let h: DaemonHandle;
let out: string;
const ctl = (...args: string[]) => daqctl(['--socket', h.socketPath, ...args]);

beforeAll(async () => {
  h = await startDaemon({ config: CONFIG });
  out = mkdtempSync(join(tmpdir(), 'daqd-export-'));
  const dir = join(h.dir, 'state', 'data', 'pm');
  await waitUntil(() => {
    try {
      return readdirSync(dir).length > 0 && readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8').split('\n').length > 30;
    } catch {
      return false;
    }
  }, 15_000, '30 pm rows on disk');
}, 30_000);
afterAll(async () => {
  await h?.dispose();
  rmSync(out, { recursive: true, force: true });
});

describe('daqctl export', () => {
  it('prints the recorded rows as CSV, the same as the file up to the moment of the export', async () => {
    const r = await ctl('export', 'pm', '--to', new Date(Date.now() - 200).toISOString());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dir = join(h.dir, 'state', 'data', 'pm');
    const file = readFileSync(join(dir, readdirSync(dir).sort()[0]!), 'utf8');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(file.split('\n')[0]);
    expect(lines.length).toBeGreaterThan(20);
    // Every exported row is a recorded row, in order.
    expect(file.startsWith(lines.join('\n'))).toBe(true);
  });

  it('--from and --to select rows by time', async () => {
    const all = (await ctl('export', 'pm')).stdout.trim().split('\n').slice(1);
    const mid = all[Math.floor(all.length / 2)]!.split(',')[0]!;
    const last = all[all.length - 5]!.split(',')[0]!;
    const part = (await ctl('export', 'pm', '--from', mid, '--to', last)).stdout.trim().split('\n').slice(1);
    expect(part[0]!.split(',')[0]).toBe(mid);
    for (const row of part) {
      const t = Date.parse(row.split(',')[0]!);
      expect(t >= Date.parse(mid) && t < Date.parse(last)).toBe(true);
    }
  });

  it('--format parquet -o FILE writes a file an independent reader reads back with typed columns', async () => {
    const file = join(out, 'pm.parquet');
    const r = await ctl('export', 'pm', '--format', 'parquet', '-o', file, '--to', new Date().toISOString());
    expect(r.code).toBe(0);
    const { parquetReadObjects } = await import('hyparquet');
    const buf = readFileSync(file);
    const rows = (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) })) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(20);
    expect(Object.keys(rows[0]!)).toEqual(expect.arrayContaining(['time', 'seq', 'power [W]', 'flags']));
    expect(typeof rows[0]!['power [W]']).toBe('number');
    expect(rows[0]!.time instanceof Date).toBe(true);
  });

  it('exports the events file; an unknown id is not_found (exit 1); a bad time is a usage error (exit 2)', async () => {
    const ev = await ctl('export', 'events');
    expect(ev.code).toBe(0);
    expect(ev.stdout.split('\n')[0]).toBe('time,instrument,what,old,new,origin');
    expect(ev.stdout).toMatch(/,pm,state,.*ready/);
    const none = await ctl('export', 'nope');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/not_found/);
    const bad = await ctl('export', 'pm', '--from', 'yesterday-ish');
    expect(bad.code).toBe(2);
  });
});
