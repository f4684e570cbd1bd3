import { describe, expect, it } from 'vitest';
import { DaqError } from '../../src/errors.js';
import { interlockType } from '../../src/modules/types/interlock.js';
import { interlock, SETTINGS } from './interlock-harness.js';

const CLOSE = 'laser.shutter=false module:guard';

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

  it('defaults to tripping on sensor loss; checks unit, max_age_ms and on_sensor_loss', () => {
    expect(interlockType.settingsSchema.parse(SETTINGS)).toEqual({ ...SETTINGS, reassert: true, on_sensor_loss: 'trip' });
    const issue = (extra: Record<string, unknown>) => interlockType.settingsSchema.safeParse({ ...SETTINGS, ...extra }).error?.issues[0];
    expect(issue({ on_sensor_loss: 'ignore' })).toMatchObject({ path: ['on_sensor_loss'] });
    expect(issue({ unit: '' })).toMatchObject({ path: ['unit'] });
    expect(issue({ max_age_ms: 0 })).toMatchObject({ path: ['max_age_ms'] });
    expect(issue({ unit: 'dBm', max_age_ms: 3000, on_sensor_loss: 'hold' })).toBeUndefined();
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
  it('trips once, holds then enforces through the safety lane (never submit), stays latched; reset refused while over, accepted after', async () => {
    const g = interlock();
    g.feed(1.0, 1.5); // equal to the limit is within
    expect(g.events()).toEqual([]);
    expect(g.safety.calls).toEqual([]);

    g.feed(1.6);
    expect(g.events()).toHaveLength(1);
    expect(g.events()[0]).toMatchObject({ module: 'guard', tripped: true, cause: 'limit' });
    expect(g.events()[0]!.message).toBe('tripped: meter.power_w = 1.6 is above the limit 1.5; setting laser.shutter = false and holding it until reset');
    // Hold first, so nothing else can set the shutter, then put it there.
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);
    expect(g.ctx.submits).toEqual([]);
    expect(g.safety.refuses('laser', 'shutter', true)).toBe('module:guard');
    expect(g.safety.refuses('laser', 'shutter', false)).toBeUndefined();
    expect(g.instance.status()).toMatchObject({ tripped: true, cause: 'limit', action: 'pending', attempts: 1, holding: true, persisted: false });

    await g.confirm();
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'done', actuatorValue: false });

    g.feed(2.0, 0.5, 1.7); // latched: no new trip, no new action, even after dipping back in and out
    expect(g.events()).toHaveLength(1);
    expect(g.safety.enforces).toHaveLength(1);

    const refused = g.resetError();
    expect(refused?.kind).toBe('conflict');
    expect(refused?.message).toBe(
      'interlock guard stays tripped: meter.power_w = 1.7 is still above the limit 1.5; bring it back within the limit, then reset',
    );
    expect(g.instance.status().tripped).toBe(true);
    expect(g.safety.holds).toHaveLength(1);

    g.feed(1.2);
    expect(g.resetError()).toBeUndefined();
    expect(g.events()).toHaveLength(2);
    expect(g.events()[1]).toMatchObject({ tripped: false });
    expect(g.events()[1]!.message).toBe('reset: meter.power_w = 1.2 is within the limit; laser is left as it is (no longer held)');
    expect(g.instance.status()).toMatchObject({ tripped: false, cause: null, action: 'none', holding: false });
    expect(g.safety.calls.at(-1)).toBe('release module:guard');
    expect(g.safety.holds).toEqual([]);
    expect(g.safety.enforces).toHaveLength(1); // reset does not undo the action: the shutter stays closed

    g.feed(3);
    expect(g.events().map((t) => t.tripped)).toEqual([true, false, true]);
    expect(g.safety.enforces).toHaveLength(2);
    expect(g.safety.holds).toHaveLength(1);
  });

  it('trips below a lower limit and resets with no effect when not tripped', () => {
    const g = interlock({ reading: 'power_w', below: 0.1, parameter: 'emission', value: 'off' });
    expect(g.resetError()).toBeUndefined();
    expect(g.events()).toEqual([]);
    expect(g.safety.calls).toEqual([]);
    g.feed(0.05);
    expect(g.events()[0]!.message).toContain('below the limit 0.1');
    expect(g.safety.calls).toEqual(['hold laser.emission=off module:guard', 'enforce laser.emission=off module:guard']);
  });

  it('passes the tolerance of a numeric safe value to the hold', () => {
    const g = interlock({ reading: 'power_w', above: 1.5, parameter: 'position_deg', value: 90, tolerance: 0.5 });
    g.feed(2);
    expect(g.safety.holds).toEqual([{ instrument: 'laser', param: 'position_deg', value: 90, holder: 'module:guard', tolerance: 0.5 }]);
    expect(g.safety.refuses('laser', 'position_deg', 90.4)).toBeUndefined();
    expect(g.safety.refuses('laser', 'position_deg', 91)).toBe('module:guard');
  });

  it('keeps latched on a failed action, reports it once, retries on the next reading with one attempt in flight', async () => {
    const g = interlock();
    g.feed(2);
    g.safety.enforces[0]!.reject(new DaqError('timeout', 'laser did not answer within 500 ms'));
    await g.safety.enforces[0]!.settled;
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'failed', lastError: 'laser did not answer within 500 ms', holding: true });
    expect(g.events()).toHaveLength(2);
    expect(g.events()[1]).toMatchObject({ tripped: true, cause: 'limit' });
    expect(g.events()[1]!.message).toMatch(/could not set laser\.shutter = false: laser did not answer within 500 ms/);

    // Readings of either role's instrument trigger one retry; more readings while it is in flight do not.
    g.laser({ power_w: 3 });
    g.feed(2, 2, 2);
    g.instance.handleEvent({ type: 'reading', instrument: 'elsewhere', seq: 1, ts: new Date().toISOString(), values: { x: 1 } });
    expect(g.enforced()).toEqual([CLOSE, CLOSE]);

    // The same failure again is not news: no new event.
    g.safety.enforces[1]!.reject(new DaqError('timeout', 'laser did not answer within 500 ms'));
    await g.safety.enforces[1]!.settled;
    expect(g.events()).toHaveLength(2);
    expect(g.safety.enforces).toHaveLength(2); // nothing retried until the next reading

    g.feed(2);
    expect(g.safety.enforces).toHaveLength(3);
    await g.confirm();
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'done', attempts: 3 });
    expect(g.events()).toHaveLength(3);
    expect(g.events()[2]!.message).toMatch(/set on attempt 3/);

    g.feed(2, 2);
    expect(g.safety.enforces).toHaveLength(3);
  });

  it('retries a failed action as soon as the actuator is ready again', async () => {
    const g = interlock();
    g.state('laser', 'error', { kind: 'disconnected', message: 'laser: port closed' });
    g.feed(2);
    g.safety.enforces[0]!.reject(new DaqError('not_ready', 'laser is in error'));
    await g.safety.enforces[0]!.settled;
    g.state('laser', 'connecting');
    expect(g.safety.enforces).toHaveLength(1);
    g.state('laser', 'ready');
    expect(g.safety.enforces).toHaveLength(2);
  });

  it('treats an enforce that throws synchronously as a failed attempt, not a crash', async () => {
    const g = interlock();
    let calls = 0;
    g.safety.enforce = () => {
      calls += 1;
      throw new DaqError('not_found', 'instrument "laser" does not exist');
    };
    g.feed(2);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'failed' });
    expect(g.events()[1]!.message).toContain('instrument "laser" does not exist');
  });

  it('reports a hold that fails, still enforces, and holds again on a later reading', async () => {
    const g = interlock();
    const hold = g.safety.hold.bind(g.safety);
    g.safety.hold = () => {
      throw new DaqError('not_found', 'laser has no parameter "shutter"');
    };
    g.feed(2);
    expect(g.enforced()).toEqual([CLOSE]);
    expect(g.messages()[1]).toBe(
      'still tripped; could not hold laser.shutter = false: laser has no parameter "shutter"; a set through daqd could move it (retrying on the next reading)',
    );
    expect(g.instance.status()).toMatchObject({ holding: false, holdError: 'laser has no parameter "shutter"' });
    g.safety.hold = hold;
    g.feed(2);
    expect(g.safety.holds).toHaveLength(1);
    expect(g.instance.status()).toMatchObject({ holding: true });
    expect(g.instance.status()).not.toHaveProperty('holdError');
  });

  it('without a safety lane reports that it cannot act (it never falls back to the config path)', async () => {
    const g = interlock();
    delete g.ctx.safety;
    g.feed(2);
    await new Promise((r) => setImmediate(r));
    expect(g.ctx.submits).toEqual([]);
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'failed' });
    expect(g.messages()[1]).toContain('no safety lane');
  });

  it('ignores the outcome of an attempt that finishes after a reset', async () => {
    const g = interlock();
    g.feed(2);
    g.feed(1);
    g.instance.reset!();
    g.safety.enforces[0]!.reject(new DaqError('timeout', 'late'));
    await g.safety.enforces[0]!.settled;
    expect(g.instance.status()).toMatchObject({ tripped: false, action: 'none' });
    expect(g.events().map((t) => t.tripped)).toEqual([true, false]);
  });
});

describe('interlock reconfigured while tripped', () => {
  it('starts tripped and holding when the instance it replaces was tripped, and still refuses a reset without a reading', () => {
    const g = interlock(SETTINGS, { previous: { tripped: true, cause: 'limit', since: '2026-01-01T00:00:00.000Z', action: 'done', lastValue: 2 } });
    expect(g.instance.status()).toMatchObject({ tripped: true, cause: 'limit', since: '2026-01-01T00:00:00.000Z', action: 'done', lastValue: 2, holding: true });
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`]); // confirmed by the old instance: no second enforce
    expect(g.resetError()?.message).toBe('interlock guard stays tripped: there is no reading of meter.power_w to show it is back within the limit');
    g.feed(1);
    g.instance.reset!();
    expect(g.instance.status()).toMatchObject({ tripped: false });
    expect(g.safety.holds).toEqual([]);
  });

  it('enforces at once if the replaced one had not confirmed the safe state', () => {
    const g = interlock(SETTINGS, { previous: { tripped: true, action: 'pending' } });
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);
  });

  it('enforces at once when the safe value changed with the reconfiguration', () => {
    const g = interlock({ ...SETTINGS, parameter: 'emission', value: 'off' }, { previous: { tripped: true, action: 'done', target: 'laser.shutter = false' } });
    expect(g.safety.calls).toEqual(['hold laser.emission=off module:guard', 'enforce laser.emission=off module:guard']);
  });
});
