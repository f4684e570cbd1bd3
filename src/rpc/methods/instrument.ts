import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import type { MethodTable } from './types.js';
import { inlineTable } from './inline-config.js';

const id = z.object({ id: idSchema }).strict();
const paramValue = z.union([z.number(), z.boolean(), z.string()]);

export const instrumentMethods: MethodTable = {
  'instrument.list': {
    description: 'All instruments with driver, port, state, params and last reading.',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => ({ instruments: daemon.listInstruments() }),
  },
  'instrument.get': {
    description: 'One instrument.',
    params: id,
    handler: (p, { daemon }) => daemon.getInstrument(p.id),
  },
  'instrument.add': {
    description: 'Add and start an instrument from an inline config: {id, config: {...}} or {id, toml: "..."}.',
    params: z
      .object({
        id: idSchema,
        config: z.record(z.string(), z.unknown()).optional(),
        toml: z.string().optional(),
        persist: z.boolean().optional(),
      })
      .strict(),
    handler: (p, { daemon }) =>
      daemon.submit({ type: 'instrument.add', id: p.id, config: inlineTable(p.id, 'instruments', p.config, p.toml), persist: p.persist }, 'socket'),
  },
  'instrument.remove': {
    description: 'Stop and remove an instrument. Refused (in_use) if a module uses it, unless force or cascade.',
    params: z
      .object({ id: idSchema, force: z.boolean().optional(), cascade: z.boolean().optional(), persist: z.boolean().optional() })
      .strict(),
    handler: (p, { daemon }) => daemon.submit({ type: 'instrument.remove', ...p }, 'socket'),
  },
  'instrument.set': {
    description: 'Set one or more parameters (and/or poll_interval_ms) on a running instrument; values are confirmed by the device.',
    params: z.object({ id: idSchema, params: z.record(z.string(), paramValue), persist: z.boolean().optional() }).strict(),
    handler: (p, { daemon }) => daemon.submit({ type: 'instrument.set', ...p }, 'socket'),
  },
  'instrument.dependencies': {
    description: 'Which modules use the instrument, in which roles.',
    params: id,
    handler: (p, { daemon }) => daemon.dependencies(p.id),
  },
};
