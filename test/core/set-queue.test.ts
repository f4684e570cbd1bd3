/**
 * The instrument's set queue: one set at a time in arrival order, the device's confirmed values
 * recorded before the caller hears, and a lost connection failing every unconfirmed set (never a
 * late success). The driver is the faked hardware edge: each setParam waits until the test lets it
 * finish.
 */
import { describe, expect, it } from 'vitest';
import { SetQueue, type SetJob } from '../../src/core/instrument/set-queue.js';
import type { Session } from '../../src/core/instrument/session.js';
import type { ParamValue } from '../../src/drivers/types.js';
import { failure } from '../helpers/errors.js';

interface Pending {
  name: string;
  value: ParamValue;
  finish(): void;
  fail(err: Error): void;
}

/** A session whose driver answers each setParam only when the test says so. */
function fakeSession() {
  const calls: Pending[] = [];
  let notify: (() => void) | undefined;
  const session = {
    driver: {
      setParam: (name: string, value: ParamValue) =>
        new Promise<ParamValue>((resolve, reject) => {
          calls.push({ name, value, finish: () => resolve(value), fail: reject });
          notify?.();
        }),
    },
    initial: {},
  } as unknown as Session;
  /** Resolves once the driver has been asked for `n` sets in all. */
  const asked = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`driver asked ${calls.length} times, waited for ${n}`)), 2000);
      const check = () => {
        if (calls.length >= n) {
          clearTimeout(timer);
          notify = undefined;
          resolve();
        }
      };
      notify = check;
      check();
    });
  return { session, calls, asked };
}

function job(params: Record<string, ParamValue>) {
  let settle!: { resolve: (v: Record<string, ParamValue>) => void; reject: (e: unknown) => void };
  const done = new Promise<Record<string, ParamValue>>((resolve, reject) => (settle = { resolve, reject }));
  const j: SetJob = { params, reply: settle };
  return { job: j, done };
}

describe('SetQueue', () => {
  it('runs sets one at a time in arrival order and records what the device confirmed before answering', async () => {
    const queue = new SetQueue('pm1');
    const confirmed: Record<string, ParamValue>[] = [];
    const record = () => confirmed.push(queue.deviceValues().values);
    const dev = fakeSession();
    queue.open(dev.session);
    const a = job({ wavelength_nm: 800 });
    const b = job({ wavelength_nm: 900 });
    queue.enqueue(a.job);
    queue.enqueue(b.job);
    await dev.asked(1);
    expect(dev.calls.map((c) => c.value)).toEqual([800]); // b waits for a
    dev.calls[0]!.finish();
    expect(await a.done).toEqual({ wavelength_nm: 800 });
    record();
    expect(confirmed).toEqual([{ wavelength_nm: 800 }]);
    await dev.asked(2);
    dev.calls[1]!.finish();
    expect(await b.done).toEqual({ wavelength_nm: 900 });
    record();
    expect(confirmed).toEqual([{ wavelength_nm: 800 }, { wavelength_nm: 900 }]);
  });

  it('a device error fails that set only; the next one still runs', async () => {
    const queue = new SetQueue('pm1');
    const dev = fakeSession();
    queue.open(dev.session);
    const a = job({ wavelength_nm: 800 });
    const b = job({ wavelength_nm: 900 });
    queue.enqueue(a.job);
    queue.enqueue(b.job);
    await dev.asked(1);
    dev.calls[0]!.fail(new Error('meter refused'));
    await expect(a.done).rejects.toThrow('meter refused');
    await dev.asked(2);
    dev.calls[1]!.finish();
    expect(await b.done).toEqual({ wavelength_nm: 900 });
  });

  it('a lost connection fails every unconfirmed set with not_ready, and a late answer changes nothing', async () => {
    const queue = new SetQueue('pm1');
    const old = fakeSession();
    queue.open(old.session);
    const inFlight = job({ wavelength_nm: 800 });
    const waiting = job({ wavelength_nm: 900 });
    queue.enqueue(inFlight.job);
    queue.enqueue(waiting.job);
    await old.asked(1);
    queue.close();
    for (const err of await Promise.all([failure(inFlight.done), failure(waiting.done)])) {
      expect(err.kind).toBe('not_ready');
      expect(err.message).toMatch(/pm1 lost its connection before the set was applied/);
    }
    // Closed: refused at once, never parked.
    const refused = job({ wavelength_nm: 1000 });
    queue.enqueue(refused.job);
    expect((await failure(refused.done)).kind).toBe('not_ready');

    // Reconnected: a new set runs on the new session once the old one's set is over.
    const fresh = fakeSession();
    queue.open(fresh.session);
    const next = job({ wavelength_nm: 1064 });
    queue.enqueue(next.job);
    old.calls[0]!.finish(); // the old device answers late
    await fresh.asked(1);
    fresh.calls[0]!.finish();
    expect(await next.done).toEqual({ wavelength_nm: 1064 });
    expect(queue.deviceValues().values).toEqual({ wavelength_nm: 1064 }); // the late 800 was never recorded
    expect(old.calls).toHaveLength(1); // nothing else went to the lost device
  });

  it('abort fails the queued sets with aborted, tells the driver to stop, and the lane goes on', async () => {
    const queue = new SetQueue('stage');
    const dev = fakeSession();
    let stops = 0;
    (dev.session.driver as { abort?: () => Promise<void> }).abort = async () => {
      stops++;
      dev.calls[0]?.fail(Object.assign(new Error('stopped'), {}));
    };
    queue.open(dev.session);
    const moving = job({ axis1_position: 20 });
    const queued = job({ axis1_position: 5 });
    queue.enqueue(moving.job);
    queue.enqueue(queued.job);
    await dev.asked(1);
    expect(queue.busy()?.params).toEqual(['axis1_position']);
    expect(queue.abort('aborted by test')).toEqual({ aborted: true, failed: 1 });
    expect(stops).toBe(1);
    expect((await failure(queued.done)).kind).toBe('aborted');
    expect((await failure(moving.done)).kind).toBe('aborted'); // failed after the abort: counts as aborted
    expect(dev.calls).toHaveLength(1); // the queued move never went out
    const after = job({ axis1_velocity: 2 });
    queue.enqueue(after.job);
    await dev.asked(2);
    dev.calls[1]!.finish();
    expect(await after.done).toEqual({ axis1_velocity: 2 });
    expect(queue.abort('nothing to abort')).toEqual({ aborted: false, failed: 0 });
  });

  it('an urgent set aborts the operation in flight, fails the queue, and runs next', async () => {
    const queue = new SetQueue('laser');
    const dev = fakeSession();
    queue.open(dev.session);
    const tuning = job({ wavelength_nm: 900 });
    const queued = job({ shutter: true });
    const safe = job({ shutter: false });
    queue.enqueue(tuning.job);
    queue.enqueue(queued.job);
    await dev.asked(1);
    queue.enqueueUrgent(safe.job, 'interlock');
    expect((await failure(queued.done)).kind).toBe('aborted');
    dev.calls[0]!.finish(); // a short set that cannot be stopped just finishes
    expect(await tuning.done).toEqual({ wavelength_nm: 900 });
    await dev.asked(2);
    expect(dev.calls.map((c) => [c.name, c.value])).toEqual([
      ['wavelength_nm', 900],
      ['shutter', false],
    ]);
    dev.calls[1]!.finish();
    expect(await safe.done).toEqual({ shutter: false });
  });
});

describe('what a reused view is stamped with (instrument.get, DaemonViews)', () => {
  it('deviceVersion moves with every change of the device values, and only then', () => {
    const q = new SetQueue('pm');
    const v0 = q.deviceVersion;
    q.noteDevice({});
    expect(q.deviceVersion).toBe(v0);
    q.noteDevice({ wavelength_nm: 800 });
    const v1 = q.deviceVersion;
    expect(v1).not.toBe(v0);
    q.noteDeviceValue('wavelength_nm', 800, new Date().toISOString());
    const v2 = q.deviceVersion;
    expect(v2).not.toBe(v1);
    q.forgetDevice();
    expect(q.deviceVersion).not.toBe(v2);
  });
});
