/**
 * The JSON Schema for config/default.toml (config/daqd.schema.json), generated from the same zod
 * schemas that validate the file: the common keys, each driver's options and parameters, each
 * module type's settings. TOML editors (Taplo, Even Better TOML) use it for completion and checks.
 */
import { z } from 'zod';
import { drivers } from '../drivers/registry.js';
import { moduleTypes } from '../modules/registry.js';
import { scheduleSpecSchema } from '../services/scheduler/spec.js';
import type { ParamDecl } from '../drivers/types.js';
import { applicationSchema, instrumentCommonShape, moduleSchema, ID_PATTERN } from './schema.js';

type Json = Record<string, any>;

function toJson(schema: z.ZodType): Json {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

function paramSchema(decl: ParamDecl): Json {
  const base: Json = { description: decl.description + (decl.unit ? ` [${decl.unit}]` : '') };
  switch (decl.type) {
    case 'integer':
      return { ...base, type: 'integer', ...(decl.min !== undefined ? { minimum: decl.min } : {}), ...(decl.max !== undefined ? { maximum: decl.max } : {}) };
    case 'number':
      return { ...base, type: 'number', ...(decl.min !== undefined ? { minimum: decl.min } : {}), ...(decl.max !== undefined ? { maximum: decl.max } : {}) };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'string':
      return { ...base, type: 'string' };
    case 'enum':
      return { ...base, enum: [...(decl.values ?? [])] };
  }
}

function instrumentVariants(): Json[] {
  const common = toJson(z.object(instrumentCommonShape));
  return [...drivers.values()].map((driver) => {
    const options = toJson(driver.optionsSchema);
    // Drivers whose parameters come from their options (SCPI controls, Modbus controls) cannot list them statically.
    let params: Json = { type: 'object', additionalProperties: { type: ['number', 'boolean', 'string'] } };
    const parsedDefaults = driver.optionsSchema.safeParse({});
    if (parsedDefaults.success) {
      const decls = driver.params(parsedDefaults.data).filter((d) => d.settable !== 'never');
      if (decls.length > 0) {
        params = { type: 'object', additionalProperties: false, properties: Object.fromEntries(decls.map((d) => [d.name, paramSchema(d)])) };
      }
    }
    return {
      title: driver.name,
      description: driver.description,
      type: 'object',
      required: ['driver', 'port', ...(options.required ?? [])],
      additionalProperties: false,
      properties: {
        ...common.properties,
        ...(options.properties ?? {}),
        driver: { const: driver.name, description: driver.description },
        params,
      },
    };
  });
}

function moduleVariants(): Json[] {
  const common = toJson(moduleSchema);
  return [...moduleTypes.values()].map((type) => {
    const settings = toJson(type.settingsSchema);
    return {
      title: type.name,
      description: type.description,
      type: 'object',
      required: ['type', ...(settings.required ?? [])],
      additionalProperties: false,
      properties: { ...common.properties, ...(settings.properties ?? {}), type: { const: type.name, description: type.description } },
    };
  });
}

export function configJsonSchema(): Json {
  const idKeys = ID_PATTERN.source;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://daqd.local/config/daqd.schema.json',
    title: 'daqd configuration (config/default.toml)',
    type: 'object',
    additionalProperties: false,
    properties: {
      application: toJson(applicationSchema),
      instruments: {
        type: 'object',
        description: 'Instruments by id: [instruments.<id>]',
        propertyNames: { pattern: idKeys },
        additionalProperties: { oneOf: instrumentVariants() },
      },
      modules: {
        type: 'object',
        description: 'Modules by id: [modules.<id>]',
        propertyNames: { pattern: idKeys },
        additionalProperties: { oneOf: moduleVariants() },
      },
      schedules: {
        type: 'object',
        description: 'Standing schedules and triggers by id: [schedules.<id>] (docs/schedules.md)',
        propertyNames: { pattern: idKeys },
        additionalProperties: toJson(scheduleSpecSchema),
      },
    },
  };
}
