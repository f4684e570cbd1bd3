/** Config keys of the generic SCPI driver (everything a new SCPI instrument needs, no code). */
import { z } from 'zod';
import { BLOCK_FORMATS, BLOCK_REDUCERS } from './block.js';
import { NAME_PATTERN, readingNameSchema } from '../common/reading-names.js';

const scalar = z.union([z.number(), z.string(), z.boolean()]);

export const channelSchema = z
  .strictObject({
    /** Query whose reply is the reading, e.g. "MEAS:VOLT:DC?". */
    query: z.string().min(1),
    unit: z.string().optional(),
    /** "block": the reply is an IEEE 488.2 definite-length block (#<n><len><data>), see block_format. */
    type: z.enum(['number', 'string', 'boolean', 'block']).default('number'),
    description: z.string().optional(),
    /** type = "block": how the data is laid out (text: the bytes as a string reading). */
    block_format: z.enum(BLOCK_FORMATS).optional().describe('type = "block": sample format (int8 ... real64, or text); default real32'),
    /** type = "block": byte order of multi-byte samples ("big" is IEEE 488.2 normal order, FORM:BORD NORM). */
    byte_order: z.enum(['big', 'little']).optional(),
    /** type = "block": the one number the reading carries. */
    reduce: z.enum(BLOCK_REDUCERS).optional().describe('type = "block": mean (default), min, max, first, last, sum, rms or count of the samples'),
    /** Reply timeout for this query (ms), e.g. a long waveform transfer; default the instrument's timeout_ms. */
    timeout_ms: z.number().int().min(10).max(600_000).optional(),
  })
  .refine((c) => c.type === 'block' || (c.block_format === undefined && c.byte_order === undefined && c.reduce === undefined), {
    message: 'block_format, byte_order and reduce are for type = "block" channels',
    path: ['type'],
  })
  .refine((c) => c.block_format !== 'text' || c.reduce === undefined, { message: 'a text block is a string reading: reduce does not apply', path: ['reduce'] });

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
    /**
     * Wait for the operation to complete after the command (*OPC? answers 1 once the instrument has
     * finished: a range change, a relay, a sweep setting), before errors are read and the value read back.
     */
    opc: z.boolean().default(false).describe('true: after the command, wait for *OPC? to answer 1 (operation complete) before going on'),
    /** How long *OPC? may take (ms). */
    opc_timeout_ms: z.number().int().min(10).max(600_000).default(10_000),
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
  channels: z.record(readingNameSchema('channel'), channelSchema).default({}),
  controls: z.record(z.string().regex(NAME_PATTERN, 'control names use letters, digits, _ and -'), controlSchema).default({}),
  /** Only for port = "sim": the simulated device. */
  sim: z
    .strictObject({
      idn: z.string().optional(),
      /** Centre value of each channel's reading. */
      values: z.record(z.string(), scalar).optional(),
      /** Relative noise on numeric channels. */
      noise: z.number().min(0).optional(),
      /** Samples in each simulated block reply (type = "block" channels). */
      points: z.number().int().min(0).max(1_000_000).optional(),
    })
    .optional(),
});

export type ScpiOptions = z.output<typeof scpiOptionsSchema>;
export type ScpiChannel = z.output<typeof channelSchema>;
export type ScpiControl = z.output<typeof controlSchema>;
