import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';
import type { Daemon } from '../../core/daemon.js';
import type { ClientStats } from '../connection.js';
import { AnswerBatch } from '../answer-batch.js';
import { composed, reuseJson } from '../json-text.js';

/** The status batch of each daemon and each source of client figures (the socket server's, HTTP's). */
const batches = new WeakMap<Daemon, WeakMap<() => ClientStats, AnswerBatch<object>>>();

function statusBatch(daemon: Daemon, clientStats: () => ClientStats): AnswerBatch<object> {
  let byStats = batches.get(daemon);
  if (!byStats) batches.set(daemon, (byStats = new WeakMap()));
  let batch = byStats.get(clientStats);
  if (!batch) {
    batch = new AnswerBatch<object>(() => {
      const status = daemon.status();
      // Parts reused call after call (status-memo.ts) and never edited: their JSON text is made once.
      for (const part of [status.lastReload, status.instruments, status.modules, status.safeMode, status.overrides, status.trouble, status.ports]) reuseJson(part);
      status.clients = clientStats();
      // Shared by the pass's requests and never edited (frozen); the last status's text is reused
      // where this one has the same content (json-text.ts, slots).
      return composed(status, 'daemon.status', true);
    });
    byStats.set(clientStats, batch);
  }
  return batch;
}

export const daemonMethods: MethodTable = {
  'daemon.status': {
    description: 'Version, uptime, config path, counts, persistence, last reload status and socket clients.',
    params: z.object({}).strict().optional(),
    result: R.daemonStatus,
    // One answer for the requests read in one pass of the event loop (answer-batch.ts).
    handler: (_p, { daemon, clientStats }) => statusBatch(daemon, clientStats).next(),
  },
};

/** In the contract, built in a later milestone: answer clearly instead of "method not found". (None now: version.* is in version.ts.) */
const PLANNED: string[] = [];

export const plannedMethods: MethodTable = Object.fromEntries(
  PLANNED.map((name) => [
    name,
    {
      description: 'Planned; not in this version.',
      params: z.unknown(),
      handler: () => {
        throw new DaqError('not_implemented', `${name} is part of the contract but not implemented in this version of daqd yet`);
      },
    },
  ]),
);
