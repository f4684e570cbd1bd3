/**
 * Schedules across restarts and removals (issue #22, found again in issue #25's review): a
 * [schedules] table deleted while daqd was down does not run after the restart, a removed
 * schedule's state file stays gone, and an every whose run began before a kill is not run twice.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG, advance, dev, start, stop, type Running } from './scheduler-helpers.js';

describe('schedules across restarts and removals', () => {
  const TABLE = `\n[schedules.e2]\ntype = "every"\ninstrument = "pm"\nparam = "wavelength_nm"\nvalue = 900\ninterval_ms = 600000\nmisfire = "run"\n`;
  const stateFile = (r: Running, id: string) => join(r.dir, 'state', 'schedules', `${id}.json`);

  it('a [schedules] table deleted while daqd was down does not run after the restart, and its state file goes', async () => {
    const r = await start(undefined, CONFIG + TABLE);
    expect(r.daemon.scheduler!.get('e2')).toMatchObject({ state: 'active' });
    await stop(r);
    expect(existsSync(stateFile(r, 'e2'))).toBe(true);
    writeFileSync(join(r.dir, 'default.toml'), CONFIG);
    r.clock.now += 3_600_000; // due six times while down: misfire "run" would run it once at start
    const r2 = await start(r);
    const s = r2.daemon.scheduler!;
    expect(s.list().map((x) => x.id)).toEqual([]);
    expect(dev(r2)).toBe(800);
    await advance(r2, 600_000);
    expect(dev(r2)).toBe(800);
    await s.flushed();
    expect(existsSync(stateFile(r2, 'e2'))).toBe(false);
  });

  it('an every whose run began before a kill is not run again for that time after the restart', async () => {
    const r = await start();
    r.daemon.scheduler!.add('e4', { type: 'every', instrument: 'pm', param: 'wavelength_nm', value: 900, interval_ms: 600_000 }, 'socket'); // misfire "run"
    await stop(r);
    // What a kill between recording the fire and re-arming leaves: the due time marked as fired.
    const saved = JSON.parse(readFileSync(stateFile(r, 'e4'), 'utf8'));
    expect(saved.due).toBe('2026-12-01T10:10:00.000Z');
    writeFileSync(stateFile(r, 'e4'), JSON.stringify({ ...saved, firedDue: Date.parse(saved.due) }));
    r.clock.now = Date.parse(saved.due) + 1_000;
    const r2 = await start(r);
    expect(dev(r2)).toBe(800);
    expect(r2.daemon.scheduler!.get('e4')).toMatchObject({ state: 'active', fires: 0, nextDue: '2026-12-01T10:20:00.000Z' });
    await advance(r2, 600_000);
    expect(dev(r2)).toBe(900);
  });

  it('a table removed right after it was added leaves no state file behind (the delete waits for the queued write)', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    const base = r.daemon.config;
    s.configure({ ...base, schedules: { e3: { type: 'every', instrument: 'pm', param: 'wavelength_nm', value: 900, interval_ms: 600_000 } } });
    expect(s.get('e3')).toMatchObject({ state: 'active' });
    s.configure({ ...base, schedules: {} });
    await s.flushed();
    expect(s.list()).toEqual([]);
    expect(existsSync(stateFile(r, 'e3'))).toBe(false);
  });
});
