/**
 * The modbus_rtu options on an instrument table: the slave id and a register map. Readings come
 * from `registers.<name>`, settable parameters from `controls.<name>` (their values live in
 * `params.<name>` like every other driver's parameters).
 */
import { z } from 'zod';
import { registerWidth, typeRange, type ValueType } from './values.js';
import { NAME_PATTERN, readingNameSchema } from '../common/reading-names.js';

const valueType = z.enum(['int16', 'uint16', 'int32', 'uint32', 'float32', 'bool']);
const address = z.number().int().min(0).max(65535).describe('Register or coil address, 0-based (protocol address, not 40001-style).');
const wordOrder = z
  .enum(['big', 'little'])
  .default('big')
  .describe('For 32-bit types: "big" = high word at the lower address (Modbus convention), "little" = low word first.');
const scale = z
  .number()
  .refine((n) => Number.isFinite(n) && n !== 0, 'scale must be a finite, non-zero number')
  .default(1)
  .describe('Engineering value = raw value x scale.');

const readingSpec = z.strictObject({
  function: z.enum(['holding', 'input', 'coil', 'discrete']),
  address,
  type: valueType.optional().describe('Default uint16 for registers, bool for coils and discrete inputs.'),
  word_order: wordOrder,
  scale,
  unit: z.string().optional(),
  description: z.string().optional(),
});

const controlSpec = z.strictObject({
  function: z.enum(['holding', 'coil']),
  address,
  type: valueType.optional().describe('Default uint16 for holding registers, bool for coils.'),
  word_order: wordOrder,
  scale,
  min: z.number().optional(),
  max: z.number().optional(),
  unit: z.string().optional(),
  action: z
    .boolean()
    .default(false)
    .describe(
      'true: writing it does something (start a pump, open a valve): done only when someone asks while daqd runs, never at start-up or on a reconnect. false (default): a setpoint, restored from the config at start-up and on every reconnect.',
    ),
  description: z.string().optional(),
});

const name = z.string().regex(NAME_PATTERN, 'names are letters, digits, "_" and "-"');

export const modbusOptionsSchema = z
  .strictObject({
    slave_id: z.number().int().min(1).max(247).describe('Modbus slave (unit) id, 1-247; unique per port.'),
    registers: z.record(readingNameSchema('register'), readingSpec).default({}),
    controls: z.record(name, controlSpec).default({}),
  })
  .superRefine((opts, ctx) => {
    for (const [table, entries] of [['registers', opts.registers], ['controls', opts.controls]] as const) {
      for (const [key, spec] of Object.entries(entries)) {
        const path = [table, key];
        const isBit = spec.function === 'coil' || spec.function === 'discrete';
        const type = spec.type ?? (isBit ? 'bool' : 'uint16');
        if (isBit && type !== 'bool') ctx.addIssue({ code: 'custom', path: [...path, 'type'], message: `a ${spec.function} holds one bit: type must be "bool" (or left out)` });
        if (!isBit && type === 'bool') ctx.addIssue({ code: 'custom', path: [...path, 'type'], message: `${spec.function === 'input' ? 'an' : 'a'} ${spec.function} register holds a number: use int16, uint16, int32, uint32 or float32` });
        if (spec.address + registerWidth(type) > 65536) ctx.addIssue({ code: 'custom', path: [...path, 'address'], message: `a ${type} at address ${spec.address} runs past the last address 65535` });
      }
    }
    for (const [key, spec] of Object.entries(opts.controls)) {
      if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
        ctx.addIssue({ code: 'custom', path: ['controls', key, 'min'], message: `min (${spec.min}) is above max (${spec.max})` });
      }
    }
  });

export type ModbusOptions = z.infer<typeof modbusOptionsSchema>;
type RawReading = ModbusOptions['registers'][string];
type RawControl = ModbusOptions['controls'][string];

/** One reading or control with its defaults filled in. */
export interface PointSpec {
  name: string;
  function: 'holding' | 'input' | 'coil' | 'discrete';
  address: number;
  type: ValueType;
  wordOrder: 'big' | 'little';
  scale: number;
  unit?: string;
  description?: string;
}

export interface ControlSpec extends PointSpec {
  function: 'holding' | 'coil';
  /** Setting it is an action (never restored at start-up or on a reconnect), not a setpoint. */
  action: boolean;
  /** Engineering-unit limits: the configured ones, else what the register type can hold. */
  min?: number;
  max?: number;
}

function point(name: string, spec: RawReading | RawControl): PointSpec {
  const isBit = spec.function === 'coil' || spec.function === 'discrete';
  return {
    name,
    function: spec.function,
    address: spec.address,
    type: spec.type ?? (isBit ? 'bool' : 'uint16'),
    wordOrder: spec.word_order,
    scale: spec.scale,
    unit: spec.unit,
    description: spec.description,
  };
}

export function readingPoints(options: ModbusOptions): PointSpec[] {
  return Object.entries(options.registers).map(([n, spec]) => point(n, spec));
}

export function controlPoints(options: ModbusOptions): ControlSpec[] {
  return Object.entries(options.controls).map(([n, spec]) => {
    const base: ControlSpec = { ...point(n, spec), function: spec.function, action: spec.action };
    if (base.type === 'bool') return base;
    const range = typeRange(base.type);
    // Scaling may flip the sign (negative scale), so take the two ends in order.
    const ends = range ? [range.min * base.scale, range.max * base.scale].sort((a, b) => a - b) : undefined;
    return { ...base, min: spec.min ?? ends?.[0], max: spec.max ?? ends?.[1] };
  });
}
