/**
 * Small pieces the module types share: pulling one numeric reading out of a reading event, the
 * zod building blocks of their settings, how a reading's age is told.
 */
import { z } from 'zod';
import type { DaemonEvent } from '../../core/events.js';

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
  const value = event.values[reading];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}


/**
 * `max_age_ms`: how old an input's last reading may be before it counts as missing. Capped where
 * Node's timers stop working (a larger delay fires at once).
 */
export const maxAgeSchema = z
  .int()
  .min(1, 'must be at least 1 (ms)')
  .max(2_147_483_647, 'must be at most 2147483647 ms (about 24.8 days)');

/** When a reading was taken, in ms: its timestamp, or now if that is unreadable. */
export function readingTime(event: ReadingEvent): number {
  const at = Date.parse(event.ts);
  return Number.isNaN(at) ? Date.now() : at;
}

/** "3.2 s" / "850 ms": an age for people. */
export function formatAge(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
