/**
 * Small pieces the module types share: pulling one numeric reading out of a reading event, the
 * zod building blocks of their settings.
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

