import { describe, expect, it } from 'vitest';
import { monitorType } from '../../src/modules/types/monitor.js';
import type { AlarmCause } from '../../src/modules/types/common.js';
import { eventsOf, fakeContext, reading, type ReadingMeta } from './types-context.js';

function monitor(settings: Record<string, unknown>) {
  const ctx = fakeContext(monitorType, settings, { source: 'meter' });
  const instance = monitorType.create(ctx);
  const feed = (...values: number[]) => values.forEach((v) => instance.handleEvent(reading('meter', { power: v })));
  return { ctx, instance, feed, alarms: () => eventsOf(ctx, 'module.alarm') };
}

describe('monitor settings', () => {
  it('accepts a high limit alone and fills defaults', () => {
    expect(monitorType.settingsSchema.parse({ reading: 'power', high: 1e-3 })).toEqual({ reading: 'power', high: 1e-3, hysteresis: 0, delay_samples: 1 });
  });

  it('rejects a monitor without limits, unknown keys, and a hysteresis that could never clear', () => {
    const none = monitorType.settingsSchema.safeParse({ reading: 'power' });
    expect(none.success).toBe(false);
    expect(none.error!.issues[0]!.message).toMatch(/"high" and\/or a "low"/);

    const typo = monitorType.settingsSchema.safeParse({ reading: 'power', high: 1, hysterisis: 0.1 });
    expect(typo.success).toBe(false);
    expect(typo.error!.issues.some((i) => i.code === 'unrecognized_keys' && i.keys.includes('hysterisis'))).toBe(true);

    const wide = monitorType.settingsSchema.safeParse({ reading: 'power', low: 0, high: 1, hysteresis: 0.6 });
    expect(wide.success).toBe(false);
    expect(wide.error!.issues[0]!.path).toEqual(['hysteresis']);
    expect(wide.error!.issues[0]!.message).toMatch(/never clear/);

    const inverted = monitorType.settingsSchema.safeParse({ reading: 'power', low: 2, high: 1 });
    expect(inverted.error!.issues[0]!.path).toEqual(['low']);

    expect(monitorType.settingsSchema.safeParse({ reading: 'power', high: 1, delay_samples: 0 }).success).toBe(false);
    expect(monitorType.settingsSchema.safeParse({ reading: 'power', high: Infinity }).success).toBe(false);
  });

  it('declares one required source role that needs the reading', () => {
    const roles = monitorType.roles(monitorType.settingsSchema.parse({ reading: 'power', low: 0 }));
    expect(roles).toEqual([expect.objectContaining({ name: 'source', required: true, needs: [{ kind: 'reading', name: 'power' }] })]);
  });
});

describe('monitor alarms', () => {
  it('raises once above high, clears once only when back inside by the hysteresis', () => {
    const m = monitor({ reading: 'power', high: 1e-3, hysteresis: 1e-5 });
    m.feed(5e-4, 9e-4, 1e-3); // the limit itself is inside
    expect(m.alarms()).toEqual([]);

    m.feed(1.2e-3, 1.5e-3, 1.1e-3);
    expect(m.alarms()).toHaveLength(1);
    expect(m.alarms()[0]).toMatchObject({ module: 'm1', active: true, value: 1.2e-3 });
    expect(m.alarms()[0]!.message).toContain('meter.power = 0.0012 is above the high limit 0.001');
    expect(m.instance.status()).toMatchObject({ alarm: true, lastValue: 1.1e-3 });

    m.feed(9.95e-4, 1e-3); // back under the limit but within the hysteresis band: still alarmed
    expect(m.alarms()).toHaveLength(1);
    expect(m.instance.status().alarm).toBe(true);

    m.feed(9.9e-4, 5e-4, 4e-4);
    expect(m.alarms()).toHaveLength(2);
    expect(m.alarms()[1]).toMatchObject({ active: false, value: 9.9e-4 });
    expect(m.alarms()[1]!.message).toMatch(/back within limits/);
    expect(m.instance.status()).toMatchObject({ alarm: false, lastValue: 4e-4 });

    m.feed(2e-3); // a new excursion is a new alarm
    expect(m.alarms().map((a) => a.active)).toEqual([true, false, true]);
  });

  it('watches a low limit the same way', () => {
    const m = monitor({ reading: 'power', low: 10, high: 20, hysteresis: 1 });
    m.feed(15, 9.5, 9, 10.5);
    expect(m.alarms().map((a) => [a.active, a.value])).toEqual([[true, 9.5]]);
    expect(m.alarms()[0]!.message).toContain('below the low limit 10');
    expect(m.instance.status().side).toBe('low');
    m.feed(11);
    expect(m.alarms().map((a) => [a.active, a.value])).toEqual([[true, 9.5], [false, 11]]);
  });

  it('with delay_samples raises only after that many out-of-limit readings in a row', () => {
    const m = monitor({ reading: 'power', high: 1, delay_samples: 3 });
    m.feed(2, 2, 0.5, 2, 2);
    expect(m.alarms()).toEqual([]);
    m.feed(2);
    expect(m.alarms()).toHaveLength(1);
    expect(m.alarms()[0]!.message).toMatch(/3 readings in a row/);
  });

  it('reports since as the time of the last change and ignores other instruments, readings and non-numbers', () => {
    const m = monitor({ reading: 'power', high: 1 });
    m.instance.handleEvent(reading('other', { power: 5 }));
    m.instance.handleEvent(reading('meter', { voltage: 5 }));
    m.instance.handleEvent(reading('meter', { power: 'overload' }));
    m.instance.handleEvent(reading('meter', { power: Number.NaN }));
    m.instance.handleEvent({ type: 'instrument.state', instrument: 'meter', state: 'error' });
    expect(m.alarms()).toEqual([]);
    expect(m.instance.status().lastValue).toBeNull();

    const trip = reading('meter', { power: 3 });
    m.instance.handleEvent(trip);
    expect(m.instance.status().since).toBe((trip as { ts: string }).ts);
  });

  it('follows a reassigned source and is silent after dispose', () => {
    const m = monitor({ reading: 'power', high: 1 });
    m.ctx.roles.source = 'meter2';
    m.instance.handleEvent(reading('meter', { power: 5 }));
    expect(m.alarms()).toEqual([]);
    m.instance.handleEvent(reading('meter2', { power: 5 }));
    expect(m.alarms()).toHaveLength(1);
    m.instance.dispose();
    m.instance.handleEvent(reading('meter2', { power: 0 }));
    expect(m.alarms()).toHaveLength(1);
  });
});

describe('monitor units and flagged readings', () => {
  const DECLARED = { meter: [{ name: 'power', type: 'number' as const, description: 'optical power', unit: 'W' }] };

  function unitMonitor(settings: Record<string, unknown> = { reading: 'power', high: 1e-3 }) {
    const ctx = fakeContext(monitorType, settings, { source: 'meter' }, 'm1', DECLARED);
    const instance = monitorType.create(ctx);
    const feed = (value: number, meta: ReadingMeta = {}) => instance.handleEvent(reading('meter', { power: value }, undefined, meta));
    const alarms = () => eventsOf(ctx, 'module.alarm') as (ReturnType<typeof eventsOf<'module.alarm'>>[number] & { cause?: AlarmCause })[];
    return { ctx, instance, feed, alarms };
  }

  it('raises one unit alarm when the reading changes units, compares nothing meanwhile, clears when it is back', () => {
    const m = unitMonitor();
    expect(m.instance.status()).toMatchObject({ unit: 'W' });
    m.feed(5e-4, { units: { power: 'W' } });
    m.feed(-3, { units: { power: 'dBm' } });
    m.feed(10, { units: { power: 'dBm' } }); // above 1e-3 as a number, but not comparable: no limit alarm
    expect(m.alarms()).toEqual([
      {
        type: 'module.alarm',
        module: 'm1',
        active: true,
        cause: 'unit',
        value: -3,
        message: 'meter.power is now in dBm, the limits (high 0.001) are in W: the monitor cannot compare them',
      },
    ]);
    expect(m.instance.status()).toMatchObject({ alarm: false, unitMismatch: 'dBm' });

    m.feed(2e-3); // declared unit again: the unit alarm clears and the limit is checked
    expect(m.alarms().map((a) => [a.cause, a.active])).toEqual([
      ['unit', true],
      ['unit', false],
      ['limit', true],
    ]);
    expect(m.alarms()[1]!.message).toBe('meter.power is in W again (0.002)');
    expect(m.instance.status()).not.toHaveProperty('unitMismatch');
  });

  it('the unit setting names the limits unit', () => {
    const m = unitMonitor({ reading: 'power', high: 3, unit: 'dBm' });
    m.feed(-3, { units: { power: 'dBm' } });
    expect(m.alarms()).toEqual([]);
    m.feed(1e-3);
    expect(m.alarms()[0]).toMatchObject({ cause: 'unit', active: true });
    expect(m.alarms()[0]!.message).toContain('meter.power is now in W, the limits (high 3) are in dBm');
  });

  it('raises an invalid alarm for a flagged reading (once, whatever the flag), clears it on the next valid one', () => {
    const m = unitMonitor({ reading: 'power', high: 1e-3, delay_samples: 2 });
    m.feed(2e-3);
    m.feed(2e-3, { flags: { power: 'saturated' } });
    m.feed(2e-3, { flags: { power: 'over_range' } });
    expect(m.alarms()).toHaveLength(1);
    expect(m.alarms()[0]).toMatchObject({ cause: 'invalid', active: true, value: 2e-3 });
    expect(m.alarms()[0]!.message).toBe('meter.power reads 0.002 but is flagged saturated: the monitor cannot check it against the limits (high 0.001)');
    expect(m.instance.status()).toMatchObject({ invalid: 'over_range', alarm: false });

    m.feed(2e-3); // valid again; the run of out-of-limit readings started over at the flagged ones
    expect(m.alarms().map((a) => [a.cause, a.active])).toEqual([
      ['invalid', true],
      ['invalid', false],
    ]);
    m.feed(2e-3);
    expect(m.alarms().map((a) => [a.cause, a.active]).at(-1)).toEqual(['limit', true]);
    expect(m.instance.status()).not.toHaveProperty('invalid');
  });
});
