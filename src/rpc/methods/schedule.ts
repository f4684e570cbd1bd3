/**
 * schedule.*: schedules and triggers (issue #22, docs/schedules.md). The schedule's fields are
 * those of `[schedules.<id>]` (snake_case), in `schedule`.
 */
import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import { DaqError } from '../../errors.js';
import type { Daemon } from '../../core/daemon.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';

function schedulerOf(daemon: Daemon) {
  if (!daemon.scheduler) throw new DaqError('unavailable', 'the scheduler is not running');
  return daemon.scheduler;
}
const byId = z.object({ id: idSchema }).strict();

export const scheduleMethods: MethodTable = {
  'schedule.add': {
    description: 'Add a schedule (kept across restarts in the state dir, not in the config file): {id?, schedule: {type: at|ramp|every|when, instrument, param, ...}} -> the schedule.',
    params: z.object({ id: idSchema.optional(), schedule: z.record(z.string(), z.unknown()) }).strict(),
    handler: (p, { daemon, session }) => {
      const s = schedulerOf(daemon);
      return s.view(s.add(p.id, p.schedule, session.origin));
    },
  },
  'schedule.list': {
    description: 'Every schedule with its state and next due time (UTC).',
    params: z.object({}).strict().optional(),
    result: z.looseObject({ schedules: z.array(R.scheduleView) }),
    handler: (_p, { daemon }) => ({ schedules: schedulerOf(daemon).list() }),
  },
  'schedule.get': { description: 'One schedule: {id}.', params: byId, handler: (p, { daemon }) => schedulerOf(daemon).get(p.id) },
  'schedule.cancel': {
    description: 'Cancel a schedule: {id}. A schedule from the config file is removed there instead.',
    params: byId,
    handler: (p, { daemon }) => {
      const s = schedulerOf(daemon);
      return s.view(s.cancel(p.id));
    },
  },
  'schedule.pause': {
    description: 'Pause a schedule: {id} (a ramp holds its value; resume goes on from the device value).',
    params: byId,
    handler: (p, { daemon }) => {
      const s = schedulerOf(daemon);
      return s.view(s.pause(p.id));
    },
  },
  'schedule.resume': {
    description: 'Resume a paused schedule: {id}.',
    params: byId,
    handler: (p, { daemon }) => {
      const s = schedulerOf(daemon);
      return s.view(s.resume(p.id));
    },
  },
};
