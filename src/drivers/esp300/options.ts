import { z } from 'zod';

/** Driver-specific keys on an `esp300` instrument table. */
export const esp300OptionsSchema = z
  .strictObject({
    /** Axes with a stage attached; the ESP300 drives up to three. */
    axes: z
      .array(z.number().int().min(1, 'ESP300 axes are numbered 1 to 3').max(3, 'ESP300 axes are numbered 1 to 3'))
      .min(1, 'list at least one axis, e.g. axes = [1]')
      .refine((axes) => new Set(axes).size === axes.length, 'each axis may be listed only once')
      .default([1]),
    /** A move may take this many times its computed duration... */
    move_timeout_factor: z.number().min(1).default(2),
    /** ...plus this many seconds, before it counts as stuck (then the axis is stopped). */
    move_timeout_margin_s: z.number().min(0).default(5),
    /** How far (stage units) the reached position may differ from the target. */
    position_tolerance: z.number().positive().default(0.001),
  });

export type Esp300Options = z.output<typeof esp300OptionsSchema>;
