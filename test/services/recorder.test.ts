/**
 * The recorder in-process, on a real directory, fed through a real EventBus with a controlled
 * clock: CSV content, units header, rotation at local midnight and on a reading-set change,
 * appends across restarts, a vanished or unwritable data dir, the events file, retention.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/events.js';
import { Recorder } from '../../src/services/recorder/recorder.js';
import { localDay } from '../../src/services/recorder/csv.js';
import type { ConfigView } from '../../src/config/model.js';

const log = pino({ level: 'silent' });
let dir: string;
let bus: EventBus;
let now: number;

function config(storage: Record<string, unknown> = {}, instruments: Record<string, unknown> = {}): ConfigView {
  return { application: { storage }, instruments } as unknown as ConfigView;
}

function recorder(storage: Record<string, unknown> = {}, instruments: Record<string, unknown> = {}) {
  const r = new Recorder({ events: bus, stateDir: join(dir, 'state'), configPath: join(dir, 'default.toml'), log, clock: () => now, timers: false });
  r.configure(config(storage, instruments));
  return r;
}

function reading(instrument: string, seq: number, ms: number, values: Record<string, number | string | boolean>, units?: Record<string, string>) {
  bus.emit({ type: 'reading', instrument, seq, ts: new Date(ms).toISOString(), values, ...(units ? { units } : {}) });
}

const dataDir = () => join(dir, 'state', 'data');
const read = (...p: string[]) => readFileSync(join(dataDir(), ...p), 'utf8');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'daqd-rec-'));
  bus = new EventBus();
  now = new Date(2026, 10, 30, 12, 0, 0).getTime(); // local noon, 30 Nov 2026
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('recorder: CSV files', () => {
  it('writes one row per reading: ISO UTC ms time, seq, one column per reading with units in the header', async () => {
    const r = recorder();
    reading('pm', 1, now, { power_w: 1.5e-6, wavelength_nm: 820 }, { power_w: 'W', wavelength_nm: 'nm' });
    reading('pm', 2, now + 100, { power_w: 2e-6, wavelength_nm: 820 }, { power_w: 'W', wavelength_nm: 'nm' });
    await r.flush();
    const day = localDay(now);
    expect(read('pm', `${day}.csv`)).toBe(
      'time,seq,power_w [W],wavelength_nm [nm],flags\n' +
        `${new Date(now).toISOString()},1,0.0000015,820,\n` +
        `${new Date(now + 100).toISOString()},2,0.000002,820,\n`,
    );
    expect(new Date(now).toISOString()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await r.stop();
  });

  it('quotes strings with commas and writes flags', async () => {
    const r = recorder();
    bus.emit({ type: 'reading', instrument: 'x', seq: 1, ts: new Date(now).toISOString(), values: { a: 'one, "two"', b: true }, flags: { a: 'saturated' } });
    await r.flush();
    expect(read('x', `${localDay(now)}.csv`).split('\n')[1]).toBe(`${new Date(now).toISOString()},1,"one, ""two""",true,a=saturated`);
    await r.stop();
  });

  it('starts a new file at local midnight', async () => {
    const r = recorder();
    const midnight = new Date(2026, 11, 1, 0, 0, 0).getTime();
    reading('pm', 1, midnight - 1, { power_w: 1 }, { power_w: 'W' });
    reading('pm', 2, midnight, { power_w: 2 }, { power_w: 'W' });
    await r.flush();
    expect(read('pm', '2026-11-30.csv').trim().split('\n')).toHaveLength(2);
    const dec = read('pm', '2026-12-01.csv').trim().split('\n');
    expect(dec).toEqual(['time,seq,power_w [W],flags', `${new Date(midnight).toISOString()},2,2,`]);
    await r.stop();
  });

  it('starts a new file (a new header, never a mismatched column) when the reading set or a unit changes', async () => {
    const r = recorder();
    reading('pm', 1, now, { power_w: 1 }, { power_w: 'W' });
    reading('pm', 2, now + 1, { power_w: -3 }, { power_w: 'dBm' });
    reading('pm', 3, now + 2, { power_w: -3, temp: 20 }, { power_w: 'dBm', temp: 'C' });
    await r.flush();
    const day = localDay(now);
    expect(readdirSync(join(dataDir(), 'pm')).sort()).toEqual([`${day}.1.csv`, `${day}.2.csv`, `${day}.csv`]);
    expect(read('pm', `${day}.csv`).split('\n')[0]).toBe('time,seq,power_w [W],flags');
    expect(read('pm', `${day}.1.csv`).split('\n')[0]).toBe('time,seq,power_w [dBm],flags');
    expect(read('pm', `${day}.2.csv`).split('\n')[0]).toBe('time,seq,power_w [dBm],temp [C],flags');
    for (const f of readdirSync(join(dataDir(), 'pm'))) {
      const lines = read('pm', f).trim().split('\n');
      const width = lines[0]!.split(',').length;
      for (const l of lines) expect(l.split(',')).toHaveLength(width);
    }
    await r.stop();
  });

  it('appends to the same file across a restart, without duplicates or gaps, and cuts a partial last line', async () => {
    let r = recorder();
    for (let i = 1; i <= 5; i++) reading('pm', i, now + i, { power_w: i }, { power_w: 'W' });
    await r.stop();
    const file = join(dataDir(), 'pm', `${localDay(now)}.csv`);
    writeFileSync(file, readFileSync(file, 'utf8') + '2026-11-30T11:00:00.006Z,6,6'); // a torn line (a full disk)
    bus = new EventBus();
    r = recorder();
    for (let i = 6; i <= 10; i++) reading('pm', i, now + i, { power_w: i }, { power_w: 'W' });
    await r.stop();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(1, -1).map((l) => Number(l.split(',')[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('record = false: no file for that instrument', async () => {
    const r = recorder({}, { quiet: { driver: 'x', port: 'sim', record: false } });
    reading('quiet', 1, now, { a: 1 });
    reading('loud', 1, now, { a: 1 });
    await r.flush();
    expect(existsSync(join(dataDir(), 'quiet'))).toBe(false);
    expect(existsSync(join(dataDir(), 'loud'))).toBe(true);
    await r.stop();
  });

  it('enabled = false: nothing is written', async () => {
    const r = recorder({ enabled: false });
    reading('pm', 1, now, { a: 1 });
    await r.flush();
    expect(existsSync(dataDir())).toBe(false);
    await r.stop();
  });
});

describe('recorder: the disk refuses', () => {
  it('a data dir replaced by a file: error in status once, failures counted, rows kept; resumes by itself and records the gap', async () => {
    const logged: string[] = [];
    const capture = pino({ level: 'info' }, { write: (l: string) => logged.push(l) });
    const r = new Recorder({ events: bus, stateDir: join(dir, 'state'), configPath: join(dir, 'default.toml'), log: capture, clock: () => now, timers: false });
    r.configure(config());
    reading('pm', 1, now, { a: 1 });
    await r.flush();
    // Works as root too: a path under a regular file cannot be created (ENOTDIR/EEXIST).
    rmSync(dataDir(), { recursive: true });
    writeFileSync(dataDir(), 'not a directory');
    reading('pm', 2, now + 1, { a: 2 });
    await r.flush();
    reading('pm', 3, now + 2, { a: 3 });
    await r.flush();
    const st = r.status();
    expect(st.error).not.toBeNull();
    expect(st.failures).toBe(2);
    expect(st.pendingRows).toBeGreaterThanOrEqual(2);
    expect(logged.filter((l) => l.includes('recording failed'))).toHaveLength(1);
    now += 5000;
    rmSync(dataDir());
    reading('pm', 4, now, { a: 4 });
    await r.flush();
    expect(r.status().error).toBeNull();
    expect(r.status().gaps).toBe(1);
    const rows = read('pm', `${localDay(now)}.csv`).trim().split('\n').slice(1);
    // The file vanished with rows 1 (a person deleted it); every row since was kept and written.
    expect(rows.map((l) => l.split(',')[1])).toEqual(['2', '3', '4']);
    const events = read('events', `${localDay(now)}.csv`);
    expect(events).toMatch(/,,recording_gap,.*,.*,"?E[A-Z]+: /);
    expect(logged.some((l) => l.includes('recording resumed'))).toBe(true);
    await r.stop();
  });

  it('a data dir under a file from the start, with a small buffer: oldest rows dropped and counted', async () => {
    writeFileSync(join(dir, 'file'), '');
    const r = recorder({ dir: join(dir, 'file', 'data'), buffer_rows: 100 });
    for (let i = 0; i < 250; i++) reading('pm', i, now + i, { a: i });
    await r.flush();
    expect(r.status().error?.kind).toBe('ENOTDIR');
    expect(r.status().droppedRows).toBe(150);
    expect(r.status().pendingRows).toBe(100);
    await r.stop();
  });

  it('a deleted data dir is recreated on the next flush', async () => {
    const r = recorder();
    reading('pm', 1, now, { a: 1 });
    await r.flush();
    rmSync(dataDir(), { recursive: true });
    reading('pm', 2, now + 1, { a: 2 });
    await r.flush(); // notices the vanished file: error
    reading('pm', 3, now + 2, { a: 3 });
    await r.flush(); // recreated
    expect(r.status().error).toBeNull();
    expect(read('pm', `${localDay(now)}.csv`).trim().split('\n').slice(1).map((l) => l.split(',')[1])).toEqual(['2', '3']);
    await r.stop();
  });
});

describe('recorder: events file and retention', () => {
  it('records sets, state changes, trips and reloads with time, instrument, what, old, new, origin', async () => {
    const r = recorder();
    r.paramsSet({ instrument: 'pm', origin: 'socket', old: { wavelength_nm: 800 }, new: { wavelength_nm: 820 } });
    bus.emit({ type: 'instrument.state', instrument: 'pm', state: 'ready' });
    bus.emit({ type: 'module.interlock', module: 'guard', tripped: true, message: 'power 2 mW above 1 mW', cause: 'limit' });
    bus.emit({ type: 'config.reloaded', source: 'file', diff: { instruments: { changed: { pm: { params: { wavelength_nm: { from: 820, to: 830 } } } } } }, durationMs: 1, at: '' });
    await r.flush();
    const t = new Date(now).toISOString();
    expect(read('events', `${localDay(now)}.csv`)).toBe(
      'time,instrument,what,old,new,origin\n' +
        `${t},pm,param:wavelength_nm,800,820,socket\n` +
        `${t},pm,state,,ready,daemon\n` +
        `${t},guard,trip,false,true,limit: power 2 mW above 1 mW\n` +
        `${t},pm,param:wavelength_nm,820,830,reload:file\n` +
        `${t},,reload,,applied,file\n`,
    );
    await r.stop();
  });

  it('keep_days deletes older day files, never today', async () => {
    for (const day of ['2026-11-01', '2026-11-28', '2026-11-29', '2026-11-30']) {
      mkdirSync(join(dataDir(), 'pm'), { recursive: true });
      writeFileSync(join(dataDir(), 'pm', `${day}.csv`), 'time,seq,p,flags\n');
    }
    const r = recorder({ keep_days: 2 });
    const deleted = await r.retention();
    expect(deleted.map((p) => p.split('/').pop()).sort()).toEqual(['2026-11-01.csv', '2026-11-28.csv']);
    expect(readdirSync(join(dataDir(), 'pm')).sort()).toEqual(['2026-11-29.csv', '2026-11-30.csv']);
    await r.stop();
    void utimesSync;
  });

  it('max_gb deletes the oldest days first until under the limit', async () => {
    mkdirSync(join(dataDir(), 'pm'), { recursive: true });
    for (const day of ['2026-11-28', '2026-11-29', '2026-11-30']) writeFileSync(join(dataDir(), 'pm', `${day}.csv`), 'time,seq,p,flags\n'.padEnd(1000, 'x'));
    const r = recorder({ max_gb: 2.5e-6 }); // 2500 bytes
    expect((await r.retention()).map((p) => p.split('/').pop())).toEqual(['2026-11-28.csv']);
    await r.stop();
  });

  it("deletes only files the recorder wrote: not a person's CSV of the same name, nothing through a symbolic link", async () => {
    const old = '2026-01-01.csv';
    mkdirSync(join(dataDir(), 'pm'), { recursive: true });
    writeFileSync(join(dataDir(), 'pm', old), 'time,seq,p,flags\n');
    writeFileSync(join(dataDir(), 'pm', '2026-01-02.1.csv'), 'time,seq,p [°C],flags\n');
    mkdirSync(join(dataDir(), 'events'), { recursive: true });
    writeFileSync(join(dataDir(), 'events', old), 'time,instrument,what,old,new,origin\n');
    mkdirSync(join(dataDir(), 'analysis'), { recursive: true });
    writeFileSync(join(dataDir(), 'analysis', old), 'sample,transmission\n');
    const archive = join(dir, 'archive');
    mkdirSync(archive);
    writeFileSync(join(archive, old), 'time,seq,p,flags\n');
    symlinkSync(archive, join(dataDir(), 'archive_link'));
    const r = recorder({ keep_days: 30 });
    expect((await r.retention()).map((p) => p.slice(dataDir().length + 1)).sort()).toEqual(['events/2026-01-01.csv', 'pm/2026-01-01.csv', 'pm/2026-01-02.1.csv']);
    expect(readFileSync(join(dataDir(), 'analysis', old), 'utf8')).toBe('sample,transmission\n');
    expect(existsSync(join(archive, old))).toBe(true);
    await r.stop();
  });
});

describe('recorder: units outside ASCII', () => {
  it('a restart on the same day appends to the file whose header has °C (it did not match in bytes, and began a .1.csv each time)', async () => {
    const first = recorder();
    reading('chiller', 1, now, { t: 20 }, { t: '°C' });
    await first.flush();
    await first.stop();
    const second = recorder();
    reading('chiller', 2, now + 1000, { t: 21 }, { t: '°C' });
    await second.flush();
    await second.stop();
    expect(readdirSync(join(dataDir(), 'chiller'))).toEqual([`${localDay(now)}.csv`]);
    expect(read('chiller', `${localDay(now)}.csv`).split('\n').filter(Boolean)).toHaveLength(3);
  });
});

describe('recorder: its flush timer', () => {
  it('still flushes on schedule while the config changes more often than flush_ms (every set is a change)', async () => {
    const r = new Recorder({ events: bus, stateDir: join(dir, 'state'), configPath: join(dir, 'default.toml'), log });
    const cfg = config({ flush_ms: 50 });
    r.configure(cfg);
    reading('pm', 1, Date.now(), { a: 1 });
    // A set every 10 ms re-configures the recorder; the 50 ms flush must fire all the same.
    const deadline = Date.now() + 5000;
    while (r.status().rowsWritten === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      r.configure(config({ flush_ms: 50 }));
    }
    expect(r.status().rowsWritten).toBe(1);
    expect(r.status().flushes).toBeGreaterThan(0);
    await r.stop();
  });
});

describe('recorder: a full memory while a flush is writing', () => {
  /** Holds every append until `release()`: rows arriving meanwhile are what the test is about. */
  async function withHeldWrites<T>(run: (release: () => void, writing: Promise<void>) => Promise<T>): Promise<T> {
    const { DayFile } = await import('../../src/services/recorder/files.js');
    const original = DayFile.prototype.append;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const writing = new Promise<void>((r) => (started = r));
    DayFile.prototype.append = async function (this: typeof DayFile.prototype, data: Buffer) {
      started();
      await gate;
      return original.call(this, data);
    };
    try {
      return await run(release, writing);
    } finally {
      DayFile.prototype.append = original;
    }
  }

  it('rows arriving during the write are kept (the limit is on rows still waiting), and none is written twice or lost', async () => {
    const r = recorder({ buffer_rows: 100 });
    reading('pm', 0, now, { p: 0 });
    await r.flush(); // the file exists
    for (let i = 1; i <= 100; i++) reading('pm', i, now + i, { p: i });
    await withHeldWrites(async (release, writing) => {
      const flushing = r.flush();
      await writing;
      for (let i = 101; i <= 150; i++) reading('pm', i, now + i, { p: i });
      release();
      await flushing;
    });
    await r.flush();
    const seqs = read('pm', `${localDay(now)}.csv`).trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
    expect(seqs).toEqual(Array.from({ length: 151 }, (_, i) => i));
    expect(r.status()).toMatchObject({ droppedRows: 0, pendingRows: 0 });
    await r.stop();
  });

  it('over the limit, the oldest waiting rows go (never the ones being written), and the count says exactly which are missing', async () => {
    const r = recorder({ buffer_rows: 100 });
    reading('pm', 0, now, { p: 0 });
    await r.flush();
    for (let i = 1; i <= 100; i++) reading('pm', i, now + i, { p: i });
    await withHeldWrites(async (release, writing) => {
      const flushing = r.flush();
      await writing;
      // A new header (a second reading) starts a new segment: 130 rows wait behind the 100 in flight.
      for (let i = 101; i <= 230; i++) reading('pm', i, now + i, { p: i, q: 1 });
      release();
      await flushing;
    });
    await r.flush();
    const rows = (name: string) => read('pm', name).trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
    const day = localDay(now);
    expect(rows(`${day}.csv`)).toEqual(Array.from({ length: 101 }, (_, i) => i));
    // 130 waited against a limit of 100: the 30 oldest of them are dropped, the rest written.
    expect(rows(`${day}.1.csv`)).toEqual(Array.from({ length: 100 }, (_, i) => 131 + i));
    expect(r.status()).toMatchObject({ droppedRows: 30, pendingRows: 0 });
    await r.stop();
  });
});
