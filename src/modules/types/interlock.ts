/**
 * `interlock`: when the `sensor` reading crosses a limit, put a parameter of the `actuator` at a
 * safe value (close the laser shutter), hold it there and latch. It stays tripped until someone
 * resets it (`module.reset`), and a reset is refused while the cause persists: a safety latch that
 * a person can clear without fixing the cause is not a latch.
 *
 * Fail-safe: an interlock that cannot see its sensor trips too (issue #15). By default it trips
 * when the sensor has no reading for `max_age_ms` (three of the sensor's poll intervals), when the
 * sensor instrument goes to `error`, when the reading is flagged saturated or invalid on the side
 * of a limit, and when the reading is in another unit than the limit. `on_sensor_loss = "hold"`
 * turns the first two off (unsafe, and the status says so); the others always trip.
 *
 * The action goes through the safety lane (ModuleContext.safety), never the config path: it is not
 * refused because the config file is broken, not persisted, not queued behind the actuator's other
 * sets (a long move is aborted first), and it always reaches the device, even when the config
 * already holds the value. The lane's hold refuses every other set of the parameter until reset.
 * The trip is runtime state: it is never written to the config file.
 *
 * While latched it also watches the actuator's readings: a reading that shows the parameter away
 * from the safe value (the device changed on its own, or at its front panel) puts it back
 * (actuator-watch.ts). A failed action keeps the latch and is retried on the next reading of either
 * role's instrument, with at most one attempt in flight, so a dead actuator is not hammered.
 *
 * This file is the latch: when to trip, when a reset is allowed, what the status shows. Holding,
 * setting, confirming, retrying and setting back the parameter is interlock-action.ts.
 */
import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { DaemonEvent } from '../../core/events.js';
import type { InstrumentInfo, ModuleContext, ModuleInstance, ModuleTypeDefinition, RoleDecl } from '../types.js';
import { realClock, type ModuleClock, type TimerHandle } from '../clock.js';
import {
  declaredUnit,
  flagOf,
  formatAge,
  interlockEvent,
  limitSchema,
  maxAgeSchema,
  numericReading,
  own,
  readingNameSchema,
  unitIn,
  unitSchema,
  type ReadingEvent,
  type TripCause,
} from './common.js';
import { formatParam as formatValue } from './actuator-watch.js';
import { InterlockAction } from './interlock-action.js';
import { beyondLimit, fixFor, judgeReading, type SensorReading, type Verdict } from './interlock-verdict.js';

export const interlockSettingsSchema = z
  .strictObject({
    reading: readingNameSchema.describe('The reading of the sensor instrument to watch, e.g. "power_w".'),
    above: limitSchema.optional().describe('Trip when the reading goes above this.'),
    below: limitSchema.optional().describe('Trip when the reading goes below this.'),
    unit: unitSchema
      .optional()
      .describe("The unit the limits are in, e.g. \"W\". Default: the sensor's declared unit of the reading. A reading in another unit trips."),
    parameter: readingNameSchema.describe('The actuator parameter to set when tripped, e.g. "shutter".'),
    value: z.union([z.number(), z.boolean(), z.string()]).describe('The value to set it to, e.g. false (closed).'),
    reassert: z
      .boolean()
      .default(true)
      .describe('While tripped, set the parameter back whenever an actuator reading shows it away from the value.'),
    tolerance: limitSchema
      .refine((t) => t >= 0, 'must be 0 or more')
      .optional()
      .describe('For a numeric value: how far the actuator reading may be from it and still count as the safe value.'),
    max_age_ms: maxAgeSchema
      .optional()
      .describe("Trip when the sensor has not delivered the reading for this long (ms). Default: three of the sensor's poll intervals, at least 1000."),
    on_sensor_loss: z
      .enum(['trip', 'hold'])
      .default('trip')
      .describe('"trip" (default): trip when the sensor goes stale or to error. "hold": do not (unsafe: the interlock is blind meanwhile).'),
  })
  .superRefine((s, ctx) => {
    if (s.tolerance !== undefined && typeof s.value !== 'number') {
      ctx.addIssue({ code: 'custom', message: `tolerance applies to a numeric value only; value is ${JSON.stringify(s.value)}`, path: ['tolerance'] });
    }
    if (s.above === undefined && s.below === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give an "above" and/or a "below" limit: without one the interlock can never trip', path: [] });
    } else if (s.above !== undefined && s.below !== undefined && s.below >= s.above) {
      ctx.addIssue({ code: 'custom', message: `below (${s.below}) must be less than above (${s.above}), or the interlock is always tripped`, path: ['below'] });
    }
  });

export type InterlockSettings = z.output<typeof interlockSettingsSchema>;

/** The default max age is this many sensor poll intervals... */
const POLLS_BEFORE_STALE = 3;
/** ...but never less than this: a fast poll must not make a scheduling hiccup a trip. */
const MIN_DEFAULT_MAX_AGE_MS = 1000;
/** daqd's default poll_interval_ms, for a sensor whose interval is not known. */
const DEFAULT_POLL_MS = 1000;

const TRIP_CAUSES: ReadonlySet<string> = new Set<TripCause>(['limit', 'stale', 'sensor_error', 'saturated', 'invalid', 'unit']);

/** The last sensor reading, kept to judge a reset. `at` is on the module clock. */
interface LastReading extends SensorReading {
  at: number;
}

interface MaxAge {
  ms: number;
  /** Where the value comes from, for messages and the status. */
  from: string;
}

class Interlock implements ModuleInstance {
  private readonly clock: ModuleClock;
  /** Holds, sets, confirms, retries and sets back the parameter while tripped. */
  private readonly action: InterlockAction;
  /** The `unit` setting, else the sensor's declared unit of the reading when this instance started. */
  private readonly unitAtStart: string | undefined;
  private latched = false;
  private cause: TripCause | undefined;
  /** What tripped it, in words (the trip event's reason). */
  private reason: string | undefined;
  private since: string;
  private lastValue: number | undefined;
  /** The last sensor reading, or undefined when none came since the start or since the sensor's last error. */
  private last: LastReading | undefined;
  /** Stale is judged from the latest of: the last reading, the start, the sensor becoming ready. */
  private freshAt: number;
  private readyAt: number;
  private staleTimer: TimerHandle | undefined;
  /** The sensor is lost (stale or in error): what, in words. Cleared by the next reading. */
  private sensorLost: string | undefined;
  /** The sensor's state as its instrument.state events told it (when instrumentInfo is absent). */
  private sensorState: { state: string; lastError: InstrumentInfo['lastError'] } | undefined;
  private disposed = false;

  constructor(private readonly ctx: ModuleContext<InterlockSettings>) {
    this.clock = ctx.clock ?? realClock;
    this.action = new InterlockAction({
      module: ctx,
      latched: () => this.latched,
      disposed: () => this.disposed,
      report: (message) => this.emit(true, message),
    });
    const now = this.clock.now();
    this.freshAt = now;
    this.readyAt = now;
    this.since = new Date(now).toISOString();
    const sensor = this.sensor;
    this.unitAtStart = ctx.settings.unit ?? declaredUnit(sensor === undefined ? undefined : ctx.readingsOf?.(sensor), ctx.settings.reading);
    this.warnAtStart();
    if (ctx.previous?.tripped === true) this.resume(ctx.previous);
    this.armStaleTimer(this.maxAge().ms);
    if (this.sensorInfo()?.state === 'error') this.sensorFailed(this.sensorInfo()?.lastError ?? null);
  }

  private warnAtStart(): void {
    const { log, id, settings } = this.ctx;
    const supervision = this.action.supervision();
    if (!supervision.supervised && settings.reassert) log.warn(`interlock ${id}: ${supervision.note}`);
    if (settings.on_sensor_loss === 'hold') log.warn(`interlock ${id}: ${this.holdModeWarning()}`);
  }

  /**
   * Reconfigured while tripped (the supervisor disposed the old instance, which released its hold,
   * and creates this one in the same synchronous step): hold again at once, so no set can slip in,
   * and put the parameter at the safe value unless the old instance had confirmed this very target
   * and handed over directly (after a lapse with no instance, nothing held it meanwhile).
   */
  private resume(prev: Record<string, unknown>): void {
    this.latched = true;
    this.cause = typeof prev.cause === 'string' && TRIP_CAUSES.has(prev.cause) ? (prev.cause as TripCause) : 'limit';
    if (typeof prev.reason === 'string') this.reason = prev.reason;
    if (typeof prev.since === 'string') this.since = prev.since;
    if (typeof prev.lastValue === 'number') this.lastValue = prev.lastValue;
    this.action.resume(prev);
  }

  private get sensor(): string | undefined {
    return this.ctx.roles.sensor;
  }

  private get actuator(): string | undefined {
    return this.ctx.roles.actuator;
  }

  /** "pm1.power": the watched reading. */
  private get where(): string {
    return `${this.sensor ?? '(no sensor assigned)'}.${this.ctx.settings.reading}`;
  }

  /**
   * The unit the limits are in (undefined: not known, not checked). Fixed at the start, so a
   * redefined sensor that now declares another unit trips rather than silently changing the limit's
   * meaning; only a sensor not known at the start is looked up now.
   */
  private get limitUnit(): string | undefined {
    const sensor = this.sensor;
    return this.unitAtStart ?? declaredUnit(sensor === undefined ? undefined : this.ctx.readingsOf?.(sensor), this.ctx.settings.reading);
  }

  /** The sensor's connection, read live where the daemon offers it, else as its events told it. */
  private sensorInfo(): { state: string; lastError: InstrumentInfo['lastError'] } | undefined {
    const sensor = this.sensor;
    if (sensor === undefined) return undefined;
    return this.ctx.instrumentInfo?.(sensor) ?? this.sensorState;
  }

  /** Looked up live, so a changed poll interval moves the default with it. */
  private maxAge(): MaxAge {
    const set = this.ctx.settings.max_age_ms;
    if (set !== undefined) return { ms: set, from: 'max_age_ms' };
    const sensor = this.sensor ?? '(no sensor)';
    const poll = (this.sensor === undefined ? undefined : this.ctx.instrumentInfo?.(this.sensor)?.pollIntervalMs) ?? DEFAULT_POLL_MS;
    const ms = Math.max(MIN_DEFAULT_MAX_AGE_MS, POLLS_BEFORE_STALE * poll);
    const floor = ms > POLLS_BEFORE_STALE * poll ? `, at least ${MIN_DEFAULT_MAX_AGE_MS} ms` : '';
    return { ms, from: `default: ${POLLS_BEFORE_STALE} x ${sensor}'s poll interval of ${poll} ms${floor}` };
  }

  handleEvent(event: DaemonEvent): void {
    if (this.disposed) return;
    if (event.type === 'instrument.state') return this.onInstrumentState(event);
    if (event.type !== 'reading') return;
    if (this.latched) this.action.retryRefusedHold();
    if (event.instrument === this.sensor && this.onSensorReading(event)) return;
    if (event.instrument === this.actuator) this.action.watchActuator(own(event.values, this.ctx.settings.parameter));
    const fromRole = event.instrument === this.sensor || event.instrument === this.actuator;
    if (this.latched && fromRole) this.action.retryFailed();
  }

  /** Judges a sensor reading; true if it tripped the interlock (nothing else to do with the event). */
  private onSensorReading(event: ReadingEvent): boolean {
    const s = this.ctx.settings;
    const value = numericReading(event, this.sensor, s.reading);
    if (value === undefined) return false;
    const declared = this.ctx.readingsOf?.(event.instrument);
    const reading: LastReading = { value, unit: unitIn(event, s.reading, declared), flag: flagOf(event, s.reading), at: this.clock.now() };
    this.last = reading;
    this.lastValue = value;
    this.fresh(reading.at);
    const verdict = judgeReading(s, this.where, this.limitUnit, reading);
    if (this.latched || !verdict) return false;
    this.trip(verdict, event.ts);
    return true;
  }

  private onInstrumentState(event: Extract<DaemonEvent, { type: 'instrument.state' }>): void {
    if (event.instrument === this.sensor) {
      this.sensorState = { state: event.state, lastError: event.error ?? null };
      if (event.state === 'ready') {
        // Just (re)connected: the first reading is due within max_age_ms from now.
        this.readyAt = this.clock.now();
        if (this.staleTimer === undefined) this.armStaleTimer(this.maxAge().ms);
      }
      if (event.state === 'error') this.sensorFailed(event.error ?? null);
    }
    // The actuator is back: retry a failed action now rather than on its first reading.
    if (event.instrument === this.actuator && event.state === 'ready' && this.latched) this.action.retryFailed();
  }

  /** A numeric sensor reading arrived: the sensor is seen again. */
  private fresh(now: number): void {
    this.freshAt = now;
    if (this.sensorLost !== undefined) {
      this.ctx.log.info(`interlock ${this.ctx.id}: ${this.where} is read again`);
      this.sensorLost = undefined;
    }
    if (this.staleTimer === undefined) this.armStaleTimer(this.maxAge().ms);
  }

  /** One timer, re-armed from the latest sign of life when it fires, rather than reset on every reading. */
  private armStaleTimer(delay: number): void {
    if (this.disposed) return;
    this.staleTimer = this.clock.setTimer(() => this.checkStale(), delay);
  }

  private checkStale(): void {
    this.staleTimer = undefined;
    if (this.disposed) return;
    const now = this.clock.now();
    const maxAge = this.maxAge();
    // Connecting is not counted: an attempt ends in ready (the clock restarts) or error (which trips).
    if (this.sensorInfo()?.state === 'connecting') {
      this.readyAt = now;
      return this.armStaleTimer(maxAge.ms);
    }
    const age = now - Math.max(this.freshAt, this.readyAt);
    if (age < maxAge.ms) return this.armStaleTimer(maxAge.ms - age);
    // Stale: no timer until the sensor shows a sign of life (a reading, or ready again).
    const text = `${this.where} has not been read for ${formatAge(age)} (max_age_ms = ${maxAge.ms}, ${maxAge.from}): the interlock cannot see it`;
    this.sensorLoss({ cause: 'stale', text }, new Date(now).toISOString());
  }

  private sensorFailed(error: InstrumentInfo['lastError']): void {
    // A reset needs a reading taken after the sensor came back, not the one from before it failed.
    this.last = undefined;
    const why = error ? ` (${error.message})` : '';
    this.sensorLoss({ cause: 'sensor_error', text: `${this.sensor} is in error${why}: the interlock cannot see ${this.where}` }, new Date(this.clock.now()).toISOString());
  }

  /** The sensor is stale or in error: trip, unless on_sensor_loss = "hold" (or already tripped). */
  private sensorLoss(verdict: Verdict, ts: string): void {
    const news = this.sensorLost !== verdict.text;
    this.sensorLost = verdict.text;
    if (this.latched) return;
    if (this.ctx.settings.on_sensor_loss === 'trip') return this.trip(verdict, ts);
    if (news) this.ctx.log.warn({ cause: verdict.cause }, `interlock ${this.ctx.id} does not trip (on_sensor_loss = "hold"): ${verdict.text}`);
  }

  private trip(verdict: Verdict, ts: string): void {
    this.latched = true;
    this.cause = verdict.cause;
    this.reason = verdict.text;
    this.since = ts;
    const holdFailure = this.action.beginTrip();
    const message = `tripped: ${verdict.text}; setting ${this.action.target} and holding it until reset`;
    this.ctx.log.warn({ cause: verdict.cause }, message);
    this.ctx.emit(interlockEvent({ module: this.ctx.id, tripped: true, message, cause: verdict.cause }));
    if (holdFailure) this.action.reportHoldFailure(holdFailure);
    this.action.act();
  }

  private emit(tripped: boolean, message: string): void {
    this.ctx.emit(interlockEvent({ module: this.ctx.id, tripped, message, ...(tripped && this.cause ? { cause: this.cause } : {}) }));
  }

  /** Why a reset must be refused now, or undefined if the sensor shows every cause gone. */
  private resetBlocker(): string | undefined {
    const sensor = this.sensor ?? '(no sensor assigned)';
    const info = this.sensorInfo();
    if (info?.state === 'error') {
      const why = info.lastError ? ` (${info.lastError.message})` : '';
      return `${sensor} is in error${why}: the interlock cannot see ${this.where}; ${fixFor('sensor_error', sensor, this.limitUnit)}, then reset`;
    }
    const last = this.last;
    if (last === undefined) return `there is no reading of ${this.where} to show it is back within the limit`;
    const age = this.clock.now() - last.at;
    const maxAge = this.maxAge();
    if (age >= maxAge.ms) {
      return `${this.where} was last read ${formatAge(age)} ago (max_age_ms = ${maxAge.ms}): the interlock cannot see it; ${fixFor('stale', sensor, this.limitUnit)}, then reset`;
    }
    const verdict = judgeReading(this.ctx.settings, this.where, this.limitUnit, last);
    if (verdict === undefined) return undefined;
    if (verdict.cause === 'limit') return `${this.where} = ${last.value} is still ${beyondLimit(this.ctx.settings, last.value)}; bring it back within the limit, then reset`;
    return `${verdict.text}; ${fixFor(verdict.cause, sensor, this.limitUnit)}, then reset`;
  }

  reset(): void {
    if (this.disposed || !this.latched) return;
    const blocker = this.resetBlocker();
    if (blocker) {
      throw new DaqError('conflict', `interlock ${this.ctx.id} stays tripped: ${blocker}`, {
        details: { cause: this.cause ?? null, value: this.last?.value ?? null },
      });
    }
    this.action.releaseHold();
    this.latched = false;
    this.cause = undefined;
    this.reason = undefined;
    this.action.endTrip();
    this.since = new Date(this.clock.now()).toISOString();
    const message = `reset: ${this.where} = ${this.last?.value} is within the limit; ${this.actuator ?? 'the actuator'} is left as it is (no longer held)`;
    this.ctx.log.info(message);
    this.emit(false, message);
  }

  private holdModeWarning(): string {
    return `on_sensor_loss = "hold": if ${this.sensor ?? 'the sensor'} goes stale or to error the interlock does not trip, and cannot see ${this.where} meanwhile (unsafe)`;
  }

  status(): Record<string, unknown> {
    const s = this.ctx.settings;
    const maxAge = this.maxAge();
    const info = this.sensorInfo();
    const stale = info?.state !== 'connecting' && this.clock.now() - Math.max(this.freshAt, this.readyAt) >= maxAge.ms;
    return {
      tripped: this.latched,
      cause: this.cause ?? null,
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      since: this.since,
      // The latch lives in daqd's memory only: a restart starts untripped (docs/modules.md).
      persisted: false,
      lastValue: this.lastValue ?? null,
      unit: this.limitUnit ?? null,
      maxAgeMs: maxAge.ms,
      maxAgeFrom: maxAge.from,
      stale,
      sensorState: info?.state ?? null,
      ...(this.sensorLost !== undefined ? { sensorLost: this.sensorLost } : {}),
      onSensorLoss: s.on_sensor_loss,
      ...(s.on_sensor_loss === 'hold' ? { warning: this.holdModeWarning() } : {}),
      ...this.action.status(),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    if (this.staleTimer !== undefined) this.clock.clearTimer(this.staleTimer);
    this.staleTimer = undefined;
    // Released now, synchronously: a replacement created right after holds under the same holder
    // id, and nothing of this instance (a late enforce result, a timer) can release it afterwards.
    this.action.releaseHold();
    this.disposed = true;
  }
}

export const interlockType: ModuleTypeDefinition<InterlockSettings> = {
  name: 'interlock',
  description: 'When the sensor reading crosses a limit (or the sensor cannot be trusted), puts a parameter of the actuator at a safe value, holds it and latches until reset.',
  settingsSchema: interlockSettingsSchema,
  roles(settings): RoleDecl[] {
    return [
      {
        name: 'sensor',
        description: `the instrument whose "${settings.reading}" reading is checked against the limit`,
        required: true,
        needs: [{ kind: 'reading', name: settings.reading }],
      },
      {
        name: 'actuator',
        description: `the instrument whose "${settings.parameter}" is set to ${formatValue(settings.value)} when tripped`,
        required: true,
        needs: [{ kind: 'settable', name: settings.parameter, value: settings.value }],
      },
    ];
  },
  create(ctx) {
    return new Interlock(ctx);
  },
};
