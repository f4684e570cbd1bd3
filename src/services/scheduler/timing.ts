/**
 * A schedule's timing maths, as plain functions of its record and the time they are given: an
 * every's next run, a ramp's closed form (start, value at a time, resumed after a pause), the value
 * one ramp step sets (rate limit, the declaration's range) and when the next step is due. Apart from
 * the Scheduler and the runner so that they hold no arithmetic: they read the clock and pass it in,
 * and these only read and write the record.
 */
import type { ParamValue } from '../../drivers/types.js';
import type { ParamDeclView } from './checks.js';
import type { ScheduleRecord } from './record.js';
import { nextRun, type ScheduleSpec } from './spec.js';

/** Set `due` to an every's next run after `after`; none left (windows and holidays): done. */
export function armNextRun(rec: ScheduleRecord, after: number): void {
  const next = nextRun(rec.spec, after);
  if (next === undefined) {
    rec.due = undefined;
    rec.state = 'done';
    rec.note = 'no further run (windows and holidays leave none)';
  } else rec.due = next;
}

/** A ramp's start value: its `from`, else the device's value, else the configured one; undefined if none is known. */
export function rampStartValue(spec: ScheduleSpec, deviceValue: ParamValue | undefined, configured: ParamValue | undefined): number | undefined {
  return spec.from ?? (typeof deviceValue === 'number' ? deviceValue : typeof configured === 'number' ? configured : undefined);
}

/** Fix a ramp's closed form at its first step: from `from`, starting at its due time, over duration_ms or at rate_per_min. */
export function startRamp(rec: ScheduleRecord, from: number, now: number): void {
  const s = rec.spec;
  rec.rampFrom = from;
  rec.rampStart = rec.due ?? now;
  rec.rampDuration = s.duration_ms ?? Math.max(1, (Math.abs(s.to! - from) / s.rate_per_min!) * 60_000);
}

/** The value a ramp should have at `t` (closed form), before clamping and rate limits. */
export function rampValue(rec: ScheduleRecord, t: number): number {
  const k = Math.min(1, Math.max(0, (t - rec.rampStart!) / rec.rampDuration!));
  return rec.rampFrom! + (rec.spec.to! - rec.rampFrom!) * k;
}

/** Whether `now` is at or past a started ramp's end (its last step). */
export function rampEnded(rec: ScheduleRecord, now: number): boolean {
  return now >= rec.rampStart! + rec.rampDuration!;
}

/**
 * The value a ramp step sets at `now`: the closed form, limited to max_rate_per_min since the last
 * set (`limited`), then put in the declaration's range, rounded for an integer, and to 1e-9.
 */
export function rampStepValue(rec: ScheduleRecord, now: number, decl: ParamDeclView | undefined): { value: number; limited: boolean } {
  const s = rec.spec;
  let value = rampValue(rec, now);
  let limited = false;
  if (s.max_rate_per_min !== undefined && typeof rec.lastValue === 'number' && rec.lastRunAt !== undefined) {
    const maxStep = (s.max_rate_per_min * (now - rec.lastRunAt)) / 60_000;
    const delta = value - rec.lastValue;
    if (Math.abs(delta) > maxStep) {
      value = rec.lastValue + Math.sign(delta) * maxStep;
      limited = true;
    }
  }
  if (decl?.min !== undefined && value < decl.min) value = decl.min;
  if (decl?.max !== undefined && value > decl.max) value = decl.max;
  if (decl?.type === 'integer') value = Math.round(value);
  value = Math.round(value * 1e9) / 1e9;
  return { value, limited };
}

/** Where a ramp's `to` lands on the device: clamped to the declaration's range. */
export function clampedTarget(to: number, decl: ParamDeclView): number | undefined {
  return to < (decl.min ?? -Infinity) ? decl.min : to > (decl.max ?? Infinity) ? decl.max : to;
}

/** A started ramp's next step after `now`: on its step_ms grid from the start, never past its end. */
export function nextRampStep(rec: ScheduleRecord, now: number): number {
  const start = rec.rampStart!;
  const step = rec.spec.step_ms;
  return Math.min(start + rec.rampDuration!, (Math.floor((now - start) / step) + 1) * step + start);
}

/**
 * A paused ramp resumed at `now`: it goes on from where it stopped, from the device's value now (a
 * manual set may have moved it), over what was left of its duration (at least one step).
 */
export function resumeRamp(rec: ScheduleRecord, now: number, deviceValue: ParamValue | undefined): void {
  const done = Math.min(1, (rec.pausedAt! - rec.rampStart!) / rec.rampDuration!);
  rec.rampFrom = typeof deviceValue === 'number' ? deviceValue : rec.rampFrom! + (rec.spec.to! - rec.rampFrom!) * done;
  rec.rampDuration = Math.max(rec.spec.step_ms, rec.rampDuration! * (1 - done));
  rec.rampStart = now;
  rec.due = now;
}
