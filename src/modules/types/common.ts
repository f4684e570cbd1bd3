/**
 * Small pieces the module types share: pulling one numeric reading out of a reading event (with
 * its unit and quality flag), the zod building blocks of their settings, how a reading's age is
 * told.
 */
import { z } from 'zod';
import type { DaemonEvent } from '../../core/events.js';
import type { ReadingDecl, ReadingFlag } from '../../drivers/types.js';

export type ReadingEvent = Extract<DaemonEvent, { type: 'reading' }>;

/** Reading and parameter names as drivers declare them (power_w, shutter...). */
export const readingNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a reading name such as "power_w" (letters, digits, _)');

/** A limit must be a real number: TOML's inf/nan would make the comparison meaningless. */
export const limitSchema = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * The numeric value of `reading` in the event if it comes from `instrument`. Booleans, strings,
 * NaN and infinities are not numbers a limit can be checked against, so they count as absent.
 */
export function numericReading(event: DaemonEvent, instrument: string | undefined, reading: string): number | undefined {
  if (event.type !== 'reading' || instrument === undefined || event.instrument !== instrument) return undefined;
  const value = own(event.values, reading);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * `record[key]` if it is the record's own key. Reading names come from config files, and a name
 * such as "constructor" must not find Object.prototype's.
 */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The unit an instrument declares for one of its readings (undefined: none, or not known). */
export function declaredUnit(declared: readonly ReadingDecl[] | undefined, reading: string): string | undefined {
  return declared?.find((r) => r.name === reading)?.unit;
}

/**
 * The unit `reading` is in, in this event: the one the event carries (drivers send it when it
 * differs from the declaration, e.g. a meter switched to dBm), else the declared one.
 */
export function unitIn(event: ReadingEvent, reading: string, declared: readonly ReadingDecl[] | undefined): string | undefined {
  return own(event.units, reading) ?? declaredUnit(declared, reading);
}

/** Why the event's `reading` is not a valid measurement (a saturated detector), if it is not. */
export function flagOf(event: ReadingEvent, reading: string): ReadingFlag | undefined {
  return own(event.flags, reading);
}

/**
 * `unit`: the unit a module's limits are in. Free text compared exactly ("W" is not "mW"), so it
 * only needs to be non-empty.
 */
export const unitSchema = z.string().min(1, 'must not be empty: give the unit, e.g. "W", or leave the key out');

/** Why a module alarm was raised (docs/modules.md). "unit" and "invalid" are issue #15's. */
export type AlarmCause = 'limit' | 'stale' | 'unit' | 'invalid';

/** Why an interlock tripped (docs/modules.md). */
export type TripCause = 'limit' | 'stale' | 'sensor_error' | 'saturated' | 'invalid' | 'unit';

/** A module.alarm event. */
export function alarmEvent(alarm: { module: string; active: boolean; message: string; value?: number; cause: AlarmCause }): DaemonEvent {
  return { type: 'module.alarm', ...alarm };
}

/** A module.interlock event with its cause. */
export function interlockEvent(event: { module: string; tripped: boolean; message: string; cause?: TripCause }): DaemonEvent {
  return { type: 'module.interlock', ...event };
}


/**
 * `max_age_ms`: how old an input's last reading may be before it counts as missing. Capped where
 * Node's timers stop working (a larger delay fires at once).
 */
export const maxAgeSchema = z
  .int()
  .min(1, 'must be at least 1 (ms)')
  .max(2_147_483_647, 'must be at most 2147483647 ms (about 24.8 days)');

/** When a reading was taken, in ms: its timestamp, or `now` if that is unreadable. */
export function readingTime(event: ReadingEvent, now: number): number {
  const at = Date.parse(event.ts);
  return Number.isNaN(at) ? now : at;
}

/** "3.2 s" / "850 ms": an age for people. */
export function formatAge(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
