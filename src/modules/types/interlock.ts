/**
 * `interlock`: when the `sensor` reading crosses a limit, set a parameter on the `actuator` (close
 * the laser shutter) and latch. It stays tripped until someone resets it (`module.reset`), and a
 * reset is refused while the sensor is still beyond the limit: a safety latch that a person can
 * clear without fixing the cause is not a latch.
 *
 * While latched it holds the actuator in the safe state: an actuator reading that shows the
 * parameter away from the safe value (someone opened the shutter again) sets it back. Readings
 * are the signal because they see every way the parameter can move; where the actuator has no
 * reading of the parameter the interlock cannot supervise it and its status says so
 * (actuator-watch.ts).
 *
 * Every action goes through ctx.submit, the same command path as the socket, so it is validated,
 * logged and persisted like any other change. If it fails the interlock stays latched and tries
 * again on the next reading of either role's instrument, with at most one attempt in flight, so a
 * dead actuator is not hammered at the reading rate.
 */
import { z } from 'zod';
import { DaqError, describeError, isDaqError } from '../../errors.js';
import type { ParamValue } from '../../drivers/types.js';
import type { DaemonEvent } from '../../core/events.js';
import type { ModuleContext, ModuleInstance, ModuleTypeDefinition, RoleDecl } from '../types.js';
import { limitSchema, numericReading, readingNameSchema } from './common.js';
import { atSafeValue, formatParam as formatValue, supervisionOf, type Supervision } from './actuator-watch.js';

export const interlockSettingsSchema = z
  .strictObject({
    reading: readingNameSchema.describe('The reading of the sensor instrument to watch, e.g. "power_w".'),
    above: limitSchema.optional().describe('Trip when the reading goes above this.'),
    below: limitSchema.optional().describe('Trip when the reading goes below this.'),
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

/** What happened to the protective action of the current trip. */
type ActionState = 'none' | 'pending' | 'done' | 'failed';

/** Why the value is beyond a limit ("above 1.5"), or undefined when it is within. Equal is within. */
function beyondLimit(s: InterlockSettings, value: number): string | undefined {
  if (s.above !== undefined && value > s.above) return `above the limit ${s.above}`;
  if (s.below !== undefined && value < s.below) return `below the limit ${s.below}`;
  return undefined;
}

class Interlock implements ModuleInstance {
  private latched = false;
  private since = new Date().toISOString();
  private lastValue: number | undefined;
  private action: ActionState = 'none';
  private attempts = 0;
  private inFlight = false;
  private lastError: string | undefined;
  /** The failure last reported in an event: the same failure again is not news. */
  private reportedError: string | undefined;
  /** Bumped on every trip and reset so a late submit result cannot touch a newer latch. */
  private generation = 0;
  private disposed = false;
  /** The parameter as the actuator's readings last showed it. */
  private actuatorValue: ParamValue | undefined;
  /** Times this trip the actuator was seen away from the safe value and set back. */
  private reasserts = 0;
  /** The actuator was last seen away from the safe value (reported once per such episode). */
  private away = false;
  /**
   * Actuator readings to let pass without judging them after one of our sets succeeded: the poll
   * that produced the next one may have read the device before the set reached it (polls and sets
   * share the link, and a poll can straddle a set). The one after that started after the set.
   */
  private settling = 0;

  constructor(private readonly ctx: ModuleContext<InterlockSettings>) {
    // Reconfigured while tripped: stay tripped. If the safe state was not confirmed, try again
    // on the next reading.
    const prev = ctx.previous;
    if (prev?.tripped === true) {
      this.latched = true;
      this.since = typeof prev.since === 'string' ? prev.since : new Date().toISOString();
      this.action = prev.action === 'done' ? 'done' : 'failed';
      if (typeof prev.lastValue === 'number') this.lastValue = prev.lastValue;
      if (typeof prev.reasserts === 'number') this.reasserts = prev.reasserts;
      if (typeof prev.attempts === 'number') this.attempts = prev.attempts;
      this.settling = 1;
    }
    const supervision = this.supervision();
    if (!supervision.supervised && ctx.settings.reassert) ctx.log.warn({ module: ctx.id }, `interlock ${ctx.id}: ${supervision.note}`);
  }

  private get sensor(): string | undefined {
    return this.ctx.roles.sensor;
  }

  private get actuator(): string | undefined {
    return this.ctx.roles.actuator;
  }

  private get target(): string {
    return `${this.actuator ?? '(no actuator assigned)'}.${this.ctx.settings.parameter} = ${formatValue(this.ctx.settings.value)}`;
  }

  /** Looked up live: the actuator's driver or options may change while this instance runs. */
  private supervision(): Supervision {
    const actuator = this.actuator;
    const declared = actuator === undefined ? undefined : this.ctx.readingsOf?.(actuator);
    return supervisionOf(this.ctx.settings, actuator, declared);
  }

  handleEvent(event: DaemonEvent): void {
    if (this.disposed || event.type !== 'reading') return;
    const s = this.ctx.settings;
    const value = numericReading(event, this.sensor, s.reading);
    if (value !== undefined) {
      this.lastValue = value;
      const why = beyondLimit(s, value);
      if (!this.latched && why) {
        this.trip(event.ts, `${this.sensor}.${s.reading} = ${value} is ${why}`);
        return;
      }
    }
    if (event.instrument === this.actuator) this.watchActuator(event.values[s.parameter]);
    const fromRole = event.instrument === this.sensor || event.instrument === this.actuator;
    if (this.latched && this.action === 'failed' && !this.inFlight && fromRole) this.act();
  }

  /** While latched, an actuator reading away from the safe value sets it back (one set in flight). */
  private watchActuator(actual: ParamValue | undefined): void {
    if (actual === undefined) return;
    this.actuatorValue = actual;
    // Pending: our set is on its way. Failed: the retry in handleEvent sets it anyway.
    if (!this.latched || this.inFlight || this.action !== 'done') return;
    if (!this.supervision().supervised) return;
    const s = this.ctx.settings;
    const where = `${this.actuator}.${s.parameter}`;
    if (atSafeValue(s, actual)) {
      this.settling = 0;
      if (this.away) {
        this.away = false;
        this.emit(true, `still tripped; ${where} reads ${formatValue(actual)} again`);
      }
      return;
    }
    if (this.settling > 0) {
      this.settling -= 1;
      return;
    }
    if (!this.away) {
      this.away = true;
      const message = `still tripped; ${where} reads ${formatValue(actual)}, not ${formatValue(s.value)}: setting it back`;
      this.ctx.log.warn({ module: this.ctx.id, actual }, message);
      this.emit(true, message);
    }
    this.reasserts += 1;
    this.act();
  }

  private trip(ts: string, cause: string): void {
    this.latched = true;
    this.since = ts;
    this.generation += 1;
    this.attempts = 0;
    this.reasserts = 0;
    this.away = false;
    this.lastError = undefined;
    this.reportedError = undefined;
    const message = `tripped: ${cause}; setting ${this.target}`;
    this.ctx.log.warn({ module: this.ctx.id }, message);
    this.ctx.emit({ type: 'module.interlock', module: this.ctx.id, tripped: true, message });
    this.act();
  }

  private act(): void {
    const generation = this.generation;
    const { parameter, value } = this.ctx.settings;
    const actuator = this.actuator;
    this.inFlight = true;
    this.action = 'pending';
    this.attempts += 1;
    let result: Promise<unknown>;
    if (actuator === undefined) {
      result = Promise.reject(new DaqError('not_found', 'no instrument is assigned to the actuator role'));
    } else {
      try {
        result = this.ctx.submit({ type: 'instrument.set', id: actuator, params: { [parameter]: value } });
      } catch (err) {
        result = Promise.reject(err);
      }
    }
    result.then(
      () => this.settle(generation, undefined),
      (err: unknown) => this.settle(generation, err),
    );
  }

  private settle(generation: number, err: unknown): void {
    if (this.disposed) return;
    if (generation !== this.generation || !this.latched) {
      // Reset (or re-tripped) while this attempt was on its way: its outcome belongs to the past.
      this.ctx.log.info({ module: this.ctx.id, ok: err === undefined }, `interlock action from an earlier trip finished after reset`);
      return;
    }
    this.inFlight = false;
    if (err === undefined) {
      const afterFailure = this.lastError !== undefined;
      this.action = 'done';
      this.lastError = undefined;
      this.reportedError = undefined;
      this.settling = 1;
      this.ctx.log.info({ module: this.ctx.id, attempts: this.attempts }, `interlock set ${this.target}`);
      if (afterFailure) this.emit(true, `still tripped; ${this.target} set on attempt ${this.attempts}`);
      return;
    }
    this.action = 'failed';
    // A DaqError's message is written for people; anything else is a bug, described briefly.
    const reason = isDaqError(err) ? err.message : describeError(err);
    this.lastError = reason;
    this.ctx.log.error({ module: this.ctx.id, attempts: this.attempts, err: reason }, 'interlock action failed');
    if (reason !== this.reportedError) {
      this.reportedError = reason;
      this.emit(true, `still tripped; could not set ${this.target}: ${reason}; retrying on the next reading`);
    }
  }

  private emit(tripped: boolean, message: string): void {
    this.ctx.emit({ type: 'module.interlock', module: this.ctx.id, tripped, message });
  }

  reset(): void {
    if (!this.latched) return;
    const s = this.ctx.settings;
    const reading = `${this.sensor ?? '(no sensor assigned)'}.${s.reading}`;
    if (this.lastValue === undefined) {
      throw new DaqError('conflict', `interlock ${this.ctx.id} stays tripped: there is no reading of ${reading} to show it is back within the limit`);
    }
    const why = beyondLimit(s, this.lastValue);
    if (why) {
      throw new DaqError(
        'conflict',
        `interlock ${this.ctx.id} stays tripped: ${reading} = ${this.lastValue} is still ${why}; bring it back within the limit, then reset`,
        { details: { module: this.ctx.id, value: this.lastValue } },
      );
    }
    this.latched = false;
    this.generation += 1;
    this.inFlight = false;
    this.since = new Date().toISOString();
    this.action = 'none';
    this.away = false;
    this.settling = 0;
    this.lastError = undefined;
    this.reportedError = undefined;
    const message = `reset: ${reading} = ${this.lastValue} is within the limit; ${this.actuator ?? 'the actuator'} is left as it is`;
    this.ctx.log.info({ module: this.ctx.id }, message);
    this.emit(false, message);
  }

  status(): Record<string, unknown> {
    const supervision = this.supervision();
    return {
      tripped: this.latched,
      since: this.since,
      lastValue: this.lastValue ?? null,
      action: this.action,
      attempts: this.attempts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      supervised: supervision.supervised,
      supervision: supervision.note,
      actuatorValue: this.actuatorValue ?? null,
      reasserts: this.reasserts,
    };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const interlockType: ModuleTypeDefinition<InterlockSettings> = {
  name: 'interlock',
  description: 'When the sensor reading crosses a limit, sets a parameter on the actuator and latches until reset.',
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
