/**
 * The instrument machine's timing decisions (backoff, reconnect, poll interval) on xstate's
 * SimulatedClock, with the invoked I/O swapped for controllable stand-ins via machine.provide():
 * the hardware edge is the only thing faked.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { pino } from 'pino';
import { instrumentMachine, BACKOFF_BASE_MS, BACKOFF_MAX_MS, MAX_CONSECUTIVE_FAILURES } from '../../src/core/instrument/machine.js';
import { EventBus } from '../../src/core/events.js';
import { DaqError } from '../../src/errors.js';
import { resolveInstrument } from '../../src/config/resolve.js';
import type { PortHub } from '../../src/transport/port-hub.js';
import type { Session } from '../../src/core/instrument/session.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

function rig(opts: { connect: () => Promise<unknown>; poll: () => Promise<Record<string, number>>; pollIntervalMs?: number }) {
  const clock = new SimulatedClock();
  const events = new EventBus();
  const readings: number[] = [];
  events.subscribe((e) => {
    if (e.type === 'reading') readings.push(clock.now());
  });
  const machine = instrumentMachine.provide({
    actors: {
      // The hardware edge: a session whose driver answers polls as the test says.
      connect: fromPromise(async () => ({ initial: {}, driver: { poll: opts.poll }, ...((await opts.connect()) as object) }) as unknown as Session),
      close: fromPromise(async () => {}),
    },
  });
  const spec = resolveInstrument('pm1', { driver: 'newport_1830c', port: 'sim', poll_interval_ms: opts.pollIntervalMs ?? 1000 });
  const actor = createActor(machine, {
    clock,
    input: { spec, deps: { hub: {} as PortHub, events, log: pino({ level: 'silent' }), now: () => clock.now(), timers: clock } },
  });
  const state = () => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : Object.keys(v)[0];
  };
  return { clock, actor, readings, state };
}

async function advance(clock: SimulatedClock, ms: number) {
  clock.increment(ms);
  await flush();
}

describe('instrument machine timing (SimulatedClock)', () => {
  it('retries a failing connect with doubling backoff, capped', async () => {
    let attempts = 0;
    const r = rig({
      connect: async () => {
        attempts++;
        throw new DaqError('port_not_found', 'no such port');
      },
      poll: async () => ({ power: 1 }),
    });
    r.actor.start();
    await flush();
    expect(r.state()).toBe('error');
    expect(attempts).toBe(1);
    const expected = [1, 2, 4, 8, 16, 32, 64].map((m) => Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * m));
    for (const wait of expected) {
      const before = attempts;
      await advance(r.clock, wait - 1);
      expect(attempts).toBe(before); // not a millisecond early
      await advance(r.clock, 1);
      expect(attempts).toBe(before + 1);
    }
    r.actor.stop();
  });

  it('polls every interval, measured start to start, and reconnects after repeated failures', async () => {
    let failing = false;
    const r = rig({
      connect: async () => ({}),
      poll: async () => {
        if (failing) throw new DaqError('timeout', 'no reply');
        return { power: 1 };
      },
      pollIntervalMs: 100,
    });
    r.actor.start();
    await flush();
    expect(r.state()).toBe('ready');
    for (let i = 0; i < 5; i++) await advance(r.clock, 100);
    expect(r.readings).toEqual([0, 100, 200, 300, 400, 500]);
    failing = true;
    for (let i = 0; i < MAX_CONSECUTIVE_FAILURES; i++) await advance(r.clock, 100);
    expect(r.state()).toBe('error');
    expect(r.actor.getSnapshot().context.counters.lastError?.kind).toBe('timeout');
    failing = false;
    await advance(r.clock, BACKOFF_BASE_MS);
    expect(r.state()).toBe('ready');
    r.actor.stop();
  });

  it('a new poll interval applies from the last poll start: shorter at once, never a burst', async () => {
    const r = rig({ connect: async () => ({}), poll: async () => ({ power: 1 }), pollIntervalMs: 1000 });
    r.actor.start();
    await flush();
    await advance(r.clock, 300);
    r.actor.send({ type: 'poll.interval', ms: 200 });
    await flush();
    expect(r.readings).toEqual([0]); // 300 ms since the last poll started: the next is due at 200 ms, i.e. now
    await advance(r.clock, 0);
    expect(r.readings).toEqual([0, 300]);
    await advance(r.clock, 199);
    expect(r.readings).toEqual([0, 300]);
    await advance(r.clock, 1);
    expect(r.readings).toEqual([0, 300, 500]);
    r.actor.stop();
  });

  it('keeps polls on their grid when a timer fires a little late, and moves the grid after a long stall (no burst)', async () => {
    const r = rig({ connect: async () => ({}), poll: async () => ({ power: 1 }), pollIntervalMs: 100 });
    r.actor.start();
    await flush();
    await advance(r.clock, 103); // the poll due at 100 runs 3 ms late
    await advance(r.clock, 96);
    expect(r.readings).toEqual([0, 103]); // not yet at 199
    await advance(r.clock, 1);
    expect(r.readings).toEqual([0, 103, 200]); // back on the grid, not 203
    await advance(r.clock, 160); // the poll due at 300 runs at 360: more than half an interval late
    expect(r.readings).toEqual([0, 103, 200, 360]);
    await advance(r.clock, 99);
    expect(r.readings).toEqual([0, 103, 200, 360]);
    await advance(r.clock, 1);
    expect(r.readings).toEqual([0, 103, 200, 360, 460]); // the grid moved: one poll, never two to catch up
    r.actor.stop();
  });
});
