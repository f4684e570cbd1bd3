import { describe, expect, it } from 'vitest';
import { DaqError, isDaqError } from '../../src/errors.js';
import { interlockType } from '../../src/modules/types/interlock.js';
import { eventsOf, fakeContext, reading } from './types-context.js';

const SETTINGS = { reading: 'power_w', above: 1.5, parameter: 'shutter', value: false };

function interlock(settings: Record<string, unknown> = SETTINGS) {
  const ctx = fakeContext(interlockType, settings, { sensor: 'meter', actuator: 'laser' }, 'guard');
  const instance = interlockType.create(ctx);
  const feed = (...values: number[]) => values.forEach((v) => instance.handleEvent(reading('meter', { power_w: v })));
  return { ctx, instance, feed, trips: () => eventsOf(ctx, 'module.interlock') };
}

function resetError(instance: { reset?: () => void }): DaqError | undefined {
  try {
    instance.reset!();
    return undefined;
  } catch (err) {
    if (isDaqError(err)) return err;
    throw err;
  }
}

describe('interlock settings and roles', () => {
  it('needs a limit, parameter and value, and refuses unknown keys', () => {
    expect(interlockType.settingsSchema.safeParse({ reading: 'power_w', parameter: 'shutter', value: false }).error!.issues[0]!.message).toMatch(
      /"above" and\/or a "below"/,
    );
    expect(interlockType.settingsSchema.safeParse({ reading: 'power_w', above: 1, parameter: 'shutter' }).error!.issues[0]!.path).toEqual(['value']);
    const extra = interlockType.settingsSchema.safeParse({ ...SETTINGS, abvoe: 2 });
    expect(extra.error!.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['abvoe'] });
    expect(interlockType.settingsSchema.safeParse({ ...SETTINGS, below: 2 }).error!.issues[0]!.path).toEqual(['below']);
  });

  it('sensor needs the reading, actuator needs the parameter settable', () => {
    const roles = interlockType.roles(interlockType.settingsSchema.parse(SETTINGS));
    expect(roles.map((r) => [r.name, r.required, r.needs])).toEqual([
      ['sensor', true, [{ kind: 'reading', name: 'power_w' }]],
      ['actuator', true, [{ kind: 'settable', name: 'shutter', value: false }]],
    ]);
  });
});

describe('interlock', () => {
  it('trips once, submits the set command, stays latched; reset refused while over, accepted after', async () => {
    const g = interlock();
    g.feed(1.0, 1.5); // equal to the limit is within
    expect(g.trips()).toEqual([]);
    expect(g.ctx.submits).toEqual([]);

    g.feed(1.6);
    expect(g.trips()).toHaveLength(1);
    expect(g.trips()[0]).toMatchObject({ module: 'guard', tripped: true });
    expect(g.trips()[0]!.message).toContain('meter.power_w = 1.6 is above the limit 1.5');
    expect(g.trips()[0]!.message).toContain('laser.shutter = false');
    expect(g.ctx.submits.map((s) => s.command)).toEqual([{ type: 'instrument.set', id: 'laser', params: { shutter: false } }]);
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'pending', attempts: 1 });

    g.ctx.submits[0]!.resolve();
    await g.ctx.submits[0]!.settled;
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'done' });

    g.feed(2.0, 0.5, 1.7); // latched: no new trip, no new command, even after dipping back in and out
    expect(g.trips()).toHaveLength(1);
    expect(g.ctx.submits).toHaveLength(1);

    const refused = resetError(g.instance);
    expect(refused?.kind).toBe('conflict');
    expect(refused?.message).toMatch(/guard stays tripped: meter\.power_w = 1\.7 is still above the limit 1\.5/);
    expect(g.instance.status().tripped).toBe(true);

    g.feed(1.2);
    expect(resetError(g.instance)).toBeUndefined();
    expect(g.trips()).toHaveLength(2);
    expect(g.trips()[1]).toMatchObject({ tripped: false });
    expect(g.instance.status()).toMatchObject({ tripped: false, action: 'none' });
    expect(g.ctx.submits).toHaveLength(1); // reset does not undo the action: the shutter stays closed

    g.feed(3);
    expect(g.trips().map((t) => t.tripped)).toEqual([true, false, true]);
    expect(g.ctx.submits).toHaveLength(2);
  });

  it('trips below a lower limit and resets with no effect when not tripped', () => {
    const g = interlock({ reading: 'power_w', below: 0.1, parameter: 'emission', value: 'off' });
    expect(resetError(g.instance)).toBeUndefined();
    expect(g.trips()).toEqual([]);
    g.feed(0.05);
    expect(g.trips()[0]!.message).toContain('below the limit 0.1');
    expect(g.ctx.submits[0]!.command).toEqual({ type: 'instrument.set', id: 'laser', params: { emission: 'off' } });
  });

  it('keeps latched on a failed action, reports it once, retries on the next reading with one attempt in flight', async () => {
    const g = interlock();
    g.feed(2);
    g.ctx.submits[0]!.reject(new DaqError('timeout', 'laser did not answer within 500 ms'));
    await g.ctx.submits[0]!.settled;
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'failed', lastError: 'laser did not answer within 500 ms' });
    expect(g.trips()).toHaveLength(2);
    expect(g.trips()[1]).toMatchObject({ tripped: true });
    expect(g.trips()[1]!.message).toMatch(/could not set laser\.shutter = false: laser did not answer within 500 ms/);

    // Readings of either role's instrument trigger one retry; more readings while it is in flight do not.
    g.instance.handleEvent(reading('laser', { power_w: 3 }));
    g.feed(2, 2, 2);
    g.instance.handleEvent(reading('elsewhere', { x: 1 }));
    expect(g.ctx.submits).toHaveLength(2);
    expect(g.ctx.submits[1]!.command).toEqual(g.ctx.submits[0]!.command);

    // The same failure again is not news: no new event.
    g.ctx.submits[1]!.reject(new DaqError('timeout', 'laser did not answer within 500 ms'));
    await g.ctx.submits[1]!.settled;
    expect(g.trips()).toHaveLength(2);
    expect(g.ctx.submits).toHaveLength(2); // nothing retried until the next reading

    g.feed(2);
    expect(g.ctx.submits).toHaveLength(3);
    g.ctx.submits[2]!.resolve();
    await g.ctx.submits[2]!.settled;
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'done', attempts: 3 });
    expect(g.trips()).toHaveLength(3);
    expect(g.trips()[2]!.message).toMatch(/set on attempt 3/);

    g.feed(2, 2);
    expect(g.ctx.submits).toHaveLength(3);
  });

  it('treats a submit that throws synchronously as a failed attempt, not a crash', async () => {
    const g = interlock();
    let calls = 0;
    g.ctx.submit = () => {
      calls += 1;
      throw new DaqError('not_found', 'instrument "laser" does not exist');
    };
    g.feed(2);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'failed' });
    expect(g.trips()[1]!.message).toContain('instrument "laser" does not exist');
  });

  it('ignores the outcome of an attempt that finishes after a reset', async () => {
    const g = interlock();
    g.feed(2);
    g.feed(1);
    g.instance.reset!();
    g.ctx.submits[0]!.reject(new DaqError('timeout', 'late'));
    await g.ctx.submits[0]!.settled;
    expect(g.instance.status()).toMatchObject({ tripped: false, action: 'none' });
    expect(g.trips().map((t) => t.tripped)).toEqual([true, false]);
  });
});

describe('interlock reconfigured while tripped', () => {
  it('starts tripped when the instance it replaces was tripped, and still refuses a reset over the limit', () => {
    const ctx = fakeContext(interlockType, SETTINGS, { sensor: 'meter', actuator: 'laser' }, 'guard');
    const instance = interlockType.create({ ...ctx, previous: { tripped: true, since: '2026-01-01T00:00:00.000Z', action: 'done', lastValue: 2 } });
    expect(instance.status()).toMatchObject({ tripped: true, since: '2026-01-01T00:00:00.000Z', action: 'done' });
    expect(resetError(instance)?.kind).toBe('conflict');
    instance.handleEvent(reading('meter', { power_w: 1 }));
    instance.reset!();
    expect(instance.status()).toMatchObject({ tripped: false });
  });

  it('retries the safe action on the next reading if the replaced one had not confirmed it', () => {
    const ctx = fakeContext(interlockType, SETTINGS, { sensor: 'meter', actuator: 'laser' }, 'guard');
    const instance = interlockType.create({ ...ctx, previous: { tripped: true, action: 'failed' } });
    instance.handleEvent(reading('meter', { power_w: 2 }));
    expect(ctx.submits.map((s) => s.command)).toEqual([{ type: 'instrument.set', id: 'laser', params: { shutter: false } }]);
  });
});
