/**
 * history.*: the change history (issue #22, docs/history.md).
 */
import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { Daemon } from '../../core/daemon.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';

const time = z.union([z.string(), z.number()]);

function historyOf(daemon: Daemon) {
  if (!daemon.history) throw new DaqError('unavailable', 'the history is not running');
  return daemon.history;
}

export const historyMethods: MethodTable = {
  'history.list': {
    description: 'Parameter changes, newest first: {instrument?, param?, source? ("schedule" or "schedule:ramp1"), from?, to? (ISO or ms), before? (a change id: the next page), limit? (default 100)} -> {entries, next?}.',
    params: z
      .object({ instrument: z.string().optional(), param: z.string().optional(), source: z.string().optional(), from: time.optional(), to: time.optional(), before: z.string().optional(), limit: z.number().int().min(1).max(10_000).optional() })
      .strict()
      .optional(),
    result: z.looseObject({ entries: z.array(R.historyEntry).describe('newest first'), next: z.string().optional().describe('pass as before for the next page') }),
    handler: (p, { daemon }) => historyOf(daemon).list(p ?? {}),
  },
  'history.revert': {
    description: 'Set a change\'s old value back through the normal path (recorded as source "history"): {change, withActions?} -> the instrument.set answer plus {reverted}. Refused for actions unless withActions.',
    params: z.object({ change: z.string().min(1).max(64), withActions: z.boolean().optional() }).strict(),
    handler: async (p, { daemon }) => {
      const entry = historyOf(daemon).find(p.change);
      if (!entry) throw new DaqError('not_found', `no change "${p.change}" in the history`);
      if (entry.old === undefined) throw new DaqError('conflict', `change ${p.change} has no old value (daqd did not know ${entry.instrument}.${entry.param} before it): nothing to put back`);
      if (entry.kind === 'action' && p.withActions !== true) throw new DaqError('conflict', `${entry.instrument}.${entry.param} is an action: reverting performs it again; say withActions to do so`);
      const result = await daemon.submit({ type: 'instrument.set', id: entry.instrument, params: { [entry.param]: entry.old } }, `history:${entry.id}`);
      return { ...result, reverted: entry.id };
    },
  },
};
