import { z } from 'zod';
import type { MethodTable } from './types.js';

export const configMethods: MethodTable = {
  'config.sync': {
    description: 'Write the running config to the file now (retry after a failed write).',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => daemon.submit({ type: 'config.sync' }, 'socket'),
  },
  'config.reload': {
    description:
      'Re-read the config file and apply the difference (no debounce). A file that is empty or removes every instrument at once is refused unless allowEmpty.',
    params: z.object({ allowEmpty: z.boolean().optional() }).strict().optional(),
    handler: (p, { daemon }) => daemon.submit({ type: 'config.reload', source: 'socket', ...(p?.allowEmpty ? { allowEmpty: true } : {}) }, 'socket'),
  },
  'config.reloadStatus': {
    description: 'Outcome, time, and diff or errors of the last reload.',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => daemon.reloadStatus(),
  },
};
