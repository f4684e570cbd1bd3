import { z } from 'zod';

/** Driver-specific keys on a `maitai` instrument table. */
export const maitaiOptionsSchema = z.strictObject({
  /** The laser answers slowly (up to ~2 s has been seen on real units). */
  reply_timeout_ms: z.number().int().min(50).max(60_000).default(3000),
  /** How far (nm) the wavelength read back may differ from the one set. */
  wavelength_tolerance_nm: z.number().positive().default(0.5),
});

export type MaiTaiOptions = z.output<typeof maitaiOptionsSchema>;
