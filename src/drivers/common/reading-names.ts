/**
 * Names a reading may not take because the recorder's CSV files already have columns by them
 * (`time,seq,<readings>,flags`, docs/recording.md). Drivers whose reading names come from the
 * config (Modbus registers, SCPI channels) refuse them when the config is checked: a register
 * named `time` gave a file with two `time` columns, and an export that took its value for the
 * timestamp.
 */
import { z } from 'zod';

export const RESERVED_READING_NAMES: ReadonlySet<string> = new Set(['time', 'seq', 'flags']);

/** A name a driver's config gives a reading or a control: letters, digits, `_` and `-`. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A config-given reading name: letters, digits, `_` and `-`, and not a recorder column. */
export function readingNameSchema(what: string) {
  return z
    .string()
    .regex(NAME_PATTERN, `${what} names use letters, digits, "_" and "-"`)
    .refine((n) => !RESERVED_READING_NAMES.has(n), `time, seq and flags are columns of every recorded file (docs/recording.md): name the ${what} something else`);
}
