/**
 * The recorder in a real daqd child process: files and events file after a set, a trip and a
 * reload; appends across a restart with no duplicate or lost row; kill -9 in a loop leaves only
 * whole lines; record = false by reload reconnects nothing; a dynamically added instrument is
 * recorded at once.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { parseCsvLine } from '../../src/services/recorder/csv.js';

const CONFIG = (extra = '') => `[application.dynamic_config]
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 20
${extra}

[instruments.pm.params]
wavelength_nm = 800

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 200

[instruments.laser.params]
wavelength_nm = 800
shutter = false

[modules.guard]
type = "interlock"
reading = "power"
above = 1e-3
unit = "W"
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm"
actuator = "laser"
`;

const handles: DaemonHandle[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.dispose();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(config: string, dir?: string): Promise<DaemonHandle> {
  const h = await startDaemon({ config, ...(dir ? { dir } : {}) });
  handles.push(h);
  return h;
}

const dataDir = (h: DaemonHandle) => join(h.dir, 'state', 'data');

function csvFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.csv')).sort() : [];
}

/** Every line whole: ends with a newline, and as many fields as the header. */
function checkWholeLines(path: string): string[][] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n'), `${path} ends with a whole line`).toBe(true);
  const lines = text.slice(0, -1).split('\n').map(parseCsvLine);
  const width = lines[0]!.length;
  for (const l of lines) expect(l).toHaveLength(width);
  return lines;
}

describe('recording in a real daqd', () => {
  it('records readings with units, and a set, a trip and a reload in the events file', async () => {
    const h = await start(CONFIG());
    const pmDir = join(dataDir(h), 'pm');
    await waitUntil(() => csvFiles(pmDir).length > 0 && readFileSync(join(pmDir, csvFiles(pmDir)[0]!), 'utf8').split('\n').length > 3, 10_000, 'pm rows on disk');
    const header = readFileSync(join(pmDir, csvFiles(pmDir)[0]!), 'utf8').split('\n')[0]!;
    expect(header).toMatch(/^time,seq,power \[W\]/);
    const ev = await EventRecorder.subscribe(h, { types: ['module.interlock'] });
    await h.call('instrument.set', { id: 'pm', params: { wavelength_nm: 820 } });
    await h.call('instrument.set', { id: 'pm', params: { units: 'dBm' }, persist: false });
    await ev.waitFor((e) => e.params.tripped === true, 10_000, 'the trip');
    writeFileSync(h.configPath, readFileSync(h.configPath, 'utf8').replace('wavelength_nm = 820', 'wavelength_nm = 830'));
    await h.call('config.reload');
    ev.close();
    expect(await h.stop()).toBe(0);

    const events = readFileSync(join(dataDir(h), 'events', csvFiles(join(dataDir(h), 'events'))[0]!), 'utf8');
    const rows = events.trim().split('\n').map(parseCsvLine);
    expect(rows[0]).toEqual(['time', 'instrument', 'what', 'old', 'new', 'origin']);
    const find = (pred: (r: string[]) => boolean) => rows.find(pred);
    expect(find((r) => r[1] === 'pm' && r[2] === 'param:wavelength_nm' && r[3] === '800' && r[4] === '820' && r[5] === 'socket')).toBeDefined();
    expect(find((r) => r[1] === 'pm' && r[2] === 'param:units' && r[4] === 'dBm')).toBeDefined();
    expect(find((r) => r[1] === 'guard' && r[2] === 'trip' && r[4] === 'true' && r[5]!.startsWith('unit'))).toBeDefined();
    expect(find((r) => r[1] === 'pm' && r[2] === 'param:wavelength_nm' && r[3] === '820' && r[4] === '830' && r[5] === 'reload:socket')).toBeDefined();
    expect(find((r) => r[2] === 'reload' && r[4] === 'applied' && r[5] === 'socket')).toBeDefined();
    expect(find((r) => r[1] === 'pm' && r[2] === 'state' && r[4] === 'ready')).toBeDefined();

    // The unit change started a new file with a new header; no file has a mismatched column.
    const files = csvFiles(pmDir);
    expect(files.length).toBeGreaterThanOrEqual(2);
    const headers = files.map((f) => readFileSync(join(pmDir, f), 'utf8').split('\n')[0]);
    expect(headers.some((x) => x!.includes('power [dBm]'))).toBe(true);
    for (const f of files) checkWholeLines(join(pmDir, f));
  });

  it('appends across a restart with no duplicate or lost row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-rec-it-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'default.toml'), CONFIG());
    const seen: string[] = [];
    for (let run = 0; run < 2; run++) {
      const h = await startDaemon({ config: CONFIG(), dir });
      handles.push(h);
      const ev = await EventRecorder.subscribe(h, { types: ['reading'], instruments: ['pm'] });
      await ev.waitFor(() => ev.events.length >= 20, 10_000, '20 readings');
      ev.close();
      expect(await h.stop()).toBe(0);
      for (const e of ev.events) seen.push(`${e.params.ts},${e.params.seq}`);
    }
    const pmDir = join(dir, 'state', 'data', 'pm');
    const files = csvFiles(pmDir);
    const rows = files.flatMap((f) => checkWholeLines(join(pmDir, f)).slice(1)).map((r) => `${r[0]},${r[1]}`);
    expect(new Set(rows).size).toBe(rows.length); // no duplicate
    const onDisk = new Set(rows);
    const missing = seen.filter((k) => !onDisk.has(k));
    expect(missing).toEqual([]); // every reading streamed is on disk
    // One file for both runs (same day, same header), unless the run crossed midnight.
    expect(files.length).toBeLessThanOrEqual(2);
  });

  it('kill -9 in a loop leaves only whole lines, appended to by the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-rec-kill-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'default.toml'), CONFIG());
    let before = 0;
    for (let i = 0; i < 4; i++) {
      const h = await startDaemon({ config: CONFIG(), dir });
      handles.push(h);
      const pmDir = join(dir, 'state', 'data', 'pm');
      const total = () => csvFiles(pmDir).reduce((n, f) => n + readFileSync(join(pmDir, f), 'utf8').split('\n').length, 0);
      await waitUntil(() => total() > before + 10, 10_000, 'new rows flushed');
      // Kill at a point that varies with the flushes in flight.
      await new Promise((r) => setTimeout(r, 37 * i));
      h.proc.kill('SIGKILL');
      await h.exited;
      for (const f of csvFiles(pmDir)) checkWholeLines(join(pmDir, f));
      for (const f of csvFiles(join(dir, 'state', 'data', 'events'))) checkWholeLines(join(dir, 'state', 'data', 'events', f));
      before = total();
    }
  });

  it('record = false by reload stops recording without reconnecting; a dynamically added instrument gets its file at once', async () => {
    const h = await start(CONFIG());
    const pmDir = join(dataDir(h), 'pm');
    await waitUntil(() => csvFiles(pmDir).length > 0, 10_000, 'pm file');
    const ev = await EventRecorder.subscribe(h, { types: ['instrument.state'] });
    writeFileSync(h.configPath, CONFIG('record = false'));
    const reload = await h.call('config.reload');
    expect(reload.diff.instruments.changed.pm).toMatchObject({ reconnect: false, other: ['record'] });
    const status = await waitUntil(async () => {
      const s = await h.call('daemon.status');
      return s.recording.notRecorded.includes('pm') ? s : undefined;
    }, 5000, 'pm not recorded');
    expect(status.recording.error).toBeNull();
    const size = () => csvFiles(pmDir).reduce((n, f) => n + readFileSync(join(pmDir, f)).length, 0);
    const frozen = size();
    // Readings go on (the instrument was not touched) but no row is added.
    const rd = await EventRecorder.subscribe(h, { types: ['reading'], instruments: ['pm'] });
    await rd.waitFor(() => rd.events.length >= 10, 5000, 'pm readings after record = false');
    rd.close();
    await h.call('instrument.add', { id: 'pm2', config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 5000 } });
    // The file is created, then its header written (two steps): wait for the whole header line.
    const pm2Header = () => {
      const files = csvFiles(join(dataDir(h), 'pm2'));
      const text = files.length > 0 ? readFileSync(join(dataDir(h), 'pm2', files[0]!), 'utf8') : '';
      return text.includes('\n') ? text.split('\n')[0] : undefined;
    };
    expect(await waitUntil(pm2Header, 3000, 'pm2 file created at once, with its header')).toMatch(/^time,seq,power \[W\]/);
    expect(ev.events.filter((e) => e.params.instrument === 'pm')).toEqual([]);
    ev.close();
    expect(await h.stop()).toBe(0);
    expect(size()).toBe(frozen);
  });
});
