import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import type { MethodTable } from './types.js';

export const eventMethods: MethodTable = {
  'events.subscribe': {
    description:
      'From now on this connection also receives events as JSON-RPC notifications whose method is the event type (e.g. "reading"). Optional filters: types (event type prefixes, e.g. ["reading", "config."]) and instruments.',
    params: z
      .object({ types: z.array(z.string().min(1)).optional(), instruments: z.array(idSchema).optional() })
      .strict()
      .optional(),
    handler: (p, { session }) => session.subscribe(p ?? {}),
  },
  'events.unsubscribe': {
    description: 'Stop receiving events on this connection.',
    params: z.object({}).strict().optional(),
    handler: (_p, { session }) => session.unsubscribe(),
  },
};
