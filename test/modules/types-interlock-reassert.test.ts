/**
 * The interlock holding its actuator in the safe state while latched: an actuator reading that
 * shows the parameter away from the safe value sets it back, one set in flight at most, with events
 * for the episode and a counter in the status.
 */
import { describe, expect, it } from 'vitest';
import { DaqError } from '../../src/errors.js';
import type { ReadingDecl } from '../../src/drivers/types.js';
import { interlockType } from '../../src/modules/types/interlock.js';
import { eventsOf, fakeContext, reading } from './types-context.js';

const SETTINGS = { reading: 'power_w', above: 1.5, parameter: 'shutter', value: false };
const SET_CLOSED = { type: 'instrument.set', id: 'laser', params: { shutter: false } };

/** What a MaiTai declares: the shutter is a boolean reading. */
const LASER_READINGS: ReadingDecl[] = [
  { name: 'power_w', type: 'number', description: 'output power' },
  { name: 'shutter', type: 'boolean', description: 'shutter open' },
];

function interlock(settings: Record<string, unknown> = SETTINGS, laserReadings: ReadingDecl[] = LASER_READINGS) {
  const ctx = fakeContext(interlockType, settings, { sensor: 'meter', actuator: 'laser' }, 'guard', { meter: [], laser: laserReadings });
  const instance = interlockType.create(ctx);
  return {
    ctx,
    instance,
    sensor: (v: number) => instance.handleEvent(reading('meter', { power_w: v })),
    laser: (values: Record<string, number | boolean | string>) => instance.handleEvent(reading('laser', values)),
    messages: () => eventsOf(ctx, 'module.interlock').map((e) => e.message),
    /** Settles the latest submit successfully and waits until the interlock has seen the answer. */
    async confirm() {
      const last = ctx.submits.at(-1)!;
      last.resolve();
      await last.settled;
    },
  };
}

/** Tripped, the shutter closed and confirmed, the laser read back closed. */
async function trippedAndClosed(settings?: Record<string, unknown>, laserReadings?: ReadingDecl[]) {
  const g = interlock(settings, laserReadings);
  g.sensor(2);
  await g.confirm();
  g.laser({ shutter: false });
  return g;
}

describe('interlock re-asserts the safe state while latched', () => {
  it('sets the shutter back when a reading shows it opened, once per reading at most, and reports the episode', async () => {
    const g = await trippedAndClosed();
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'done', supervised: true, actuatorValue: false, reasserts: 0 });
    expect(g.ctx.submits).toHaveLength(1);

    // Someone opens the shutter: the next reading shows it.
    g.laser({ shutter: true, power_w: 1 });
    expect(g.ctx.submits.map((s) => s.command)).toEqual([SET_CLOSED, SET_CLOSED]);
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter reads true, not false: setting it back');
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'pending', actuatorValue: true, reasserts: 1 });

    // More open readings while the set is in flight: no second set, no new event.
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    g.sensor(1.0);
    expect(g.ctx.submits).toHaveLength(2);
    expect(g.messages()).toHaveLength(2);

    await g.confirm();
    expect(g.instance.status()).toMatchObject({ action: 'done', reasserts: 1 });
    g.laser({ shutter: false });
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter reads false again');
    expect(g.messages()).toHaveLength(3);
    expect(g.ctx.submits).toHaveLength(2);

    // Opened a second time: a new episode, counted.
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(3);
    expect(g.instance.status()).toMatchObject({ reasserts: 2 });
    expect(g.messages()).toHaveLength(4);
  });

  it('lets one reading pass after its own set (that poll may predate it), then judges the next', async () => {
    const g = interlock();
    g.sensor(2);
    g.laser({ shutter: true }); // read while the set is on its way: not judged
    expect(g.ctx.submits).toHaveLength(1);
    await g.confirm();
    g.laser({ shutter: true }); // may have been read before the set reached the laser
    expect(g.ctx.submits).toHaveLength(1);
    expect(g.messages()).toHaveLength(1);
    g.laser({ shutter: true }); // this poll started after the set: the shutter really is open
    expect(g.ctx.submits).toHaveLength(2);
    expect(g.instance.status()).toMatchObject({ reasserts: 1 });
  });

  it('keeps setting it back while it stays open, reporting the episode only once', async () => {
    const g = await trippedAndClosed();
    g.laser({ shutter: true });
    await g.confirm();
    g.laser({ shutter: true }); // settling
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(3);
    await g.confirm();
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(4);
    expect(g.instance.status()).toMatchObject({ reasserts: 3 });
    expect(g.messages().filter((m) => m.includes('setting it back'))).toHaveLength(1);
  });

  it('a failed re-assertion is reported and retried on the next reading, like the trip action', async () => {
    const g = await trippedAndClosed();
    g.laser({ shutter: true });
    g.ctx.submits.at(-1)!.reject(new DaqError('timeout', 'laser did not answer within 500 ms'));
    await g.ctx.submits.at(-1)!.settled;
    expect(g.instance.status()).toMatchObject({ action: 'failed', lastError: 'laser did not answer within 500 ms' });
    expect(g.messages().at(-1)).toMatch(/could not set laser\.shutter = false: laser did not answer/);
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(3);
    expect(g.instance.status()).toMatchObject({ reasserts: 1, attempts: 3 });
    await g.confirm();
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter = false set on attempt 3');
    g.laser({ shutter: false });
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter reads false again');
  });

  it('does nothing when not latched, or after a reset', async () => {
    const g = interlock();
    g.laser({ shutter: true });
    expect(g.ctx.submits).toEqual([]);
    g.sensor(2);
    await g.confirm();
    g.sensor(1);
    g.instance.reset!();
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(1);
    expect(g.instance.status()).toMatchObject({ tripped: false, actuatorValue: true });
  });

  it('compares a numeric safe value within the tolerance', async () => {
    const readings: ReadingDecl[] = [{ name: 'position_deg', type: 'number', description: 'angle' }];
    const g = await trippedAndClosed({ reading: 'power_w', above: 1.5, parameter: 'position_deg', value: 90, tolerance: 0.05 }, readings);
    g.laser({ position_deg: 90.04 });
    g.laser({ position_deg: 89.96 });
    expect(g.ctx.submits).toHaveLength(1);
    g.laser({ position_deg: 120 });
    expect(g.ctx.submits.at(-1)!.command).toEqual({ type: 'instrument.set', id: 'laser', params: { position_deg: 90 } });
    expect(g.messages().at(-1)).toBe('still tripped; laser.position_deg reads 120, not 90: setting it back');
  });
});

describe('interlock supervision depends on the actuator readings', () => {
  it('cannot supervise an actuator without a reading of the parameter, and says so', async () => {
    const g = await trippedAndClosed(SETTINGS, [{ name: 'power_w', type: 'number', description: 'output power' }]);
    const status = g.instance.status();
    expect(status.supervised).toBe(false);
    expect(status.supervision).toBe('cannot supervise: laser provides no reading "shutter", so a change back while tripped is not seen');
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(1);
  });

  it('cannot supervise when the reading has another type than the safe value', () => {
    const g = interlock(SETTINGS, [{ name: 'shutter', type: 'number', description: '0/1' }]);
    expect(g.instance.status()).toMatchObject({ supervised: false });
    expect(g.instance.status().supervision).toContain(`laser's reading "shutter" is a number, the safe value false is a boolean`);
  });

  it('reassert = false turns supervision off, and says so', async () => {
    const g = await trippedAndClosed({ ...SETTINGS, reassert: false });
    expect(g.instance.status()).toMatchObject({ supervised: false });
    expect(g.instance.status().supervision).toContain('reassert = false');
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.ctx.submits).toHaveLength(1);
  });

  it('tolerance is for numeric values only; reassert must be a boolean', () => {
    const bad = interlockType.settingsSchema.safeParse({ ...SETTINGS, tolerance: 0.1 });
    expect(bad.error!.issues[0]).toMatchObject({ path: ['tolerance'] });
    expect(bad.error!.issues[0]!.message).toContain('numeric value only');
    expect(interlockType.settingsSchema.safeParse({ ...SETTINGS, reassert: 'yes' }).error!.issues[0]!.path).toEqual(['reassert']);
    expect(interlockType.settingsSchema.safeParse({ ...SETTINGS, value: 3, tolerance: -1 }).error!.issues[0]!.path).toEqual(['tolerance']);
  });

  it('a replacement of a tripped interlock keeps holding the actuator, and keeps its counter', () => {
    const ctx = fakeContext(interlockType, SETTINGS, { sensor: 'meter', actuator: 'laser' }, 'guard', { laser: LASER_READINGS });
    const instance = interlockType.create({ ...ctx, previous: { tripped: true, action: 'done', reasserts: 2, lastValue: 2 } });
    expect(instance.status()).toMatchObject({ tripped: true, reasserts: 2 });
    instance.handleEvent(reading('laser', { shutter: true })); // may predate the old instance's set
    expect(ctx.submits).toEqual([]);
    instance.handleEvent(reading('laser', { shutter: true }));
    expect(ctx.submits.map((s) => s.command)).toEqual([SET_CLOSED]);
    expect(instance.status()).toMatchObject({ reasserts: 3 });
  });
});
