/** Config keys of the generic SCPI driver (everything a new SCPI instrument needs, no code). */
import { z } from 'zod';

const NAME = /^[A-Za-z0-9_-]+$/;
const scalar = z.union([z.number(), z.string(), z.boolean()]);

export const channelSchema = z.strictObject({
  /** Query whose reply is the reading, e.g. "MEAS:VOLT:DC?". */
  query: z.string().min(1),
  unit: z.string().optional(),
  type: z.enum(['number', 'string', 'boolean']).default('number'),
  description: z.string().optional(),
});

export const controlSchema = z
  .strictObject({
    /** Set command with a `{value}` placeholder, e.g. "VOLT {value}". */
    command: z.string().includes('{value}', { message: 'must contain {value} where the value goes' }),
    /** Query that reads the value back, e.g. "VOLT?". */
    query: z.string().min(1).optional(),
    type: z.enum(['number', 'integer', 'boolean', 'enum']).default('number'),
    min: z.number().optional(),
    max: z.number().optional(),
    unit: z.string().optional(),
    values: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    /** How a boolean goes on the wire. */
    format: z.enum(['1/0', 'ON/OFF']).default('1/0'),
    /**
     * true: setting it does something to the world (output on, a trigger, a move): performed only
     * when someone asks while daqd runs, never at start-up or on a reconnect. false (default): a
     * setpoint, restored from the config at start-up and on every reconnect.
     */
    action: z
      .boolean()
      .default(false)
      .describe('true: an action (never sent at start-up or on a reconnect, only on request); false (default): a setpoint, restored from the config'),
    description: z.string().optional(),
  })
  .refine((c) => c.type !== 'enum' || c.values !== undefined, { message: 'an enum control needs `values`', path: ['values'] })
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, { message: 'min must not exceed max', path: ['min'] });

export const scpiOptionsSchema = z.strictObject({
  /** Ends every command and every reply. */
  terminator: z.string().min(1).default('\n'),
  /** At init, *IDN? must contain this text (case-insensitive). */
  idn_contains: z.string().optional(),
  /** Ask SYST:ERR? after each set (and drain the queue at init). */
  check_errors: z.boolean().default(true),
  channels: z.record(z.string().regex(NAME, 'channel names use letters, digits, _ and -'), channelSchema).default({}),
  controls: z.record(z.string().regex(NAME, 'control names use letters, digits, _ and -'), controlSchema).default({}),
  /** Only for port = "sim": the simulated device. */
  sim: z
    .strictObject({
      idn: z.string().optional(),
      /** Centre value of each channel's reading. */
      values: z.record(z.string(), scalar).optional(),
      /** Relative noise on numeric channels. */
      noise: z.number().min(0).optional(),
    })
    .optional(),
});

export type ScpiOptions = z.output<typeof scpiOptionsSchema>;
export type ScpiChannel = z.output<typeof channelSchema>;
export type ScpiControl = z.output<typeof controlSchema>;
