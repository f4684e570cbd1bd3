/**
 * A schedule's record: its definition and the state the scheduler keeps for it, in memory and (with
 * `due` as ISO UTC) in `<state dir>/schedules/<id>.json`. Apart from the Scheduler so that the
 * modules working on a record (timing.ts, run.ts) need not import the class that uses them;
 * scheduler.ts re-exports both types.
 */
import type { ParamValue } from '../../drivers/types.js';
import type { ScheduleSpec } from './spec.js';

export type ScheduleState = 'active' | 'paused' | 'done' | 'cancelled' | 'failed';

export interface ScheduleRecord {
  id: string;
  spec: ScheduleSpec;
  /** "config" ([schedules.<id>] in the file) or who added it ("socket"). */
  owner: string;
  state: ScheduleState;
  addedAt: number;
  /** Next due time (ms UTC); persisted as ISO UTC. */
  due?: number;
  /** Ramp: resolved start time, start value, duration; pausedAt while paused. */
  rampStart?: number;
  rampFrom?: number;
  rampDuration?: number;
  pausedAt?: number;
  /** The due time of the last fire begun (at-most-once: written before the set is sent). */
  firedDue?: number;
  lastValue?: ParamValue;
  lastRunAt?: number;
  lastError?: string;
  fires: number;
  errors: number;
  note?: string;
  /** when: armed (waiting for a crossing), crossing since (hold), queue of pending fires. */
  armed?: boolean;
  crossingSince?: number;
}
