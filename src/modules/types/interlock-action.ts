/**
 * The protective action of an interlock's trip: hold the actuator's parameter through the safety
 * lane, put it at the safe value on the device and confirm it, retry a failed attempt, and set it
 * back when the actuator's readings show it away from the safe value. Kept apart from the latch
 * (interlock.ts), which decides when to trip and when a reset is allowed: this side only carries a
 * trip out. It asks the latch only whether it is still set and whether it was disposed (an attempt
 * that finishes after a reset, a newer trip or a dispose touches nothing), and reports through it.
 *
 * The action goes through the safety lane, never the config path (see interlock.ts for why). At
 * most one attempt is in flight, so a dead actuator is not hammered.
 */
import { DaqError, describeError, isDaqError } from '../../errors.js';
import type { ParamValue } from '../../drivers/types.js';
import type { ModuleContext } from '../types.js';
import { atSafeValue, formatParam as formatValue, supervisionOf, type Supervision, type WatchSettings } from './actuator-watch.js';

/** What happened to the protective action of the current trip. */
export type ActionState = 'none' | 'pending' | 'done' | 'failed';

/** What the action needs of the interlock that owns it. */
export interface ActionContext {
  /** The interlock's module context: its settings and roles (read live), the safety lane, the log. */
  readonly module: ModuleContext<WatchSettings>;
  /** The interlock is tripped now. */
  latched(): boolean;
  /** The interlock was disposed: nothing of it may act any more. */
  disposed(): boolean;
  /** Publishes an interlock event of the current trip (tripped, with its cause). */
  report(message: string): void;
}

export class InterlockAction {
  /** The safety lane's holder id. Per module id: a replacement instance holds under the same one. */
  private readonly holder: string;
  /** This instance asked the safety lane to hold the parameter (and has not released it). */
  private holding = false;
  private holdError: string | undefined;
  private state: ActionState = 'none';
  private attempts = 0;
  private inFlight = false;
  private lastError: string | undefined;
  /** The failure last reported in an event: the same failure again is not news. */
  private reportedError: string | undefined;
  /** Bumped on every trip and reset so a late enforce result cannot touch a newer latch. */
  private generation = 0;
  /** The parameter as the actuator's readings (or the last confirmed enforce) last showed it. */
  private actuatorValue: ParamValue | undefined;
  /** Times this trip the actuator was seen away from the safe value and set back. */
  private reasserts = 0;
  /** The actuator was last seen away from the safe value (reported once per such episode). */
  private away = false;
  /**
   * Actuator readings to let pass without judging them after one of our sets succeeded: the poll
   * that produced the next one may have read the device before the set reached it (a poll can
   * straddle a set). The one after that started after the set.
   */
  private settling = 0;

  constructor(private readonly context: ActionContext) {
    this.holder = `module:${context.module.id}`;
  }

  private get ctx(): ModuleContext<WatchSettings> {
    return this.context.module;
  }

  private get actuator(): string | undefined {
    return this.ctx.roles.actuator;
  }

  /** "shutter1.open = false": what the action sets and holds. */
  get target(): string {
    return `${this.actuator ?? '(no actuator assigned)'}.${this.ctx.settings.parameter} = ${formatValue(this.ctx.settings.value)}`;
  }

  /** Looked up live: the actuator's driver or options may change while this instance runs. */
  supervision(): Supervision {
    const actuator = this.actuator;
    const declared = actuator === undefined ? undefined : this.ctx.readingsOf?.(actuator);
    return supervisionOf(this.ctx.settings, actuator, declared);
  }

  /**
   * Takes over from the tripped instance this one replaces (see Interlock.resume): hold again at
   * once, and put the parameter at the safe value unless the old instance had confirmed this very
   * target and handed over directly (after a lapse with no instance, nothing held it meanwhile).
   */
  resume(prev: Record<string, unknown>): void {
    if (typeof prev.reasserts === 'number') this.reasserts = prev.reasserts;
    if (typeof prev.attempts === 'number') this.attempts = prev.attempts;
    this.hold();
    const retargeted = typeof prev.target === 'string' && prev.target !== this.target;
    if (prev.action === 'done' && !retargeted && prev.lapsed !== true) {
      this.state = 'done';
      this.settling = 1;
    } else {
      this.act();
    }
  }

  /**
   * A new trip: its own counts, the outcome of an earlier trip's attempt no longer counts, and the
   * hold placed first (from here on nothing else may set the parameter, whatever the enforce does).
   * Returns why the lane refused the hold, for the caller to report after its trip event.
   */
  beginTrip(): string | undefined {
    this.generation += 1;
    this.attempts = 0;
    this.reasserts = 0;
    this.away = false;
    this.lastError = undefined;
    this.reportedError = undefined;
    return this.placeHold();
  }

  /** Reset (after releaseHold): an attempt still on its way belongs to the past. */
  endTrip(): void {
    this.generation += 1;
    this.inFlight = false;
    this.state = 'none';
    this.away = false;
    this.settling = 0;
    this.lastError = undefined;
    this.reportedError = undefined;
  }

  /** While latched, an actuator reading away from the safe value sets it back (one set in flight). */
  watchActuator(actual: ParamValue | undefined): void {
    if (actual === undefined) return;
    this.actuatorValue = actual;
    // Pending: our set is on its way. Failed: the retry in Interlock.handleEvent sets it anyway.
    if (!this.context.latched() || this.inFlight || this.state !== 'done') return;
    if (!this.supervision().supervised) return;
    const s = this.ctx.settings;
    const where = `${this.actuator}.${s.parameter}`;
    if (atSafeValue(s, actual)) {
      this.settling = 0;
      if (this.away) {
        this.away = false;
        this.context.report(`still tripped; ${where} reads ${formatValue(actual)} again`);
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
      this.ctx.log.warn({ actual }, message);
      this.context.report(message);
    }
    this.reasserts += 1;
    this.act();
  }

  /**
   * Asks the safety lane to refuse every other set of the parameter. Returns why it could not
   * (to report once), or undefined. Without a lane or an actuator act() reports the problem.
   */
  private placeHold(): string | undefined {
    const actuator = this.actuator;
    const safety = this.ctx.safety;
    if (actuator === undefined || safety === undefined) return undefined;
    const { parameter, value, tolerance } = this.ctx.settings;
    this.holding = true;
    try {
      safety.hold(actuator, parameter, value, this.holder, tolerance);
      this.holdError = undefined;
      return undefined;
    } catch (err) {
      const reason = isDaqError(err) ? err.message : describeError(err);
      const news = reason !== this.holdError;
      this.holdError = reason;
      return news ? reason : undefined;
    }
  }

  /** The lane refused the hold: ask again (the caller does so on every reading while latched). */
  retryRefusedHold(): void {
    if (this.holdError === undefined) return;
    this.hold();
    if (this.holdError === undefined) this.ctx.log.info(`interlock ${this.ctx.id} holds ${this.target} again`);
  }

  /** Places the hold and reports a refusal that is news. */
  private hold(): void {
    const failure = this.placeHold();
    if (failure) this.reportHoldFailure(failure);
  }

  reportHoldFailure(reason: string): void {
    const message = `still tripped; could not hold ${this.target}: ${reason}; a set through daqd could move it (retrying on the next reading)`;
    this.ctx.log.error(message);
    this.context.report(message);
  }

  releaseHold(): void {
    if (!this.holding) return;
    this.holding = false;
    this.holdError = undefined;
    try {
      this.ctx.safety?.release(this.holder);
    } catch (err) {
      this.ctx.log.error(`interlock ${this.ctx.id}: releasing its hold failed: ${describeError(err)}`);
    }
  }

  /** A failed action is tried again, but never while an attempt is in flight. */
  retryFailed(): void {
    if (this.state === 'failed' && !this.inFlight) this.act();
  }

  act(): void {
    const generation = this.generation;
    this.inFlight = true;
    this.state = 'pending';
    this.attempts += 1;
    this.enforce().then(
      (confirmed) => this.settle(generation, undefined, confirmed),
      (err: unknown) => this.settle(generation, err),
    );
  }

  /** Puts the parameter at the safe value through the safety lane (never ctx.submit: see interlock.ts). */
  private enforce(): Promise<ParamValue> {
    const actuator = this.actuator;
    const safety = this.ctx.safety;
    if (actuator === undefined) return Promise.reject(new DaqError('not_found', 'no instrument is assigned to the actuator role'));
    if (safety === undefined) {
      return Promise.reject(new DaqError('unavailable', `this daqd gives modules no safety lane, so ${this.target} cannot be enforced`));
    }
    try {
      return safety.enforce(actuator, this.ctx.settings.parameter, this.ctx.settings.value, this.holder);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private settle(generation: number, err: unknown, confirmed?: ParamValue): void {
    if (this.context.disposed()) return;
    if (generation !== this.generation || !this.context.latched()) {
      // Reset (or re-tripped) while this attempt was on its way: its outcome belongs to the past.
      this.ctx.log.info({ ok: err === undefined }, `interlock action from an earlier trip finished after reset`);
      return;
    }
    this.inFlight = false;
    if (err === undefined) return this.succeeded(confirmed);
    this.state = 'failed';
    // A DaqError's message is written for people; anything else is a bug, described briefly.
    const reason = isDaqError(err) ? err.message : describeError(err);
    this.lastError = reason;
    // Each new reason is an error; the same one again (a dead actuator, retried on every reading)
    // is logged at debug level, or the log fills with one line per reading.
    if (reason !== this.reportedError) this.ctx.log.error({ attempts: this.attempts, err: reason }, 'interlock action failed');
    else this.ctx.log.debug({ attempts: this.attempts, err: reason }, 'interlock action failed again');
    if (reason !== this.reportedError) {
      this.reportedError = reason;
      this.context.report(`still tripped; could not set ${this.target}: ${reason}; retrying on the next reading`);
    }
  }

  private succeeded(confirmed: ParamValue | undefined): void {
    const afterFailure = this.lastError !== undefined;
    this.state = 'done';
    this.lastError = undefined;
    this.reportedError = undefined;
    this.settling = 1;
    if (confirmed !== undefined) this.actuatorValue = confirmed;
    this.ctx.log.info({ attempts: this.attempts }, `interlock set ${this.target}`);
    if (afterFailure) this.context.report(`still tripped; ${this.target} set on attempt ${this.attempts}`);
  }

  /** The action's part of the interlock's status, in the status's order (from `target` on). */
  status(): Record<string, unknown> {
    const supervision = this.supervision();
    return {
      target: this.target,
      holding: this.context.latched() && this.holding && this.holdError === undefined,
      ...(this.holdError !== undefined ? { holdError: this.holdError } : {}),
      action: this.state,
      attempts: this.attempts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      supervised: supervision.supervised,
      supervision: supervision.note,
      actuatorValue: this.actuatorValue ?? null,
      reasserts: this.reasserts,
    };
  }
}
