/**
 * `monitor`: watches one reading of its `source` instrument against a high and/or low limit and
 * raises an alarm event when it goes out, and one clear event when it is back inside by the
 * hysteresis margin. Alarms are edges, not levels: one event per raise and one per clear, never one
 * per reading, so subscribers and loggers are not flooded by a reading that hovers at a limit.
 *
 * With `max_age_ms`, a source that goes silent raises a separate `stale` alarm (cause "stale"):
 * a monitor that no longer sees its reading must say so, not keep showing the last value as if
 * all were well. Silence produces no events, so a timer notices it.
 *
 * It never compares numbers of different units: a reading in another unit than the limits' raises
 * an alarm with cause "unit" instead of being checked, and a reading its driver flags as not a
 * valid measurement (a saturated detector) raises one with cause "invalid" (issue #15).
 */
import { z } from 'zod';
import type { ReadingFlag } from '../../drivers/types.js';
import type { ModuleContext, ModuleInstance, ModuleTypeDefinition, RoleDecl } from '../types.js';
import { realClock, type ModuleClock, type TimerHandle } from '../clock.js';
import {
  alarmEvent,
  declaredUnit,
  flagOf,
  formatAge,
  limitSchema,
  maxAgeSchema,
  numericReading,
  readingNameSchema,
  unitIn,
  unitSchema,
  type AlarmCause,
  type ReadingEvent,
} from './common.js';

export const monitorSettingsSchema = z
  .strictObject({
    reading: readingNameSchema.describe('The reading of the source instrument to watch, e.g. "power_w".'),
    high: limitSchema.optional().describe('Alarm when the reading goes above this.'),
    low: limitSchema.optional().describe('Alarm when the reading goes below this.'),
    hysteresis: limitSchema
      .refine((h) => h >= 0, 'must be 0 or more')
      .default(0)
      .describe('Absolute margin: the alarm clears only once the reading is back inside the limits by this much.'),
    delay_samples: z
      .int()
      .min(1, 'must be at least 1')
      .default(1)
      .describe('Raise only after this many consecutive out-of-limit readings (filters single spikes).'),
    max_age_ms: maxAgeSchema.optional().describe('Raise a stale alarm when the source has not delivered the reading for this long (ms). Default off.'),
    unit: unitSchema
      .optional()
      .describe("The unit the limits are in, e.g. \"W\". Default: the source's declared unit of the reading. A reading in another unit raises a unit alarm."),
  })
  .superRefine((s, ctx) => {
    if (s.high === undefined && s.low === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give a "high" and/or a "low" limit: without one the monitor watches nothing', path: [] });
      return;
    }
    if (s.high !== undefined && s.low !== undefined) {
      if (s.low >= s.high) {
        ctx.addIssue({ code: 'custom', message: `low (${s.low}) must be below high (${s.high})`, path: ['low'] });
      } else if (s.low + s.hysteresis > s.high - s.hysteresis) {
        ctx.addIssue({
          code: 'custom',
          message: `hysteresis ${s.hysteresis} is too large for limits ${s.low}..${s.high}: an alarm could never clear (needs at most ${(s.high - s.low) / 2})`,
          path: ['hysteresis'],
        });
      }
    }
  });

export type MonitorSettings = z.output<typeof monitorSettingsSchema>;

type Side = 'high' | 'low';

/** Which limit the value is beyond, if any. The limit value itself still counts as inside. */
function beyond(s: MonitorSettings, value: number): Side | undefined {
  if (s.high !== undefined && value > s.high) return 'high';
  if (s.low !== undefined && value < s.low) return 'low';
  return undefined;
}

/** Inside the limits with the hysteresis margin to spare: where an active alarm clears. */
function clearlyInside(s: MonitorSettings, value: number): boolean {
  if (s.high !== undefined && value > s.high - s.hysteresis) return false;
  if (s.low !== undefined && value < s.low + s.hysteresis) return false;
  return true;
}

function describeLimits(s: MonitorSettings): string {
  const parts: string[] = [];
  if (s.low !== undefined) parts.push(`low ${s.low}`);
  if (s.high !== undefined) parts.push(`high ${s.high}`);
  if (s.hysteresis > 0) parts.push(`hysteresis ${s.hysteresis}`);
  return parts.join(', ');
}

class Monitor implements ModuleInstance {
  private readonly clock: ModuleClock;
  /** The `unit` setting, else the source's declared unit of the reading when this instance started. */
  private readonly unitAtStart: string | undefined;
  private alarm = false;
  private side: Side | undefined;
  private lastValue: number | undefined;
  private lastTs: string | undefined;
  private since: string;
  /** Consecutive out-of-limit readings while not yet alarmed (for delay_samples). */
  private outCount = 0;
  private disposed = false;
  /** The source has not been read for max_age_ms: the stale alarm is active. */
  private stale = false;
  private staleSince: string | undefined;
  /** When the watched reading last arrived (module clock ms; the start, before the first). */
  private freshAt: number;
  private staleTimer: TimerHandle | undefined;
  /** The unit alarm is active: the reading is in this unit, not the limits'. */
  private wrongUnit: string | undefined;
  /** The invalid alarm is active: the reading is flagged so. */
  private invalid: ReadingFlag | undefined;

  constructor(private readonly ctx: ModuleContext<MonitorSettings>) {
    this.clock = ctx.clock ?? realClock;
    this.freshAt = this.clock.now();
    this.since = new Date(this.freshAt).toISOString();
    const source = ctx.roles.source;
    this.unitAtStart = ctx.settings.unit ?? declaredUnit(source === undefined ? undefined : ctx.readingsOf?.(source), ctx.settings.reading);
    // Reconfigured while stale: still stale, without a second raise; a reading clears it.
    if (ctx.previous?.stale === true && ctx.settings.max_age_ms !== undefined) {
      this.stale = true;
      this.staleSince = typeof ctx.previous.staleSince === 'string' ? ctx.previous.staleSince : this.since;
    }
    this.armStaleTimer(ctx.settings.max_age_ms);
  }

  /** One timer, re-armed from the last reading when it fires, rather than reset on every reading. */
  private armStaleTimer(delay: number | undefined): void {
    if (delay === undefined || this.disposed || this.stale) return;
    this.staleTimer = this.clock.setTimer(() => this.checkStale(), delay);
  }

  private checkStale(): void {
    this.staleTimer = undefined;
    const maxAge = this.ctx.settings.max_age_ms!;
    const now = this.clock.now();
    const age = now - this.freshAt;
    if (age < maxAge) return this.armStaleTimer(maxAge - age);
    const last = this.lastValue === undefined ? 'no reading yet' : `last value ${this.lastValue}`;
    const message = `${this.where()} has not been read for ${formatAge(age)} (max_age_ms = ${maxAge}; ${last}): the monitor cannot see it`;
    this.stale = true;
    this.staleSince = new Date(now).toISOString();
    this.outCount = 0;
    this.ctx.log.warn({ ageMs: age }, message);
    this.ctx.emit(alarmEvent({ module: this.ctx.id, active: true, message, cause: 'stale' }));
  }

  /**
   * The unit the limits are in (undefined: not known, not checked): fixed at the start; only a
   * source not known then is looked up now.
   */
  private get unit(): string | undefined {
    const source = this.ctx.roles.source;
    return this.unitAtStart ?? declaredUnit(source === undefined ? undefined : this.ctx.readingsOf?.(source), this.ctx.settings.reading);
  }

  /** "pm1.power": the watched reading. Roles are looked up live: an assignment change needs no new instance. */
  private where(): string {
    return `${this.ctx.roles.source ?? '(no source assigned)'}.${this.ctx.settings.reading}`;
  }

  /** A fresh reading: clears the stale alarm and restarts the clock. */
  private fresh(value: number): void {
    const now = this.clock.now();
    const gap = now - this.freshAt;
    this.freshAt = now;
    if (!this.stale) {
      if (this.staleTimer === undefined) this.armStaleTimer(this.ctx.settings.max_age_ms);
      return;
    }
    this.stale = false;
    this.staleSince = undefined;
    this.raise(false, 'stale', `${this.where()} is read again (${value}) after ${formatAge(gap)}`, value);
    this.armStaleTimer(this.ctx.settings.max_age_ms);
  }

  handleEvent(event: Parameters<ModuleInstance['handleEvent']>[0]): void {
    if (this.disposed || event.type !== 'reading') return;
    const value = numericReading(event, this.ctx.roles.source, this.ctx.settings.reading);
    if (value === undefined) return;
    // A reading in the wrong unit or flagged still shows the source is alive: its own alarm says
    // what is wrong, a stale alarm on top would not.
    this.fresh(value);
    this.lastValue = value;
    this.lastTs = event.ts;
    if (!this.comparable(event, value)) return;
    this.checkLimits(value, event.ts);
  }

  /**
   * Whether the reading can be compared with the limits: the limits' unit and not flagged. Raises
   * the unit or invalid alarm when it cannot, clears it when it can again.
   */
  private comparable(event: ReadingEvent, value: number): boolean {
    const s = this.ctx.settings;
    const unit = unitIn(event, s.reading, this.ctx.readingsOf?.(event.instrument));
    const wrongUnit = this.unit !== undefined && unit !== undefined && unit !== this.unit ? unit : undefined;
    if (wrongUnit !== this.wrongUnit) {
      const message = wrongUnit
        ? `${this.where()} is now in ${wrongUnit}, the limits (${describeLimits(s)}) are in ${this.unit}: the monitor cannot compare them`
        : `${this.where()} is in ${this.unit} again (${value})`;
      this.wrongUnit = wrongUnit;
      this.raise(wrongUnit !== undefined, 'unit', message, value);
    }
    if (wrongUnit) return this.notCompared();
    const flag = flagOf(event, s.reading);
    if (flag !== this.invalid) {
      const message = flag
        ? `${this.where()} reads ${value} but is flagged ${flag}: the monitor cannot check it against the limits (${describeLimits(s)})`
        : `${this.where()} is a valid measurement again (${value})`;
      // A change from one flag to another (saturated -> invalid) is the same alarm, still active.
      if (flag === undefined || this.invalid === undefined) this.raise(flag !== undefined, 'invalid', message, value);
      this.invalid = flag;
    }
    return flag === undefined || this.notCompared();
  }

  /** A reading the limits cannot judge breaks a run of delay_samples. */
  private notCompared(): false {
    this.outCount = 0;
    return false;
  }

  private checkLimits(value: number, ts: string): void {
    const s = this.ctx.settings;
    if (!this.alarm) {
      const side = beyond(s, value);
      this.outCount = side ? this.outCount + 1 : 0;
      if (side && this.outCount >= s.delay_samples) this.setAlarm(true, side, ts, value, this.raiseMessage(side, value));
    } else if (clearlyInside(s, value)) {
      this.outCount = 0;
      this.setAlarm(false, undefined, ts, value, `${this.where()} = ${value} is back within limits (${describeLimits(s)})`);
    }
  }

  private raiseMessage(side: Side, value: number): string {
    const s = this.ctx.settings;
    const limit = side === 'high' ? `above the high limit ${s.high}` : `below the low limit ${s.low}`;
    const delay = s.delay_samples > 1 ? ` for ${s.delay_samples} readings in a row` : '';
    return `${this.where()} = ${value} is ${limit}${delay}`;
  }

  private setAlarm(active: boolean, side: Side | undefined, ts: string, value: number, message: string): void {
    this.alarm = active;
    this.side = side;
    this.since = ts;
    this.raise(active, 'limit', message, value);
  }

  /** Logs and publishes one alarm edge. */
  private raise(active: boolean, cause: AlarmCause, message: string, value?: number): void {
    if (active) this.ctx.log.warn({ value, cause }, message);
    else this.ctx.log.info({ value, cause }, message);
    this.ctx.emit(alarmEvent({ module: this.ctx.id, active, message, ...(value !== undefined ? { value } : {}), cause }));
  }

  status(): Record<string, unknown> {
    return {
      alarm: this.alarm,
      ...(this.side ? { side: this.side } : {}),
      lastValue: this.lastValue ?? null,
      lastReadingAt: this.lastTs ?? null,
      since: this.since,
      limits: describeLimits(this.ctx.settings),
      unit: this.unit ?? null,
      ...(this.wrongUnit !== undefined ? { unitMismatch: this.wrongUnit } : {}),
      ...(this.invalid !== undefined ? { invalid: this.invalid } : {}),
      ...(this.ctx.settings.max_age_ms !== undefined ? { maxAgeMs: this.ctx.settings.max_age_ms, stale: this.stale } : {}),
      ...(this.staleSince ? { staleSince: this.staleSince } : {}),
    };
  }

  dispose(): void {
    this.disposed = true;
    if (this.staleTimer !== undefined) this.clock.clearTimer(this.staleTimer);
    this.staleTimer = undefined;
  }
}

export const monitorType: ModuleTypeDefinition<MonitorSettings> = {
  name: 'monitor',
  description: 'Watches a reading against high/low limits; raises and clears alarm events (with hysteresis).',
  settingsSchema: monitorSettingsSchema,
  roles(settings): RoleDecl[] {
    return [
      {
        name: 'source',
        description: `the instrument whose "${settings.reading}" reading is watched`,
        required: true,
        needs: [{ kind: 'reading', name: settings.reading }],
      },
    ];
  },
  create(ctx) {
    return new Monitor(ctx);
  },
};
