/**
 * Next-time computation for `every` schedules (issue #22): croner for cron expressions and
 * clock-aligned intervals in a time zone, windows across weekends, holidays, and DST changes in
 * Europe/Berlin, America/New_York and Australia/Lord_Howe (a 30-minute DST shift).
 */
import { describe, expect, it } from 'vitest';
import { active, nextRun, parseWindow, scheduleSpecSchema } from '../../src/services/scheduler/spec.js';

const spec = (s: Record<string, unknown>) => scheduleSpecSchema.parse({ type: 'every', instrument: 'pm', param: 'wavelength_nm', value: 900, ...s });
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const runs = (s: ReturnType<typeof spec>, from: string, n: number) => {
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i++) {
    t = nextRun(s, t)!;
    out.push(iso(t)!);
  }
  return out;
};

describe('aligned intervals and windows', () => {
  it('every 30 min at :00 and :30 inside 09:30-16:00 Mon-Fri, skipping the weekend (Europe/Berlin)', () => {
    const s = spec({ interval_ms: 30 * 60_000, tz: 'Europe/Berlin', windows: ['09:30-16:00 Mon-Fri'] });
    // Friday 2026-12-04 15:10 Berlin (14:10Z): 15:30 Fri, then Monday 09:30
    expect(runs(s, '2026-12-04T14:10:00Z', 3)).toEqual(['2026-12-04T14:30:00.000Z', '2026-12-07T08:30:00.000Z', '2026-12-07T09:00:00.000Z']);
  });

  it('skips holidays (local dates in the zone)', () => {
    const s = spec({ interval_ms: 60 * 60_000, tz: 'America/New_York', windows: ['09:00-10:00 Mon-Fri'], holidays: ['2026-12-25'] });
    // Thu 24 Dec 09:00 NY = 14:00Z; Fri 25 is a holiday; next Mon 28
    expect(runs(s, '2026-12-24T13:00:00Z', 2)).toEqual(['2026-12-24T14:00:00.000Z', '2026-12-28T14:00:00.000Z']);
  });

  it('parses windows and refuses bad ones', () => {
    expect([...parseWindow('09:30-16:00 Mon-Fri').days]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseWindow('Fri-Mon').days].sort()).toEqual([0, 1, 5, 6]);
    expect(() => parseWindow('9-5 Mon')).toThrow();
    expect(scheduleSpecSchema.safeParse({ type: 'every', instrument: 'pm', param: 'x', value: 1, cron: '0 * * * *', windows: ['25:00-26:00'] }).success).toBe(false);
    expect(scheduleSpecSchema.safeParse({ type: 'every', instrument: 'pm', param: 'x', value: 1, cron: 'not a cron' }).success).toBe(false);
    expect(scheduleSpecSchema.safeParse({ type: 'every', instrument: 'pm', param: 'x', value: 1, cron: '0 * * * *', tz: 'Mars/Olympus' }).success).toBe(false);
  });

  it('an overnight window belongs to the day it starts on', () => {
    const s = spec({ interval_ms: 3_600_000, windows: ['22:00-02:00 Fri'] });
    expect(active(Date.parse('2026-12-04T23:00:00Z'), s)).toBe(true); // Fri 23:00
    expect(active(Date.parse('2026-12-05T01:00:00Z'), s)).toBe(true); // Sat 01:00 (from Fri)
    expect(active(Date.parse('2026-12-05T23:00:00Z'), s)).toBe(false); // Sat 23:00
  });
});

describe('DST', () => {
  it('Europe/Berlin spring forward: a daily 02:30 runs once, at 03:00 local (01:00Z)', () => {
    const s = spec({ cron: '30 2 * * *', tz: 'Europe/Berlin' });
    expect(runs(s, '2026-03-28T12:00:00Z', 2)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('Europe/Berlin fall back: a daily 02:30 runs once', () => {
    const s = spec({ cron: '30 2 * * *', tz: 'Europe/Berlin' });
    expect(runs(s, '2026-10-24T12:00:00Z', 2)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('America/New_York: hourly aligned runs keep local :00 across the change; 09:30 stays 09:30 local', () => {
    const s = spec({ interval_ms: 3_600_000, tz: 'America/New_York' });
    // 2026-03-08 02:00 local does not exist: 01:00 EST (06:00Z), then 03:00 EDT (07:00Z)
    expect(runs(s, '2026-03-08T05:30:00Z', 3)).toEqual(['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']);
    const open = spec({ cron: '30 9 * * 1-5', tz: 'America/New_York' });
    expect(runs(open, '2026-03-06T15:00:00Z', 2)).toEqual(['2026-03-09T13:30:00.000Z', '2026-03-10T13:30:00.000Z']); // EDT now: 13:30Z
  });

  it('Australia/Lord_Howe (30-minute shift): daily 02:15 on the spring-forward day fires once', () => {
    // 2026-10-04 02:00 local -> 02:30 (UTC+10:30 -> +11). 02:15 does not exist.
    const s = spec({ cron: '15 2 * * *', tz: 'Australia/Lord_Howe' });
    const [first, second] = runs(s, '2026-10-03T12:00:00Z', 2);
    expect(Date.parse(second!) - Date.parse(first!)).toBeGreaterThan(22 * 3_600_000);
    expect(first).toBe('2026-10-03T15:30:00.000Z'); // 02:30 local (+11): the first valid time after the gap
    expect(second).toBe('2026-10-04T15:15:00.000Z');
  });

  it('windows follow local time across a DST change (Lord_Howe 09:00-10:00 every 30 min)', () => {
    const s = spec({ interval_ms: 30 * 60_000, tz: 'Australia/Lord_Howe', windows: ['09:00-10:00'] });
    // before: +10:30 (09:00 local = 22:30Z prev day); after: +11 (22:00Z)
    expect(runs(s, '2026-10-02T22:00:00Z', 2)).toEqual(['2026-10-02T22:30:00.000Z', '2026-10-02T23:00:00.000Z']);
    expect(runs(s, '2026-10-04T21:00:00Z', 1)).toEqual(['2026-10-04T22:00:00.000Z']);
  });
});
