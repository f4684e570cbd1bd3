/**
 * The interlock holding its actuator in the safe state while latched: an actuator reading that
 * shows the parameter away from the safe value puts it back through the safety lane, one enforce
 * in flight at most, with events for the episode and a counter in the status.
 */
import { describe, expect, it } from 'vitest';
import { DaqError } from '../../src/errors.js';
import type { ReadingDecl } from '../../src/drivers/types.js';
import { interlockType } from '../../src/modules/types/interlock.js';
import { DECLARED, interlock as harness, SETTINGS } from './interlock-harness.js';

const CLOSE = 'laser.shutter=false module:guard';

function interlock(settings: Record<string, unknown> = SETTINGS, laserReadings?: ReadingDecl[]) {
  return harness(settings, { declared: { meter: DECLARED.meter!, laser: laserReadings ?? DECLARED.laser! } });
}

/** Tripped, the shutter closed and confirmed, the laser read back closed. */
async function trippedAndClosed(settings?: Record<string, unknown>, laserReadings?: ReadingDecl[]) {
  const g = interlock(settings, laserReadings);
  g.feed(2);
  await g.confirm();
  g.laser({ shutter: false });
  return g;
}

describe('interlock re-asserts the safe state while latched', () => {
  it('puts the shutter back when a reading shows it opened, once per reading at most, and reports the episode', async () => {
    const g = await trippedAndClosed();
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'done', supervised: true, actuatorValue: false, reasserts: 0 });
    expect(g.safety.enforces).toHaveLength(1);

    // The shutter opens (at the laser: a set through daqd is refused by the hold).
    g.laser({ shutter: true, power_w: 1 });
    expect(g.enforced()).toEqual([CLOSE, CLOSE]);
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter reads true, not false: setting it back');
    expect(g.instance.status()).toMatchObject({ tripped: true, action: 'pending', actuatorValue: true, reasserts: 1 });

    // More open readings while the enforce is in flight: no second one, no new event.
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    g.feed(1.0);
    expect(g.safety.enforces).toHaveLength(2);
    expect(g.messages()).toHaveLength(2);

    await g.confirm();
    expect(g.instance.status()).toMatchObject({ action: 'done', reasserts: 1 });
    g.laser({ shutter: false });
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter reads false again');
    expect(g.messages()).toHaveLength(3);
    expect(g.safety.enforces).toHaveLength(2);

    // Opened a second time: a new episode, counted.
    g.laser({ shutter: true });
    expect(g.safety.enforces).toHaveLength(3);
    expect(g.instance.status()).toMatchObject({ reasserts: 2 });
    expect(g.messages()).toHaveLength(4);
  });

  it('lets one reading pass after its own enforce (that poll may predate it), then judges the next', async () => {
    const g = interlock();
    g.feed(2);
    g.laser({ shutter: true }); // read while the enforce is on its way: not judged
    expect(g.safety.enforces).toHaveLength(1);
    await g.confirm();
    g.laser({ shutter: true }); // may have been read before the set reached the laser
    expect(g.safety.enforces).toHaveLength(1);
    expect(g.messages()).toHaveLength(1);
    g.laser({ shutter: true }); // this poll started after the set: the shutter really is open
    expect(g.safety.enforces).toHaveLength(2);
    expect(g.instance.status()).toMatchObject({ reasserts: 1 });
  });

  it('keeps putting it back while it stays open, reporting the episode only once', async () => {
    const g = await trippedAndClosed();
    g.laser({ shutter: true });
    await g.confirm();
    g.laser({ shutter: true }); // settling
    g.laser({ shutter: true });
    expect(g.safety.enforces).toHaveLength(3);
    await g.confirm();
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.safety.enforces).toHaveLength(4);
    expect(g.instance.status()).toMatchObject({ reasserts: 3 });
    expect(g.messages().filter((m) => m.includes('setting it back'))).toHaveLength(1);
  });

  it('a failed re-assertion is reported and retried on the next reading, like the trip action', async () => {
    const g = await trippedAndClosed();
    g.laser({ shutter: true });
    g.safety.enforces.at(-1)!.reject(new DaqError('timeout', 'laser did not answer within 500 ms'));
    await g.safety.enforces.at(-1)!.settled;
    expect(g.instance.status()).toMatchObject({ action: 'failed', lastError: 'laser did not answer within 500 ms' });
    expect(g.messages().at(-1)).toMatch(/could not set laser\.shutter = false: laser did not answer/);
    g.laser({ shutter: true });
    expect(g.safety.enforces).toHaveLength(3);
    expect(g.instance.status()).toMatchObject({ reasserts: 1, attempts: 3 });
    await g.confirm();
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter = false set on attempt 3');
    g.laser({ shutter: false });
    expect(g.messages().at(-1)).toBe('still tripped; laser.shutter reads false again');
  });

  it('does nothing when not latched, or after a reset', async () => {
    const g = interlock();
    g.laser({ shutter: true });
    expect(g.safety.enforces).toEqual([]);
    g.feed(2);
    await g.confirm();
    g.feed(1);
    g.instance.reset!();
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.safety.enforces).toHaveLength(1);
    expect(g.instance.status()).toMatchObject({ tripped: false, actuatorValue: true });
  });

  it('compares a numeric safe value within the tolerance', async () => {
    const readings: ReadingDecl[] = [{ name: 'position_deg', type: 'number', description: 'angle' }];
    const g = await trippedAndClosed({ reading: 'power_w', above: 1.5, parameter: 'position_deg', value: 90, tolerance: 0.05 }, readings);
    g.laser({ position_deg: 90.04 });
    g.laser({ position_deg: 89.96 });
    expect(g.safety.enforces).toHaveLength(1);
    g.laser({ position_deg: 120 });
    expect(g.enforced().at(-1)).toBe('laser.position_deg=90 module:guard');
    expect(g.messages().at(-1)).toBe('still tripped; laser.position_deg reads 120, not 90: setting it back');
  });

  it('does not take an inherited property for a reading of the parameter', async () => {
    const readings: ReadingDecl[] = [{ name: 'constructor', type: 'boolean', description: 'odd name' }];
    const g = await trippedAndClosed({ reading: 'power_w', above: 1.5, parameter: 'constructor', value: false }, readings);
    g.laser({ power_w: 1 });
    g.laser({ power_w: 1 });
    expect(g.safety.enforces).toHaveLength(1);
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
    expect(g.safety.enforces).toHaveLength(1);
    expect(g.safety.holds).toHaveLength(1); // the hold does not depend on supervision
  });

  it('cannot supervise when the reading has another type than the safe value', () => {
    const g = interlock(SETTINGS, [{ name: 'shutter', type: 'number', description: '0/1' }]);
    expect(g.instance.status()).toMatchObject({ supervised: false });
    expect(g.instance.status().supervision).toContain(`laser's reading "shutter" is a number, the safe value false is a boolean`);
  });

  it('reassert = false turns supervision off, and says so', async () => {
    const g = await trippedAndClosed({ ...SETTINGS, reassert: false });
    expect(g.instance.status()).toMatchObject({ supervised: false, holding: true });
    expect(g.instance.status().supervision).toContain('reassert = false');
    g.laser({ shutter: true });
    g.laser({ shutter: true });
    expect(g.safety.enforces).toHaveLength(1);
  });

  it('tolerance is for numeric values only; reassert must be a boolean', () => {
    const bad = interlockType.settingsSchema.safeParse({ ...SETTINGS, tolerance: 0.1 });
    expect(bad.error!.issues[0]).toMatchObject({ path: ['tolerance'] });
    expect(bad.error!.issues[0]!.message).toContain('numeric value only');
    expect(interlockType.settingsSchema.safeParse({ ...SETTINGS, reassert: 'yes' }).error!.issues[0]!.path).toEqual(['reassert']);
    expect(interlockType.settingsSchema.safeParse({ ...SETTINGS, value: 3, tolerance: -1 }).error!.issues[0]!.path).toEqual(['tolerance']);
  });

  it('a replacement of a tripped interlock keeps holding the actuator, and keeps its counter', () => {
    const g = harness(SETTINGS, { previous: { tripped: true, action: 'done', reasserts: 2, lastValue: 2 } });
    expect(g.instance.status()).toMatchObject({ tripped: true, reasserts: 2, holding: true });
    g.laser({ shutter: true }); // may predate the old instance's enforce
    expect(g.safety.enforces).toEqual([]);
    g.laser({ shutter: true });
    expect(g.enforced()).toEqual([CLOSE]);
    expect(g.instance.status()).toMatchObject({ reasserts: 3 });
  });
});
