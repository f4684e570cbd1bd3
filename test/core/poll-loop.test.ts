/**
 * The steady-state poll loop on its own, against a driver stand-in (the hardware edge) and
 * xstate's SimulatedClock: what a reading carries, how failures are counted and when the loop
 * hands back to the machine, and that a stopped loop delivers nothing.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { pino } from 'pino';
import { EventBus, type DaemonEvent } from '../../src/core/events.js';
import { FailureLog } from '../../src/core/instrument/failure-log.js';
import { MAX_CONSECUTIVE_FAILURES, PollLoop, newCounters } from '../../src/core/instrument/poll-loop.js';
import { DaqError } from '../../src/errors.js';
import type { DriverInstance, ParamValue, Readings, ReadingsMeta } from '../../src/drivers/types.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

function rig(poll: () => Promise<Readings>, meta?: () => ReadingsMeta | undefined, paramReadings: string[] = []) {
  const clock = new SimulatedClock();
  const events = new EventBus();
  const readings: Extract<DaemonEvent, { type: 'reading' }>[] = [];
  events.subscribe((e) => readings.push(e as Extract<DaemonEvent, { type: 'reading' }>), { types: ['reading'] });
  const counters = newCounters();
  const lost: unknown[] = [];
  const noted: [string, ParamValue][] = [];
  const driver = { poll, ...(meta ? { readingsMeta: meta } : {}) } as unknown as DriverInstance;
  const loop = new PollLoop({
    instrumentId: 'pm',
    driver,
    intervalMs: 100,
    counters,
    events,
    failures: new FailureLog(pino({ level: 'silent' }), () => clock.now()),
    readingUnits: { power: 'W' },
    paramReadings: new Set(paramReadings),
    noteDevice: (name, value) => noted.push([name, value]),
    onLost: (err) => lost.push(err),
    now: () => clock.now(),
    timers: clock,
  });
  const advance = async (ms: number) => {
    clock.increment(ms);
    await flush();
  };
  return { loop, counters, readings, lost, noted, advance };
}

describe('poll loop', () => {
  it('emits readings with sequence, declared units and the driver-reported units merged, and counts them', async () => {
    const dBm: ReadingsMeta = { units: { power: 'dBm' } };
    let useDbm = false;
    const r = rig(async () => ({ power: 1, shutter: 'open' }), () => (useDbm ? dBm : undefined), ['shutter']);
    r.loop.start();
    await flush();
    await r.advance(100);
    useDbm = true;
    await r.advance(100);
    await r.advance(100);
    expect(r.readings.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(r.readings[0]!.units).toEqual({ power: 'W' });
    expect(r.readings[2]!.units).toEqual({ power: 'dBm' });
    expect(r.readings[3]!.units).toBe(r.readings[2]!.units); // the same driver meta: merged once, not per reading
    expect(r.counters).toMatchObject({ seq: 4, polls: 4, pollErrors: 0, consecutiveFailures: 0 });
    expect(r.counters.lastReading).toBe(r.readings[3]);
    expect(r.noted).toEqual([['shutter', 'open'], ['shutter', 'open'], ['shutter', 'open'], ['shutter', 'open']]);
    r.loop.stop();
  });

  it('keeps polling through fewer than the allowed failures, then hands back once', async () => {
    let fail = 0;
    const r = rig(async () => {
      if (fail > 0) {
        fail--;
        throw new DaqError('timeout', 'no reply');
      }
      return { power: 1 };
    });
    fail = MAX_CONSECUTIVE_FAILURES - 1;
    r.loop.start();
    await flush();
    for (let i = 0; i < MAX_CONSECUTIVE_FAILURES; i++) await r.advance(100);
    expect(r.lost).toEqual([]);
    expect(r.counters).toMatchObject({ pollErrors: MAX_CONSECUTIVE_FAILURES - 1, consecutiveFailures: 0, polls: 2 }); // two failed, then two good ones
    expect(r.counters.lastError?.kind).toBe('timeout');
    fail = MAX_CONSECUTIVE_FAILURES;
    for (let i = 0; i < MAX_CONSECUTIVE_FAILURES + 3; i++) await r.advance(100);
    expect(r.lost).toHaveLength(1);
    expect(r.counters.pollErrors).toBe(2 * MAX_CONSECUTIVE_FAILURES - 1);
  });

  it('hands back at once when the connection is lost', async () => {
    const r = rig(async () => {
      throw new DaqError('disconnected', 'cable pulled');
    });
    r.loop.start();
    await flush();
    expect(r.lost).toHaveLength(1);
    await r.advance(1000);
    expect(r.lost).toHaveLength(1); // stopped: no more polls
    expect(r.counters.pollErrors).toBe(1);
  });

  it('a loop stopped while a poll is on the wire delivers nothing and polls no more', async () => {
    let answer: ((r: Readings) => void) | undefined;
    let polls = 0;
    const r = rig(
      () =>
        new Promise<Readings>((resolve) => {
          polls++;
          answer = resolve;
        }),
    );
    r.loop.start();
    r.loop.stop();
    answer!({ power: 1 });
    await flush();
    await r.advance(1000);
    expect(r.readings).toEqual([]);
    expect(polls).toBe(1);
  });

  it('a driver that throws synchronously is a failed poll, not a crash', async () => {
    const r = rig((() => {
      throw new DaqError('protocol_error', 'garbage');
    }) as unknown as () => Promise<Readings>);
    r.loop.start();
    await flush();
    expect(r.counters.pollErrors).toBe(1);
    expect(r.counters.lastError?.kind).toBe('protocol_error');
    r.loop.stop();
  });
});
