/**
 * `derived`: publishes a reading computed from its roles' readings, e.g. the ratio of two power
 * meters, as `module.reading` events. The roles are the names the expression uses (`a.power_w / b.power_w`
 * has roles a and b), so the config's roles table and the expression cannot disagree silently.
 *
 * With `max_age_ms`, an input whose last reading is older than that counts as missing: an
 * instrument that stopped reporting must not keep feeding the computation its last value.
 *
 * An input in another unit than the one its instrument declared when the module started (a meter
 * switched from W to dBm), or flagged as not a valid measurement (a saturated detector), stops the
 * publishing too (issue #15): the expression was written for the declared units and real
 * measurements, and a wrong number published as right is worse than none.
 */
import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { DaemonEvent } from '../../core/events.js';
import type { ModuleContext, ModuleInstance, ModuleTypeDefinition, RoleDecl } from '../types.js';
import { realClock, type ModuleClock } from '../clock.js';
import { declaredUnit, flagOf, formatAge, maxAgeSchema, own, readingNameSchema, readingTime, unitIn, type ReadingEvent } from './common.js';
import { type Expr, ExpressionError, evaluate, parseExpression, referencesOf } from './expression.js';

/** The parse result per expression text: validation, roles() and create() all need it. */
const parsed = new Map<string, Expr | ExpressionError>();

function parseCached(source: string): Expr | ExpressionError {
  let result = parsed.get(source);
  if (result === undefined) {
    try {
      result = parseExpression(source);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      result = err;
    }
    // Bounded: configs are edited by hand, but a script could feed endless variants.
    if (parsed.size > 500) parsed.clear();
    parsed.set(source, result);
  }
  return result;
}

function parsedOrThrow(source: string): Expr {
  const result = parseCached(source);
  // Settings normally reach roles()/create() only after the schema accepted them.
  if (result instanceof ExpressionError) throw new DaqError('validation_failed', `derived: cannot parse the expression "${source}": ${result.message}`);
  return result;
}

export const derivedSettingsSchema = z.strictObject({
  expression: z
    .string()
    .describe('Arithmetic over role readings: + - * / ( ), numbers and role.reading, e.g. "probe.power_w / reference.power_w".')
    .superRefine((source, ctx) => {
      const result = parseCached(source);
      if (result instanceof ExpressionError) {
        ctx.addIssue({ code: 'custom', message: `cannot parse the expression: ${result.message}` });
      } else if (referencesOf(result).size === 0) {
        ctx.addIssue({ code: 'custom', message: 'the expression uses no role.reading, so it would never publish a reading' });
      }
    }),
  output: readingNameSchema.default('value').describe('Name of the published reading, e.g. "ratio".'),
  unit: z.string().optional().describe('Unit of the published reading, for people reading status and docs.'),
  max_age_ms: maxAgeSchema.optional().describe('An input whose last reading is older than this (ms) counts as missing: no reading is published. Default off.'),
});

export type DerivedSettings = z.output<typeof derivedSettingsSchema>;

class Derived implements ModuleInstance {
  private readonly clock: ModuleClock;
  private readonly expr: Expr;
  private readonly refs: Map<string, Set<string>>;
  /** The unit each input ("role.reading") is expected in: its instrument's declared one at the start. */
  private readonly expectedUnits = new Map<string, string | undefined>();
  /** Latest value of each input and when it was read (ms), keyed "role.reading". */
  private readonly inputs = new Map<string, { value: number; at: number }>();
  /** Inputs whose last reading cannot be used (not a number, wrong unit, flagged), and why. */
  private readonly problems = new Map<string, string>();
  /** The inputs that were stale at the last evaluation, to log a change once, not per reading. */
  private staleLogged = '';
  private seq = 0;
  private lastValue: number | undefined;
  private lastTs: string | undefined;
  private note: string | undefined;
  private disposed = false;

  constructor(private readonly ctx: ModuleContext<DerivedSettings>) {
    this.clock = ctx.clock ?? realClock;
    this.expr = parsedOrThrow(ctx.settings.expression);
    this.refs = referencesOf(this.expr);
    for (const [role, readings] of this.refs) {
      const instrument = ctx.roles[role];
      const declared = instrument === undefined ? undefined : ctx.readingsOf?.(instrument);
      for (const reading of readings) this.expectedUnits.set(`${role}.${reading}`, declaredUnit(declared, reading));
    }
  }

  handleEvent(event: DaemonEvent): void {
    if (this.disposed || event.type !== 'reading') return;
    let updated = false;
    let problem = false;
    const at = readingTime(event, this.clock.now());
    // Several roles may be assigned the same instrument: each takes its own readings from it.
    for (const [role, readings] of this.refs) {
      if (this.ctx.roles[role] !== event.instrument) continue;
      for (const reading of readings) {
        const key = `${role}.${reading}`;
        const value = own(event.values, reading);
        if (value === undefined) continue;
        const usable = this.usable(event, key, reading, value);
        if (typeof usable === 'string') {
          this.refuse(key, usable);
          problem = true;
          continue;
        }
        this.problems.delete(key);
        this.inputs.set(key, { value: usable, at });
        updated = true;
      }
    }
    if (problem) this.note = this.problemText();
    else if (updated) this.publish(event.ts, at);
  }

  /** Input `key` cannot be used until its next good reading: keep the reason, drop the value. */
  private refuse(key: string, why: string): void {
    if (this.problems.get(key) !== why) this.ctx.log.warn({ input: key }, why);
    this.problems.set(key, why);
    this.inputs.delete(key);
  }

  /** The input's value if it can be used, else why not (not a number, another unit, flagged). */
  private usable(event: ReadingEvent, key: string, reading: string, value: unknown): number | string {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `input ${key} is ${JSON.stringify(value)}, not a number: no reading published`;
    const declared = this.ctx.readingsOf?.(event.instrument);
    // The unit at the start; for an instrument not known then, the one it declares now.
    const expected = this.expectedUnits.get(key) ?? declaredUnit(declared, reading);
    const unit = unitIn(event, reading, declared);
    if (expected !== undefined && unit !== undefined && unit !== expected) {
      return `input ${key} is now in ${unit}, the expression was written for ${expected}: no reading published`;
    }
    const flag = flagOf(event, reading);
    if (flag !== undefined) return `input ${key} reads ${value} but is flagged ${flag}: no reading published`;
    return value;
  }

  private problemText(): string | undefined {
    return this.problems.size === 0 ? undefined : [...this.problems.values()].join('; ');
  }

  private missingInputs(): string[] {
    const missing: string[] = [];
    for (const [role, readings] of this.refs) {
      for (const reading of readings) if (!this.inputs.has(`${role}.${reading}`)) missing.push(`${role}.${reading}`);
    }
    return missing;
  }

  /** Inputs whose last reading is older than max_age_ms at `now`, oldest first (none without max_age_ms). */
  private staleInputs(now: number): { key: string; age: number }[] {
    const maxAge = this.ctx.settings.max_age_ms;
    if (maxAge === undefined) return [];
    return [...this.inputs]
      .map(([key, input]) => ({ key, age: now - input.at }))
      .filter((i) => i.age > maxAge)
      .sort((a, b) => b.age - a.age);
  }

  private staleNote(stale: { key: string; age: number }[]): string {
    const list = stale.map((i) => `${i.key} (last read ${formatAge(i.age)} ago)`).join(', ');
    const verb = stale.length === 1 ? 'is' : 'are';
    return `stale: ${list} ${verb} older than max_age_ms = ${this.ctx.settings.max_age_ms}; no reading published`;
  }

  private publish(ts: string, now: number): void {
    const problem = this.problemText();
    if (problem !== undefined) {
      this.note = problem;
      return;
    }
    const missing = this.missingInputs();
    if (missing.length > 0) {
      this.note = `waiting for ${missing.join(', ')}`;
      return;
    }
    const stale = this.staleInputs(now);
    const staleKeys = stale.map((i) => i.key).join(', ');
    if (staleKeys !== this.staleLogged) {
      this.staleLogged = staleKeys;
      if (stale.length > 0) this.ctx.log.warn({ stale: stale.map((i) => i.key) }, this.staleNote(stale));
      else this.ctx.log.info('inputs fresh again: publishing');
    }
    if (stale.length > 0) {
      this.note = this.staleNote(stale);
      return;
    }
    const result = evaluate(this.expr, (role, reading) => this.inputs.get(`${role}.${reading}`)!.value);
    if (!result.ok) {
      if (this.note !== result.reason) this.ctx.log.warn(`no ${this.ctx.settings.output} reading: ${result.reason}`);
      this.note = result.reason;
      return;
    }
    this.note = undefined;
    this.lastValue = result.value;
    this.lastTs = ts;
    this.seq += 1;
    this.ctx.emit({ type: 'module.reading', module: this.ctx.id, seq: this.seq, ts, values: { [this.ctx.settings.output]: result.value } });
  }

  status(): Record<string, unknown> {
    const { output, unit, max_age_ms } = this.ctx.settings;
    // Judged now, not at the last reading: if every input went silent, nothing re-evaluates.
    const stale = this.staleInputs(this.clock.now());
    const problem = this.problemText();
    const note = problem ?? (stale.length > 0 ? this.staleNote(stale) : this.note);
    return {
      output,
      ...(unit !== undefined ? { unit } : {}),
      lastValue: this.lastValue ?? null,
      lastReadingAt: this.lastTs ?? null,
      published: this.seq,
      inputs: Object.fromEntries([...this.inputs].map(([key, input]) => [key, input.value])),
      ...(max_age_ms !== undefined ? { maxAgeMs: max_age_ms, stale: stale.map((i) => i.key) } : {}),
      ...(problem !== undefined ? { problem } : {}),
      ...(note !== undefined ? { note } : {}),
    };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const derivedType: ModuleTypeDefinition<DerivedSettings> = {
  name: 'derived',
  description: 'Publishes a reading computed from role readings (e.g. the ratio of two power meters).',
  settingsSchema: derivedSettingsSchema,
  roles(settings): RoleDecl[] {
    return [...referencesOf(parsedOrThrow(settings.expression))].map(([role, readings]) => ({
      name: role,
      description: `provides ${[...readings].join(', ')} for ${settings.output} = ${settings.expression}`,
      required: true,
      needs: [...readings].map((name) => ({ kind: 'reading' as const, name })),
    }));
  },
  create(ctx) {
    return new Derived(ctx);
  },
};
