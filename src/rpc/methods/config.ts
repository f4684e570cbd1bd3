import { z } from 'zod';
import type { MethodTable } from './types.js';

export const configMethods: MethodTable = {
  'config.sync': {
    description: 'Write the running config to the file now (retry after a failed write).',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => daemon.submit({ type: 'config.sync' }, 'socket'),
  },
  'config.reload': {
    description: 'Re-read the config file and apply the difference (no debounce).',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => daemon.submit({ type: 'config.reload', source: 'socket' }, 'socket'),
  },
  'config.reloadStatus': {
    description: 'Outcome, time, and diff or errors of the last reload.',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => daemon.reloadStatus(),
  },
};
