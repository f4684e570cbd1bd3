/**
 * Inputs that stop arriving: a derived module stops publishing and names the stale input; a
 * monitor raises a separate "stale" alarm. The clock is faked (time is the subject here), the
 * modules are the real ones.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { derivedType } from '../../src/modules/types/derived.js';
import { monitorType } from '../../src/modules/types/monitor.js';
import { eventsOf, fakeContext, reading } from './types-context.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('derived max_age_ms', () => {
  function ratio(extra: Record<string, unknown> = { max_age_ms: 1000 }) {
    const ctx = fakeContext(derivedType, { expression: 'a.x / b.y', output: 'ratio', ...extra }, { a: 'ia', b: 'ib' }, 'ratio');
    const instance = derivedType.create(ctx);
    /** A reading taken `at` ms after T0, delivered with the clock at that time. */
    const feed = (instrument: string, values: Record<string, number>, at: number) => {
      vi.setSystemTime(T0 + at);
      instance.handleEvent(reading(instrument, values, T0 + at));
    };
    const published = () => eventsOf(ctx, 'module.reading').map((e) => e.values.ratio);
    return { ctx, instance, feed, published };
  }

  it('publishes nothing while an input is older than max_age_ms, names it, and resumes when it is fresh', () => {
    const r = ratio();
    r.feed('ia', { x: 1 }, 0);
    r.feed('ib', { y: 4 }, 100);
    r.feed('ia', { x: 2 }, 1100); // b.y is exactly 1000 ms old: still fresh
    expect(r.published()).toEqual([0.25, 0.5]);

    r.feed('ia', { x: 3 }, 1500); // b.y is 1400 ms old
    expect(r.published()).toEqual([0.25, 0.5]);
    const status = r.instance.status();
    expect(status.stale).toEqual(['b.y']);
    expect(status.note).toBe('stale: b.y (last read 1.4 s ago) is older than max_age_ms = 1000; no reading published');
    expect(status).toMatchObject({ maxAgeMs: 1000, lastValue: 0.5, published: 2 });

    r.feed('ib', { y: 6 }, 1600);
    expect(r.published()).toEqual([0.25, 0.5, 0.5]);
    expect(r.instance.status().stale).toEqual([]);
    expect(r.instance.status().note).toBeUndefined();
  });

  it('status judges staleness now: when every input has gone silent it lists them all', () => {
    const r = ratio();
    r.feed('ia', { x: 1 }, 0);
    r.feed('ib', { y: 2 }, 200);
    expect(r.instance.status().stale).toEqual([]);
    vi.setSystemTime(T0 + 5000);
    const status = r.instance.status();
    expect(status.stale).toEqual(['a.x', 'b.y']);
    expect(status.note).toBe('stale: a.x (last read 5.0 s ago), b.y (last read 4.8 s ago) are older than max_age_ms = 1000; no reading published');
  });

  it('is off by default: an old input keeps being used', () => {
    const r = ratio({});
    r.feed('ia', { x: 1 }, 0);
    r.feed('ib', { y: 2 }, 100_000);
    expect(r.published()).toEqual([0.5]);
    expect(r.instance.status()).not.toHaveProperty('stale');
  });

  it('must be a whole number of ms from 1 up to what a timer can wait', () => {
    const issue = (v: unknown) => derivedType.settingsSchema.safeParse({ expression: 'a.x', max_age_ms: v }).error?.issues[0];
    expect(issue(0)).toMatchObject({ path: ['max_age_ms'] });
    expect(issue(1.5)).toMatchObject({ path: ['max_age_ms'] });
    expect(issue(3e9)!.message).toMatch(/at most 2147483647/);
    expect(issue(1)).toBeUndefined();
  });
});

describe('monitor max_age_ms', () => {
  function monitor(extra: Record<string, unknown> = { max_age_ms: 1000 }, previous?: Record<string, unknown>) {
    const ctx = fakeContext(monitorType, { reading: 'power', high: 1, ...extra }, { source: 'pm' }, 'watch');
    const instance = monitorType.create(previous ? { ...ctx, previous } : ctx);
    const feed = (value: number | string) => instance.handleEvent(reading('pm', { power: value }, Date.now()));
    const alarms = () => eventsOf(ctx, 'module.alarm');
    return { ctx, instance, feed, alarms };
  }

  it('raises one stale alarm when the source is silent for max_age_ms, and clears it on the next reading', () => {
    const m = monitor();
    vi.advanceTimersByTime(500);
    m.feed(0.5);
    vi.advanceTimersByTime(999); // 999 ms since the reading
    expect(m.alarms()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(m.alarms()).toEqual([
      {
        type: 'module.alarm',
        module: 'watch',
        active: true,
        cause: 'stale',
        message: 'pm.power has not been read for 1.0 s (max_age_ms = 1000; last value 0.5): the monitor cannot see it',
      },
    ]);
    expect(m.instance.status()).toMatchObject({ stale: true, alarm: false, lastValue: 0.5, maxAgeMs: 1000, staleSince: new Date(T0 + 1500).toISOString() });

    vi.advanceTimersByTime(60_000);
    expect(m.alarms()).toHaveLength(1);

    m.feed(0.6);
    expect(m.alarms()[1]).toMatchObject({ active: false, cause: 'stale', value: 0.6, message: 'pm.power is read again (0.6) after 61.0 s' });
    expect(m.instance.status()).toMatchObject({ stale: false });
    expect(m.instance.status()).not.toHaveProperty('staleSince');

    // And the clock restarts: silent again, stale again.
    vi.advanceTimersByTime(1000);
    expect(m.alarms().map((a) => [a.cause, a.active])).toEqual([
      ['stale', true],
      ['stale', false],
      ['stale', true],
    ]);
  });

  it('a source that never reports goes stale max_age_ms after the start; readings that are not numbers do not count', () => {
    const m = monitor();
    vi.advanceTimersByTime(600);
    m.feed('OVER');
    vi.advanceTimersByTime(400);
    expect(m.alarms()).toHaveLength(1);
    expect(m.alarms()[0]!.message).toBe('pm.power has not been read for 1.0 s (max_age_ms = 1000; no reading yet): the monitor cannot see it');
  });

  it('keeps the limit alarm separate: staleness neither raises nor clears it', () => {
    const m = monitor();
    m.feed(2);
    expect(m.alarms()[0]).toMatchObject({ active: true, cause: 'limit', value: 2 });
    vi.advanceTimersByTime(1000);
    expect(m.instance.status()).toMatchObject({ alarm: true, side: 'high', stale: true });
    m.feed(0.5);
    expect(m.alarms().map((a) => [a.cause, a.active])).toEqual([
      ['limit', true],
      ['stale', true],
      ['stale', false],
      ['limit', false],
    ]);
  });

  it('is off by default: no timer, no stale field', () => {
    const m = monitor({});
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1e7);
    expect(m.alarms()).toEqual([]);
    expect(m.instance.status()).not.toHaveProperty('stale');
  });

  it('dispose stops the timer', () => {
    const m = monitor();
    expect(vi.getTimerCount()).toBe(1);
    m.instance.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a replacement of a stale monitor stays stale without a second raise; a reading clears it', () => {
    const m = monitor({ max_age_ms: 1000 }, { stale: true, staleSince: '2026-01-01T11:00:00.000Z' });
    expect(m.instance.status()).toMatchObject({ stale: true, staleSince: '2026-01-01T11:00:00.000Z' });
    vi.advanceTimersByTime(5000);
    expect(m.alarms()).toEqual([]);
    m.feed(0.1);
    expect(m.alarms()).toMatchObject([{ active: false, cause: 'stale' }]);
  });
});
