import { z } from 'zod';

/** Driver-specific keys on an `ell14` instrument table. */
export const ell14OptionsSchema = z.strictObject({
  /** RS-485 bus address set on the mount: one hex digit. */
  address: z
    .string({ error: 'address is required: the mount\'s bus address, one hex digit "0" to "F"' })
    .regex(/^[0-9A-Fa-f]$/, 'address must be one hex digit, "0" to "F" (the mount\'s bus address)')
    .transform((a) => a.toUpperCase()),
  /** A move (the mount answers when it has arrived) may take this long before it counts as lost. */
  move_timeout_ms: z.number().int().min(100).max(120_000).default(8000),
  /** How far (degrees) the reached position may differ from the target. */
  position_tolerance_deg: z.number().positive().default(0.05),
});

export type Ell14Options = z.output<typeof ell14OptionsSchema>;
