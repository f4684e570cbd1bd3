/**
 * A `when` trigger's decision for one reading (docs/schedules.md): armed until the reading crosses
 * the threshold and stays across it for hold_ms, then fires once and re-arms only after the reading
 * came back past the hysteresis band. Plain state on the record, so it survives a restart; the
 * scheduler does the persisting, timing and firing.
 */
import type { ScheduleSpec } from './spec.js';

/** The part of a schedule record a trigger reads and writes. */
export interface TriggerState {
  armed?: boolean;
  crossingSince?: number;
  due?: number;
}

/**
 * What a reading `v` at `now` means: `rearmed` (came back past the band: persist it), `holding`
 * (across, for less than hold_ms: `due` says when it would fire), `fire`, or `none`.
 */
export function triggerOnReading(spec: ScheduleSpec, state: TriggerState, v: number, now: number): 'rearmed' | 'holding' | 'fire' | 'none' {
  const crossed = spec.above !== undefined ? v > spec.above : v < spec.below!;
  const reset = spec.above !== undefined ? v <= spec.above - spec.hysteresis : v >= spec.below! + spec.hysteresis;
  if (!state.armed) {
    if (!reset) return 'none';
    state.armed = true;
    delete state.crossingSince;
    return 'rearmed';
  }
  if (!crossed) {
    delete state.crossingSince;
    return 'none';
  }
  state.crossingSince ??= now;
  if (now - state.crossingSince < spec.hold_ms) {
    state.due = state.crossingSince + spec.hold_ms; // fires at the next reading after, or the tick
    return 'holding';
  }
  return 'fire';
}
