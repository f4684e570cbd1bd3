/**
 * Schedules in an in-process Daemon on simulated instruments with a controlled clock (issue #22):
 * scheduler.tick() after moving the clock, no waiting. Ramps (values, timing, clamping, rate
 * limits), at + misfire, restart mid-ramp, manual sets under a ramp, validation refusals, triggers
 * with hysteresis and hold, and the history of it all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Daemon } from '../../src/core/daemon.js';
import { CONFIG, advance, dev, start, stop, type Running } from './scheduler-helpers.js';

describe('ramps', () => {
  it('steps linearly at its interval, on the device, and ends at the target', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', to: 900, duration_ms: 10_000, step_ms: 2_000 }, 'socket');
    await s.tick();
    expect(dev(r)).toBe(800);
    const seen: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      await advance(r, 2_000);
      seen.push(dev(r));
    }
    expect(seen).toEqual([820, 840, 860, 880, 900]);
    expect(s.get('r1').state).toBe('done');
    // intermediate steps in memory, the last one in the config
    expect(r.daemon.config.instruments!.pm!.params!.wavelength_nm).toBe(900);
  });

  it('does not step before its time; a late tick takes the closed-form value now', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 600, duration_ms: 100_000, step_ms: 10_000 }, 'socket');
    await s.tick();
    expect(dev(r)).toBe(500);
    await advance(r, 9_999);
    expect(dev(r)).toBe(500);
    await advance(r, 35_001); // 45 s in: 545
    expect(dev(r)).toBe(545);
    expect(s.get('r1').nextDue).toBe(new Date(Date.parse('2026-12-01T10:00:50Z')).toISOString());
  });

  it('clamps each step to the declared range and limits the rate', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 1000, to: 1300, duration_ms: 3_000, step_ms: 1_000 }, 'socket');
    await s.tick();
    await advance(r, 1_000);
    await advance(r, 1_000);
    expect(dev(r)).toBe(1100); // 1200 clamped to max 1100
    await advance(r, 1_000);
    expect(dev(r)).toBe(1100);
    expect(s.get('r1').state).toBe('done');
  });

  it('limits each step to max_rate_per_min', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 700, duration_ms: 10_000, step_ms: 5_000, max_rate_per_min: 600 }, 'socket');
    await s.tick();
    await advance(r, 5_000); // closed form 600, but 10 nm/s * 5 s = 50: 550
    expect(dev(r)).toBe(550);
    await advance(r, 5_000);
    expect(dev(r)).toBe(600);
    expect(s.get('r1').state).toBe('active'); // not there yet: goes on past the duration
    await advance(r, 5_000);
    await advance(r, 5_000);
    expect(dev(r)).toBe(700);
    expect(s.get('r1').state).toBe('done');
  });

  it('resumes after a restart at the value it should have now', async () => {
    const r = await start();
    r.daemon.scheduler!.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 600, duration_ms: 100_000, step_ms: 10_000 }, 'socket');
    await r.daemon.scheduler!.tick();
    await advance(r, 20_000);
    expect(dev(r)).toBe(520);
    await stop(r);
    r.clock.now += 43_000; // down for 43 s: 63 s into the ramp
    const r2 = await start(r);
    await r2.daemon.scheduler!.tick(); // the step waited for pm to be ready (it may have run already)
    await r2.daemon.scheduler!.idle();
    expect(dev(r2)).toBe(563);
    expect(r2.daemon.scheduler!.get('r1').state).toBe('active');
  });
});

describe('at and misfire', () => {
  it('sets at its time, once; a one-shot missed while down runs late (misfire run) and never twice', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('a1', { type: 'at', instrument: 'pm', param: 'wavelength_nm', value: 850, after_ms: 60_000 }, 'socket');
    s.add('a2', { type: 'at', instrument: 'pm', param: 'filter', value: 'fast', at: '2026-12-01T10:05:00Z', misfire: 'skip' }, 'socket');
    await advance(r, 59_999);
    expect(dev(r)).toBe(800);
    await advance(r, 1);
    expect(dev(r)).toBe(850);
    expect(s.get('a1').state).toBe('done');
    const filterBefore = dev(r, 'filter');
    s.add('a3', { type: 'at', instrument: 'pm', param: 'units', value: 'dBm', at: '2026-12-01T10:04:00Z', misfire: 'run' }, 'socket');
    await stop(r);
    r.clock.now = Date.parse('2026-12-01T10:10:00Z'); // both were due while down
    const r2 = await start(r);
    const s2 = r2.daemon.scheduler!;
    expect(s2.get('a2')).toMatchObject({ state: 'done', fires: 0 });
    expect(s2.get('a2').note).toMatch(/skipped/);
    expect(dev(r2, 'filter')).toBe(filterBefore);
    expect(s2.get('a3')).toMatchObject({ state: 'done', fires: 1 });
    expect(dev(r2, 'units')).toBe('dBm');
    expect(s2.get('a1')).toMatchObject({ state: 'done', fires: 1 });
    await stop(r2);
    const r3 = await start(r2);
    expect(r3.daemon.scheduler!.get('a3').fires).toBe(1); // nothing runs twice
  });

  it('every: runs at aligned times and re-arms; skip after downtime goes to the next time', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('e1', { type: 'every', instrument: 'pm', param: 'wavelength_nm', value: 900, interval_ms: 600_000, misfire: 'skip' }, 'socket');
    expect(s.get('e1').nextDue).toBe('2026-12-01T10:10:00.000Z');
    await advance(r, 600_000);
    expect(dev(r)).toBe(900);
    expect(s.get('e1').nextDue).toBe('2026-12-01T10:20:00.000Z');
    await stop(r);
    r.clock.now = Date.parse('2026-12-01T10:45:00Z');
    const r2 = await start(r);
    expect(r2.daemon.scheduler!.get('e1')).toMatchObject({ fires: 1, nextDue: '2026-12-01T10:50:00.000Z' });
  });
});

describe('conflicts and validation', () => {
  it('refuses a second schedule on one parameter, values outside the range, unknown parameters, ramps of actions', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', to: 900, duration_ms: 60_000 }, 'socket');
    expect(() => s.add('r2', { type: 'at', instrument: 'pm', param: 'wavelength_nm', value: 700, after_ms: 5 }, 'socket')).toThrow(expect.objectContaining({ kind: 'conflict' }));
    expect(() => s.add('x', { type: 'at', instrument: 'pm', param: 'filter', value: 'Z', after_ms: 5 }, 'socket')).toThrow(expect.objectContaining({ kind: 'out_of_range' }));
    expect(() => s.add('x', { type: 'at', instrument: 'pm', param: 'nope', value: 1, after_ms: 5 }, 'socket')).toThrow(expect.objectContaining({ kind: 'invalid_params' }));
    expect(() => s.add('x', { type: 'ramp', instrument: 'laser', param: 'shutter', to: 1, duration_ms: 5 }, 'socket')).toThrow(/boolean|action/);
    expect(() => s.add('x', { type: 'at', instrument: 'ghost', param: 'x', value: 1, after_ms: 5 }, 'socket')).toThrow(expect.objectContaining({ kind: 'not_found' }));
    expect(() => s.add('x', { type: 'ramp', instrument: 'pm', param: 'attenuator', to: 1 }, 'socket')).toThrow(expect.objectContaining({ kind: 'invalid_params' }));
  });

  it('a step that fails keeps the last good value; on_error stop stops', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    // 1200 passes add (the driver is asked at each step too), and is refused at the step
    s.add('e1', { type: 'every', instrument: 'pm', param: 'wavelength_nm', value: 900, interval_ms: 60_000, on_error: 'stop' }, 'socket');
    (s.get('e1').spec as { value: number }).value = 1200; // as if the range had changed since
    await advance(r, 60_000);
    expect(dev(r)).toBe(800);
    expect(s.get('e1')).toMatchObject({ state: 'failed', errors: 1 });
    expect(s.get('e1').lastError).toMatch(/out_of_range/);
  });

  it('a manual set under a ramp cancels it (default) or pauses it, and says so in the answer and the history', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('r1', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 600, duration_ms: 100_000, step_ms: 10_000 }, 'socket');
    await s.tick();
    await advance(r, 10_000);
    const answer = await r.daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 700 } }, 'socket');
    expect(answer.schedules).toEqual([{ id: 'r1', action: 'cancelled' }]);
    expect(s.get('r1').state).toBe('cancelled');
    await advance(r, 10_000);
    expect(dev(r)).toBe(700);
    const last = r.daemon.history!.list({ instrument: 'pm', param: 'wavelength_nm', limit: 1 }).entries[0]!;
    expect(last).toMatchObject({ source: 'socket', old: 510, new: 700, note: 'cancelled schedule r1' });

    s.add('r2', { type: 'ramp', instrument: 'pm', param: 'wavelength_nm', from: 500, to: 600, duration_ms: 100_000, step_ms: 10_000, on_manual: 'pause' }, 'socket');
    await s.tick();
    const a2 = await r.daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 550 } }, 'module:x');
    expect(a2.schedules).toEqual([{ id: 'r2', action: 'paused' }]);
    await advance(r, 20_000);
    expect(dev(r)).toBe(550);
    s.resume('r2'); // goes on from 550 over the rest of the time
    await s.tick();
    expect(dev(r)).toBe(550);
  });
});

describe('when triggers', () => {
  const reading = (r: Running, power: number) => r.daemon.events.emit({ type: 'reading', instrument: 'pm', seq: 0, ts: new Date(r.clock.now).toISOString(), values: { probe: power } });

  it('fires on a crossing held long enough, re-arms only past the hysteresis', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('t1', { type: 'when', instrument: 'pm', param: 'wavelength_nm', value: 1000, reading: 'probe', above: 1, hysteresis: 0.2, hold_ms: 5_000 }, 'socket');
    reading(r, 1.5);
    await advance(r, 4_000);
    reading(r, 1.5);
    await s.tick();
    expect(s.get('t1').fires).toBe(0); // held 4 s of 5
    reading(r, 0.5); // dropped below: the hold starts again
    await advance(r, 2_000);
    reading(r, 1.5);
    await advance(r, 5_000);
    await s.idle();
    expect(s.get('t1').fires).toBe(1);
    expect(dev(r)).toBe(1000);
    // back under the threshold but not by the hysteresis: no re-arm
    reading(r, 0.9);
    reading(r, 1.5);
    await advance(r, 6_000);
    reading(r, 1.5);
    expect(s.get('t1').fires).toBe(1);
    reading(r, 0.7); // re-armed
    reading(r, 1.5);
    await advance(r, 5_000);
    await s.idle();
    expect(s.get('t1').fires).toBe(2);
  });

  it('single fires once', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('t1', { type: 'when', instrument: 'pm', param: 'wavelength_nm', value: 1000, reading: 'probe', below: 1, retrigger: 'single' }, 'socket');
    reading(r, 0.5);
    await s.idle();
    reading(r, 2);
    reading(r, 0.5);
    await s.idle();
    expect(s.get('t1')).toMatchObject({ fires: 1, state: 'done' });
  });
});

describe('rates', () => {
  it('a schedule can change poll_interval_ms (next cycle, no reconnect)', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('fast', { type: 'at', instrument: 'pm', param: 'poll_interval_ms', value: 200, after_ms: 1000 }, 'socket');
    await advance(r, 1000);
    expect(r.daemon.getInstrument('pm')).toMatchObject({ pollIntervalMs: 200, state: 'ready' });
    expect(r.daemon.history!.list({ param: 'poll_interval_ms' }).entries[0]).toMatchObject({ source: 'schedule', sourceId: 'fast', new: 200 });
  });
});

describe('re-trigger modes', () => {
  const reading = (r: Running, v: number) => r.daemon.events.emit({ type: 'reading', instrument: 'pm', seq: 0, ts: new Date(r.clock.now).toISOString(), values: { probe: v } });
  for (const [mode, fires] of [['queued', 2], ['restart', 1]] as const) {
    it(`${mode}: a crossing while the set is in flight ${mode === 'queued' ? 'runs once more after it' : 'counts as that set'}`, async () => {
      const r = await start();
      const s = r.daemon.scheduler!;
      s.add('t1', { type: 'when', instrument: 'pm', param: 'wavelength_nm', value: 1000, reading: 'probe', above: 1, retrigger: mode }, 'socket');
      reading(r, 2); // fires: the set is in flight now
      reading(r, 0); // re-armed
      reading(r, 2); // crosses again while the first set is in flight
      await s.idle();
      expect(s.get('t1').fires).toBe(fires);
    });
  }
});

describe('history', () => {
  it('records every set with source and old value; revert puts the old value back and is itself recorded', async () => {
    const r = await start();
    await r.daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 900 } }, 'socket');
    await r.daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 950 } }, 'module:mon');
    const h = r.daemon.history!;
    const { entries } = h.list({ instrument: 'pm' });
    expect(entries.map((e) => [e.old, e.new, e.source, e.sourceId])).toEqual([
      [900, 950, 'module', 'mon'],
      [800, 900, 'socket', undefined],
    ]);
    expect(h.list({ source: 'module' }).entries).toHaveLength(1);
    expect(h.list({ limit: 1 }).next).toBe(entries[0]!.id);
    expect(h.list({ limit: 1, before: entries[0]!.id }).entries[0]!.id).toBe(entries[1]!.id);
    const { methods } = await import('../../src/rpc/methods/index.js');
    const revert = methods.get('history.revert')!;
    const res = (await revert.handler({ change: entries[1]!.id }, { daemon: r.daemon } as never)) as Record<string, unknown>;
    expect(res.reverted).toBe(entries[1]!.id);
    expect(dev(r)).toBe(800);
    expect(h.list({ limit: 1 }).entries[0]).toMatchObject({ source: 'history', sourceId: entries[1]!.id, old: 950, new: 800 });
    // actions are refused unless asked
    await r.daemon.submit({ type: 'instrument.set', id: 'laser', params: { shutter: true } }, 'socket');
    const act = h.list({ instrument: 'laser', param: 'shutter' }).entries[0]!;
    expect(act.kind).toBe('action');
    if (act.old !== undefined) await expect(Promise.resolve().then(() => revert.handler({ change: act.id }, { daemon: r.daemon } as never))).rejects.toThrow(/action/);
  });

  it('skips a torn last line, rotates by size and stays bounded', async () => {
    const { HistoryLog } = await import('../../src/services/history/history.js');
    const dir = mkdtempSync(join(tmpdir(), 'daqd-hist-'));
    const h = new HistoryLog({ stateDir: dir, log: pino({ level: 'silent' }), maxBytes: 2_000, keepFiles: 2 });
    for (let i = 0; i < 100; i++) h.append([{ revision: i, instrument: 'pm', param: 'wavelength_nm', old: i, new: i + 1, source: 'socket' }]);
    h.close();
    const { appendFileSync, readdirSync } = await import('node:fs');
    expect(readdirSync(join(dir, 'history')).sort()).toEqual(['history.1.jsonl', 'history.2.jsonl', 'history.jsonl']);
    appendFileSync(join(dir, 'history', 'history.jsonl'), '{"id":"99999999999999-0","instrument":"pm","par');
    const all = new HistoryLog({ stateDir: dir, log: pino({ level: 'silent' }) }).all();
    expect(all.length).toBeGreaterThan(10);
    expect(all.length).toBeLessThan(100);
    expect(all.at(-1)!.new).toBe(100);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('clock jumps and config changes in the history', () => {
  it('after a backwards jump an every schedule takes the next time after now (nothing runs twice)', async () => {
    const r = await start();
    const s = r.daemon.scheduler!;
    s.add('e1', { type: 'every', instrument: 'pm', param: 'wavelength_nm', value: 900, interval_ms: 600_000 }, 'socket');
    await advance(r, 600_000); // 10:10 ran
    expect(s.get('e1').fires).toBe(1);
    r.clock.now -= 300_000; // back to 10:05
    s.clockJumped(-300_000);
    expect(s.get('e1').nextDue).toBe('2026-12-01T10:20:00.000Z'); // not 10:10 again
    await advance(r, 300_000); // 10:10 again on the wall clock
    expect(s.get('e1').fires).toBe(1);
    await advance(r, 600_000);
    expect(s.get('e1').fires).toBe(2);
    expect(s.status().clockJumps).toBe(1);
  });

  it('detects a wall-clock jump against the monotonic clock (real timers)', async () => {
    const { Scheduler } = await import('../../src/services/scheduler/scheduler.js');
    const dir = mkdtempSync(join(tmpdir(), 'daqd-jump-'));
    const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
    const s = new Scheduler({ daemon: {} as Daemon, stateDir: dir, log: pino({ level: 'silent' }), clock: () => clock.now, timers: true });
    await s.tick();
    clock.now += 500; // within the tolerance
    await s.tick();
    expect(s.status().clockJumps).toBe(0);
    clock.now += 3_600_000; // an hour forward in no time
    await s.tick();
    clock.now -= 7_200_000; // two hours back
    await s.tick();
    expect(s.status().clockJumps).toBe(2);
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a version rollback is in the history as source rollback', async () => {
    const r = await start();
    await r.daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 900 } }, 'socket');
    await r.daemon.submit({ type: 'version.rollback', id: 'previous' }, 'socket');
    const e = r.daemon.history!.list({ instrument: 'pm', param: 'wavelength_nm' }).entries[0]!;
    expect(e).toMatchObject({ source: 'rollback', old: 900, new: 800 });
    expect(dev(r)).toBe(800);
  });

  it('a transaction commit is in the history as source tx with its id', async () => {
    const r = await start();
    const { id } = await r.daemon.tx.begin('socket');
    await r.daemon.tx.stage(id, { type: 'instrument.set', id: 'pm', params: { wavelength_nm: 650 } });
    await r.daemon.tx.commit(id, {} as never, 'socket');
    const e = r.daemon.history!.list({ instrument: 'pm', param: 'wavelength_nm' }).entries[0]!;
    expect(e).toMatchObject({ source: 'tx', sourceId: id, old: 800, new: 650 });
    expect(r.daemon.history!.list({ instrument: 'pm' }).entries.filter((x) => x.new === 650)).toHaveLength(1); // once
  });

  it('a file reload that changes a parameter is in the history with its source and the config value before', async () => {
    const r = await start();
    writeFileSync(join(r.dir, 'default.toml'), CONFIG.replace('wavelength_nm = 800', 'wavelength_nm = 700'));
    await r.daemon.submit({ type: 'config.reload', source: 'watcher' }, 'watcher');
    const e = r.daemon.history!.list({ instrument: 'pm' }).entries[0]!;
    expect(e).toMatchObject({ source: 'watcher', param: 'wavelength_nm', old: 800, new: 700 });
    expect(e.revision).toBe(r.daemon.revision);
  });
});
