/**
 * `monitor`: watches one reading of its `source` instrument against a high and/or low limit and
 * raises an alarm event when it goes out, and one clear event when it is back inside by the
 * hysteresis margin. Alarms are edges, not levels: one event per raise and one per clear, never one
 * per reading, so subscribers and loggers are not flooded by a reading that hovers at a limit.
 *
 * With `max_age_ms`, a source that goes silent raises a separate `stale` alarm (cause "stale"):
 * a monitor that no longer sees its reading must say so, not keep showing the last value as if
 * all were well. Silence produces no events, so a timer notices it.
 */
import { z } from 'zod';
import type { ModuleContext, ModuleInstance, ModuleTypeDefinition, RoleDecl } from '../types.js';
import { formatAge, limitSchema, maxAgeSchema, numericReading, readingNameSchema } from './common.js';

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
  private alarm = false;
  private side: Side | undefined;
  private lastValue: number | undefined;
  private lastTs: string | undefined;
  private since = new Date().toISOString();
  /** Consecutive out-of-limit readings while not yet alarmed (for delay_samples). */
  private outCount = 0;
  private disposed = false;
  /** The source has not been read for max_age_ms: the stale alarm is active. */
  private stale = false;
  private staleSince: string | undefined;
  /** When the watched reading last arrived (ms; the start, before the first). */
  private freshAt = Date.now();
  private staleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ctx: ModuleContext<MonitorSettings>) {
    // Reconfigured while stale: still stale, without a second raise; a reading clears it.
    if (ctx.previous?.stale === true && ctx.settings.max_age_ms !== undefined) {
      this.stale = true;
      this.staleSince = typeof ctx.previous.staleSince === 'string' ? ctx.previous.staleSince : new Date().toISOString();
    }
    this.armStaleTimer(ctx.settings.max_age_ms);
  }

  /** One timer, re-armed from the last reading when it fires, rather than reset on every reading. */
  private armStaleTimer(delay: number | undefined): void {
    if (delay === undefined || this.disposed || this.stale) return;
    this.staleTimer = setTimeout(() => this.checkStale(), delay);
    this.staleTimer.unref?.();
  }

  private checkStale(): void {
    this.staleTimer = undefined;
    const maxAge = this.ctx.settings.max_age_ms!;
    const age = Date.now() - this.freshAt;
    if (age < maxAge) return this.armStaleTimer(maxAge - age);
    const s = this.ctx.settings;
    const what = `${this.ctx.roles.source ?? '(no source assigned)'}.${s.reading}`;
    const last = this.lastValue === undefined ? 'no reading yet' : `last value ${this.lastValue}`;
    const message = `${what} has not been read for ${formatAge(age)} (max_age_ms = ${maxAge}; ${last}): the monitor cannot see it`;
    this.stale = true;
    this.staleSince = new Date().toISOString();
    this.outCount = 0;
    this.ctx.log.warn({ module: this.ctx.id, ageMs: age }, message);
    this.ctx.emit({ type: 'module.alarm', module: this.ctx.id, active: true, message, cause: 'stale' });
  }

  /** A fresh reading: clears the stale alarm and restarts the clock. */
  private fresh(source: string, value: number): void {
    const now = Date.now();
    const gap = now - this.freshAt;
    this.freshAt = now;
    if (!this.stale) {
      if (this.staleTimer === undefined) this.armStaleTimer(this.ctx.settings.max_age_ms);
      return;
    }
    this.stale = false;
    this.staleSince = undefined;
    const message = `${source}.${this.ctx.settings.reading} is read again (${value}) after ${formatAge(gap)}`;
    this.ctx.log.info({ module: this.ctx.id, value }, message);
    this.ctx.emit({ type: 'module.alarm', module: this.ctx.id, active: false, message, value, cause: 'stale' });
    this.armStaleTimer(this.ctx.settings.max_age_ms);
  }

  handleEvent(event: Parameters<ModuleInstance['handleEvent']>[0]): void {
    if (this.disposed) return;
    const s = this.ctx.settings;
    // Roles are looked up on every event: an assignment change needs no new instance.
    const source = this.ctx.roles.source;
    const value = numericReading(event, source, s.reading);
    if (value === undefined || event.type !== 'reading') return;
    this.fresh(source!, value);
    this.lastValue = value;
    this.lastTs = event.ts;

    if (!this.alarm) {
      const side = beyond(s, value);
      this.outCount = side ? this.outCount + 1 : 0;
      if (side && this.outCount >= s.delay_samples) {
        this.setAlarm(true, side, event.ts, value, this.raiseMessage(source!, side, value));
      }
    } else if (clearlyInside(s, value)) {
      this.outCount = 0;
      this.setAlarm(false, undefined, event.ts, value, `${source}.${s.reading} = ${value} is back within limits (${describeLimits(s)})`);
    }
  }

  private raiseMessage(source: string, side: Side, value: number): string {
    const s = this.ctx.settings;
    const limit = side === 'high' ? `above the high limit ${s.high}` : `below the low limit ${s.low}`;
    const delay = s.delay_samples > 1 ? ` for ${s.delay_samples} readings in a row` : '';
    return `${source}.${s.reading} = ${value} is ${limit}${delay}`;
  }

  private setAlarm(active: boolean, side: Side | undefined, ts: string, value: number, message: string): void {
    this.alarm = active;
    this.side = side;
    this.since = ts;
    if (active) this.ctx.log.warn({ module: this.ctx.id, value }, message);
    else this.ctx.log.info({ module: this.ctx.id, value }, message);
    this.ctx.emit({ type: 'module.alarm', module: this.ctx.id, active, message, value, cause: 'limit' });
  }

  status(): Record<string, unknown> {
    return {
      alarm: this.alarm,
      ...(this.side ? { side: this.side } : {}),
      lastValue: this.lastValue ?? null,
      lastReadingAt: this.lastTs ?? null,
      since: this.since,
      limits: describeLimits(this.ctx.settings),
      ...(this.ctx.settings.max_age_ms !== undefined ? { maxAgeMs: this.ctx.settings.max_age_ms, stale: this.stale } : {}),
      ...(this.staleSince ? { staleSince: this.staleSince } : {}),
    };
  }

  dispose(): void {
    this.disposed = true;
    if (this.staleTimer !== undefined) clearTimeout(this.staleTimer);
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
