/**
 * One interlock instance on a fake context: a sensor "meter" (reading power_w, in W, polled every
 * 500 ms), an actuator "laser", a FakeSafetyLane, a FakeClock and instrument infos the test
 * changes. Readings are stamped with the fake clock's time.
 */
import type { InstrumentState } from '../../src/core/events.js';
import type { ReadingDecl } from '../../src/drivers/types.js';
import { isDaqError, type DaqError } from '../../src/errors.js';
import type { InstrumentInfo, ModuleInstance } from '../../src/modules/types.js';
import { interlockType } from '../../src/modules/types/interlock.js';
import type { TripCause } from '../../src/modules/types/common.js';
import { eventsOf, FakeClock, FakeSafetyLane, fakeContext, instrumentInfos, reading, type ReadingMeta } from './types-context.js';

export const SETTINGS = { reading: 'power_w', above: 1.5, parameter: 'shutter', value: false };

/** What the meter and a MaiTai declare: power in W; the shutter is a boolean reading. */
export const DECLARED: Record<string, ReadingDecl[]> = {
  meter: [{ name: 'power_w', type: 'number', description: 'optical power', unit: 'W' }],
  laser: [
    { name: 'power_w', type: 'number', description: 'output power', unit: 'W' },
    { name: 'shutter', type: 'boolean', description: 'shutter open' },
  ],
};

export interface HarnessOptions {
  declared?: Record<string, ReadingDecl[]>;
  previous?: Record<string, unknown>;
  safety?: FakeSafetyLane;
  clock?: FakeClock;
  infos?: Map<string, InstrumentInfo>;
  /** Leave ctx.instrumentInfo out, like a context built by hand. */
  noInfo?: boolean;
}

export function interlock(settings: Record<string, unknown> = SETTINGS, o: HarnessOptions = {}) {
  const safety = o.safety ?? new FakeSafetyLane();
  const clock = o.clock ?? new FakeClock();
  const infos = o.infos ?? instrumentInfos({ meter: 500, laser: 1000 });
  const ctx = fakeContext(interlockType, settings, { sensor: 'meter', actuator: 'laser' }, 'guard', o.declared ?? DECLARED, {
    safety,
    clock,
    ...(o.noInfo ? {} : { instrumentInfo: (id: string) => infos.get(id) }),
    ...(o.previous ? { previous: o.previous } : {}),
  });
  const instance: ModuleInstance = interlockType.create(ctx);
  return {
    ctx,
    instance,
    safety,
    clock,
    infos,
    /** Sensor readings of power_w, one event each. */
    feed: (...values: number[]) => values.forEach((v) => instance.handleEvent(reading('meter', { power_w: v }, clock.now()))),
    sensor: (value: number, meta: ReadingMeta = {}) => instance.handleEvent(reading('meter', { power_w: value }, clock.now(), meta)),
    laser: (values: Record<string, number | boolean | string>) => instance.handleEvent(reading('laser', values, clock.now())),
    /** The instrument changes state: its info says so, and the event arrives. */
    state(instrument: string, state: InstrumentState, error?: { kind: string; message: string }) {
      const info = infos.get(instrument)!;
      infos.set(instrument, { ...info, state, lastError: error ?? null });
      instance.handleEvent({ type: 'instrument.state', instrument, state, ...(error ? { error } : {}) });
    },
    /** module.interlock events, with the cause the type in events.ts does not list yet. */
    events: () => eventsOf(ctx, 'module.interlock') as (ReturnType<typeof eventsOf<'module.interlock'>>[number] & { cause?: TripCause })[],
    messages: () => eventsOf(ctx, 'module.interlock').map((e) => e.message),
    /** Enforces as "instrument.param=value holder" strings. */
    enforced: () => safety.enforces.map((e) => `${e.instrument}.${e.param}=${String(e.value)} ${e.holder}`),
    /** Confirms the latest enforce and waits until the interlock has seen the answer. */
    confirm: (confirmed?: boolean | number | string) => safety.confirmLast(confirmed),
    resetError: () => resetError(instance),
  };
}

export function resetError(instance: { reset?: () => void }): DaqError | undefined {
  try {
    instance.reset!();
    return undefined;
  } catch (err) {
    if (isDaqError(err)) return err;
    throw err;
  }
}
