/**
 * The params of the commonest requests - `{"id": "pm1"}`, `{"id": "pm1", "refresh": true}` - checked
 * without zod (issue 25: reads within 2x of a bare server). zod's object parse was the largest cost
 * of an instrument.get after the answer itself: ~4-5 µs of ~60.
 *
 * Only strict object schemas made of ids (the very `idSchema`), plain booleans and optional plain
 * booleans are recognised; for those, a value is accepted here exactly when zod accepts it (a
 * test compares the two on every method's schema), and the result holds the same keys and values.
 * Anything else - an unknown key, a wrong type, a bad id, another schema - gives undefined, and
 * zod parses it as before and words the refusal.
 */
import { z } from 'zod';
import { idProblem, idSchema } from '../config/schema.js';

type FastCheck = (raw: unknown) => Record<string, unknown> | undefined;

interface Field {
  key: string;
  required: boolean;
  accepts: (value: unknown) => boolean;
}

const isId = (value: unknown): boolean => typeof value === 'string' && idProblem(value) === undefined;
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';

/** Per schema: its fast check, or null when the schema is not one of the recognised shapes. */
const compiled = new WeakMap<z.ZodType, FastCheck | null>();

/** `raw` parsed by `schema` when the fast check can decide it; undefined: ask zod. */
export function fastParams(schema: z.ZodType, raw: unknown): Record<string, unknown> | undefined {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = compile(schema);
    compiled.set(schema, check);
  }
  return check === null ? undefined : check(raw);
}

function plainBoolean(schema: unknown): boolean {
  return schema instanceof z.ZodBoolean && (schema._zod.def.checks ?? []).length === 0;
}

function compile(schema: z.ZodType): FastCheck | null {
  if (!(schema instanceof z.ZodObject)) return null;
  const def = schema._zod.def;
  // .strict(): unknown keys are refused (catchall never). Other modes strip or keep them.
  if (!(def.catchall instanceof z.ZodNever) || (def.checks ?? []).length > 0) return null;
  const fields: Field[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, unknown>)) {
    if (field === idSchema) fields.push({ key, required: true, accepts: isId });
    else if (plainBoolean(field)) fields.push({ key, required: true, accepts: isBoolean });
    else if (field instanceof z.ZodOptional && plainBoolean(field.unwrap())) fields.push({ key, required: false, accepts: isBoolean });
    else return null;
  }
  return (raw) => {
    // JSON.parse makes plain objects; anything else is zod's to judge.
    if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
    const table = raw as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let present = 0;
    for (const field of fields) {
      if (!Object.hasOwn(table, field.key)) {
        if (field.required) return undefined;
        continue;
      }
      const value = table[field.key];
      if (!field.accepts(value)) return undefined; // undefined included: zod decides what it makes of it
      out[field.key] = value;
      present++;
    }
    // A key the schema does not name: strict refuses it, with zod's words.
    return Object.keys(table).length === present ? out : undefined;
  };
}
