/**
 * A schedule's definition (docs/schedules.md): the same shape in `[schedules.<id>]` and in
 * schedule.add. Times: the cron calculator (croner) only computes the next time; windows and
 * holidays are checked here in the schedule's time zone.
 */
import { Cron } from 'croner';
import { z } from 'zod';

/** Same rule as the config's ids (config/schema.ts imports this file, so not imported from there). */
const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1 to 64 letters, digits, "_" or "-"');

const paramValue = z.union([z.number(), z.boolean(), z.string()]);

export const scheduleSpecSchema = z
  .object({
    type: z.enum(['at', 'ramp', 'every', 'when']),
    instrument: idSchema,
    param: z.string().min(1).max(64),
    /** The value set (at, every, when). */
    value: paramValue.optional(),
    // at
    /** ISO-8601 with a zone ("2026-12-01T18:00:00+01:00" or "...Z"). */
    at: z.string().optional(),
    /** Or a delay from when the schedule was added. */
    after_ms: z.number().int().min(0).optional(),
    // ramp
    /** Start value (default: the device's value when the ramp starts). */
    from: z.number().optional(),
    to: z.number().optional(),
    duration_ms: z.number().int().positive().optional(),
    /** Or the ramp's speed in units per minute. */
    rate_per_min: z.number().positive().optional(),
    /** One set per step (default 1000 ms). */
    step_ms: z.number().int().min(10).default(1000),
    /** The largest change per minute the device may take (each step is limited to it). */
    max_rate_per_min: z.number().positive().optional(),
    /** Start time of the ramp (ISO with zone; default: when added). */
    start: z.string().optional(),
    // every
    cron: z.string().optional(),
    /** An interval aligned to the clock in `tz` (every 30 min at :00 and :30). */
    interval_ms: z.number().int().min(1000).optional(),
    tz: z.string().default('UTC'),
    /** Active windows, e.g. "09:30-16:00 Mon-Fri" (any one of them). */
    windows: z.array(z.string()).optional(),
    /** Local dates (YYYY-MM-DD in `tz`) with no runs. */
    holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).optional(),
    // when
    /** The reading watched (of `source`, default the same instrument). */
    reading: z.string().optional(),
    source: idSchema.optional(),
    above: z.number().optional(),
    below: z.number().optional(),
    /** Re-armed only once the reading is back by this much past the threshold. */
    hysteresis: z.number().min(0).default(0),
    /** The crossing must last this long before it fires. */
    hold_ms: z.number().int().min(0).default(0),
    retrigger: z.enum(['single', 'restart', 'queued']).default('restart'),
    // policies
    on_error: z.enum(['continue', 'stop']).default('continue'),
    on_manual: z.enum(['cancel', 'pause']).default('cancel'),
    misfire: z.enum(['run', 'skip']).default('run'),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((s, ctx) => {
    const need = (ok: boolean, message: string) => ok || ctx.addIssue({ code: 'custom', message });
    if (s.type === 'at') {
      need(s.value !== undefined, 'an "at" schedule needs value');
      need((s.at !== undefined) !== (s.after_ms !== undefined), 'an "at" schedule needs at (ISO time with zone) or after_ms, not both');
      if (s.at !== undefined) need(isZonedIso(s.at), `at: "${s.at}" is not an ISO-8601 time with a zone (Z or +hh:mm)`);
    } else if (s.type === 'ramp') {
      need(s.to !== undefined, 'a ramp needs to');
      need((s.duration_ms !== undefined) !== (s.rate_per_min !== undefined), 'a ramp needs duration_ms or rate_per_min, not both');
      if (s.start !== undefined) need(isZonedIso(s.start), `start: "${s.start}" is not an ISO-8601 time with a zone`);
    } else if (s.type === 'every') {
      need(s.value !== undefined, 'an "every" schedule needs value');
      need((s.cron !== undefined) !== (s.interval_ms !== undefined), 'an "every" schedule needs cron or interval_ms, not both');
    } else {
      need(s.value !== undefined, 'a "when" trigger needs value');
      need(s.reading !== undefined, 'a "when" trigger needs reading');
      need((s.above !== undefined) !== (s.below !== undefined), 'a "when" trigger needs above or below, not both');
    }
    if (!validZone(s.tz)) ctx.addIssue({ code: 'custom', message: `tz: unknown time zone "${s.tz}"`, path: ['tz'] });
    for (const w of s.windows ?? []) {
      try {
        parseWindow(w);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message, path: ['windows'] });
      }
    }
    if (s.cron !== undefined) {
      try {
        new Cron(s.cron, { timezone: s.tz, paused: true });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `cron: ${(err as Error).message}`, path: ['cron'] });
      }
    }
  });

export type ScheduleSpec = z.output<typeof scheduleSpecSchema>;
export type ScheduleInput = z.input<typeof scheduleSpecSchema>;
export const scheduleIdSchema = idSchema;

function isZonedIso(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface Window {
  /** Minutes after local midnight: [start, end). end > start, or end <= start for an overnight window. */
  start: number;
  end: number;
  days: Set<number>;
}

/** "09:30-16:00 Mon-Fri", "22:00-06:00", "Sat,Sun", "08:00-12:00 Mon,Wed,Fri". */
export function parseWindow(text: string): Window {
  const parts = text.trim().split(/\s+/);
  let start = 0;
  let end = 24 * 60;
  let days = new Set([0, 1, 2, 3, 4, 5, 6]);
  for (const part of parts) {
    const t = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(part);
    if (t) {
      start = Number(t[1]) * 60 + Number(t[2]);
      end = Number(t[3]) * 60 + Number(t[4]);
      if (start > 24 * 60 || end > 24 * 60 || Number(t[2]) > 59 || Number(t[4]) > 59) throw new Error(`window "${text}": a time past 24:00`);
      continue;
    }
    days = new Set();
    for (const item of part.split(',')) {
      const range = item.split('-');
      const ix = range.map((d) => DAYS.findIndex((x) => x.toLowerCase() === d.toLowerCase()));
      if (ix.some((i) => i < 0) || ix.length > 2) throw new Error(`window "${text}": "${item}" is not a day or day range (Mon, Mon-Fri)`);
      if (ix.length === 1) days.add(ix[0]!);
      else for (let d = ix[0]!; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === ix[1]) break;
      }
    }
  }
  return { start, end, days };
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
/** Local date, weekday and minute of day of `ms` in `tz`. */
export function localParts(ms: number, tz: string): { date: string; weekday: number; minute: number } {
  let fmt = fmtCache.get(tz);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short', hourCycle: 'h23' });
    fmtCache.set(tz, fmt);
  }
  const p: Record<string, string> = {};
  for (const x of fmt.formatToParts(new Date(ms))) p[x.type] = x.value;
  return { date: `${p.year}-${p.month}-${p.day}`, weekday: DAYS.indexOf(p.weekday!), minute: Number(p.hour) * 60 + Number(p.minute) };
}

/** Whether `ms` is inside one of the windows (none: always) and not on a holiday, in `tz`. */
export function active(ms: number, spec: Pick<ScheduleSpec, 'tz' | 'windows' | 'holidays'>, windows = (spec.windows ?? []).map(parseWindow)): boolean {
  const l = localParts(ms, spec.tz);
  if (spec.holidays?.includes(l.date)) return false;
  if (windows.length === 0) return true;
  return windows.some((w) => {
    if (w.end > w.start) return w.days.has(l.weekday) && l.minute >= w.start && l.minute < w.end;
    // overnight: the part before midnight belongs to the day it starts on
    if (l.minute >= w.start) return w.days.has(l.weekday);
    return l.minute < w.end && w.days.has((l.weekday + 6) % 7);
  });
}

/** The cron expression an aligned interval is: minutes dividing an hour, hours dividing a day; else none. */
export function intervalCron(intervalMs: number): string | undefined {
  const min = intervalMs / 60_000;
  if (Number.isInteger(min) && min >= 1 && min < 60 && 60 % min === 0) return `0 */${min} * * * *`;
  const h = intervalMs / 3_600_000;
  if (Number.isInteger(h) && h >= 1 && h <= 24 && 24 % h === 0) return h === 24 ? '0 0 0 * * *' : `0 0 */${h} * * *`;
  const s = intervalMs / 1000;
  if (Number.isInteger(s) && s < 60 && 60 % s === 0) return `*/${s} * * * * *`;
  return undefined;
}

/**
 * The first run strictly after `after` (ms) that is active (windows, holidays): croner for cron
 * expressions and clock-aligned intervals (DST-correct in `tz`), else the interval aligned to the
 * epoch. undefined: none within the search bound (e.g. every window is a holiday).
 */
export function nextRun(spec: ScheduleSpec, after: number): number | undefined {
  const windows = (spec.windows ?? []).map(parseWindow);
  const expr = spec.cron ?? (spec.interval_ms !== undefined ? intervalCron(spec.interval_ms) : undefined);
  if (expr === undefined) {
    const step = spec.interval_ms!;
    let t = Math.floor(after / step) * step + step;
    for (let i = 0; i < 100_000; i++, t += step) if (active(t, spec, windows)) return t;
    return undefined;
  }
  const cron = new Cron(expr, { timezone: spec.tz, paused: true });
  let from = new Date(after);
  for (let i = 0; i < 100_000; i++) {
    const next = cron.nextRun(from);
    if (!next) return undefined;
    const t = next.getTime();
    if (active(t, spec, windows)) return t;
    from = next;
  }
  return undefined;
}
