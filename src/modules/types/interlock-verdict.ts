/**
 * What one sensor reading means to an interlock: whether it must trip, why, and what a person has
 * to fix before a reset. Kept apart from the latch (interlock.ts) because a trip and a refused
 * reset must judge a reading the same way.
 *
 * The order matters: a reading in another unit than the limit is not comparable at all, so the
 * unit is judged first; then the reading's quality flag (a saturated detector's number is only a
 * lower bound); then the limit.
 */
import type { ReadingFlag } from '../../drivers/types.js';
import type { TripCause } from './common.js';

export interface Limits {
  above?: number | undefined;
  below?: number | undefined;
}

/** One sensor reading as the interlock sees it. */
export interface SensorReading {
  value: number;
  /** The unit it is in (undefined: neither the event nor the declaration gives one). */
  unit: string | undefined;
  flag: ReadingFlag | undefined;
}

export interface Verdict {
  cause: TripCause;
  /** What is wrong, e.g. "pm1.power = 0.0031 is above the limit 0.002". */
  text: string;
}

/** "the limit 0.002" / "the limits 0.001 (below) and 0.005 (above)". */
export function describeLimits(l: Limits): string {
  if (l.above !== undefined && l.below !== undefined) return `the limits ${l.below} (below) and ${l.above} (above)`;
  return `the limit ${l.above ?? l.below}`;
}

/** Why the value is beyond a limit ("above the limit 1.5"), or undefined when it is within. Equal is within. */
export function beyondLimit(l: Limits, value: number): string | undefined {
  if (l.above !== undefined && value > l.above) return `above the limit ${l.above}`;
  if (l.below !== undefined && value < l.below) return `below the limit ${l.below}`;
  return undefined;
}

/**
 * A flagged reading. saturated / over_range: the true value is at least the number shown, so an
 * `above` limit must be assumed crossed; for a below-only interlock the reading still proves the
 * value is not below the limit when the number shown is not. under_range is the mirror image.
 * invalid says nothing about the value: it trips any interlock.
 */
function judgeFlag(l: Limits, where: string, r: SensorReading & { flag: ReadingFlag }): Verdict | undefined {
  const shown = `${where} reads ${r.value} but is flagged ${r.flag}`;
  switch (r.flag) {
    case 'saturated':
    case 'over_range':
      if (l.above !== undefined) return { cause: 'saturated', text: `${shown}: the true value may be higher, so it may be above the limit ${l.above}` };
      return l.below !== undefined && r.value < l.below
        ? { cause: 'saturated', text: `${shown}: it cannot show whether it is below the limit ${l.below}` }
        : undefined;
    case 'under_range':
      if (l.below !== undefined) return { cause: 'invalid', text: `${shown}: the true value may be lower, so it may be below the limit ${l.below}` };
      return l.above !== undefined && r.value > l.above
        ? { cause: 'invalid', text: `${shown}: it cannot show whether it is above the limit ${l.above}` }
        : undefined;
    case 'invalid':
      return { cause: 'invalid', text: `${shown}: it is not a measurement, so it cannot be checked against ${describeLimits(l)}` };
  }
}

/**
 * Why this reading trips the interlock, or undefined if it does not. `limitUnit` is the unit the
 * limits are in (undefined: unknown, not checked).
 */
export function judgeReading(l: Limits, where: string, limitUnit: string | undefined, r: SensorReading): Verdict | undefined {
  if (limitUnit !== undefined && r.unit !== undefined && r.unit !== limitUnit) {
    const limits = describeLimits(l);
    return { cause: 'unit', text: `${where} is now in ${r.unit}, ${limits} ${limits.startsWith('the limits') ? 'are' : 'is'} in ${limitUnit}` };
  }
  if (r.flag !== undefined) return judgeFlag(l, where, { ...r, flag: r.flag });
  const why = beyondLimit(l, r.value);
  return why ? { cause: 'limit', text: `${where} = ${r.value} is ${why}` } : undefined;
}

/** What a person has to do before a reset is accepted, per cause of a reading that still trips. */
export function fixFor(cause: TripCause, sensor: string, limitUnit: string | undefined): string {
  switch (cause) {
    case 'unit':
      return `set ${sensor} back to ${limitUnit}, or give the interlock unit = "<the new unit>" with limits in that unit`;
    case 'saturated':
      return `bring ${sensor} back into its range (less light on it, or its attenuator in)`;
    case 'invalid':
      return `bring ${sensor} back to valid readings (check its range and the detector)`;
    case 'stale':
      return `get ${sensor} reporting again`;
    case 'sensor_error':
      return `fix ${sensor}'s connection`;
    case 'limit':
      return 'bring it back within the limit';
  }
}
