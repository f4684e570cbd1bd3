import { z } from 'zod';
import type { MethodTable } from './types.js';
import * as R from './results.js';

export const configMethods: MethodTable = {
  'config.sync': {
    description: 'Write the running config to the file now (retry after a failed write).',
    params: z.object({}).strict().optional(),
    result: R.syncResult,
    handler: (_p, { daemon, session }) => daemon.submit({ type: 'config.sync' }, session.origin),
  },
  'config.reload': {
    description:
      'Re-read the config file and apply the difference (no debounce); answers once it is applied, or with the error when it failed. A file that is empty or removes every instrument at once is refused unless allowEmpty. wait: also wait until systemd has been told (READY=1 after RELOADING=1), for ExecReload= (daqctl reload --wait).',
    params: z.object({ allowEmpty: z.boolean().optional(), wait: z.boolean().optional() }).strict().optional(),
    result: R.reloadStatus,
    handler: async (p, { daemon, session }) => {
      const run = daemon.submit({ type: 'config.reload', source: 'socket', ...(p?.allowEmpty ? { allowEmpty: true } : {}) }, session.origin);
      if (!p?.wait) return run;
      try {
        return await run;
      } finally {
        await daemon.reloadSettled();
      }
    },
  },
  'config.reloadStatus': {
    description: 'Outcome, time, and diff or errors of the last reload.',
    params: z.object({}).strict().optional(),
    result: R.reloadStatus.nullable(),
    handler: (_p, { daemon }) => daemon.reloadStatus(),
  },
};
