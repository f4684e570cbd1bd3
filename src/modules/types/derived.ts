/**
 * `derived`: publishes a reading computed from its roles' readings, e.g. the ratio of two power
 * meters, as `module.reading` events. The roles are the names the expression uses (`a.power_w / b.power_w`
 * has roles a and b), so the config's roles table and the expression cannot disagree silently.
 *
 * With `max_age_ms`, an input whose last reading is older than that counts as missing: an
 * instrument that stopped reporting must not keep feeding the computation its last value.
 */
import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { DaemonEvent } from '../../core/events.js';
import type { ModuleContext, ModuleInstance, ModuleTypeDefinition, RoleDecl } from '../types.js';
import { formatAge, maxAgeSchema, readingNameSchema, readingTime } from './common.js';
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
  private readonly expr: Expr;
  private readonly refs: Map<string, Set<string>>;
  /** Latest value of each input and when it was read (ms), keyed "role.reading". */
  private readonly inputs = new Map<string, { value: number; at: number }>();
  /** The inputs that were stale at the last evaluation, to log a change once, not per reading. */
  private staleLogged = '';
  private seq = 0;
  private lastValue: number | undefined;
  private lastTs: string | undefined;
  private note: string | undefined;
  private disposed = false;

  constructor(private readonly ctx: ModuleContext<DerivedSettings>) {
    this.expr = parsedOrThrow(ctx.settings.expression);
    this.refs = referencesOf(this.expr);
  }

  handleEvent(event: DaemonEvent): void {
    if (this.disposed || event.type !== 'reading') return;
    let updated = false;
    const at = readingTime(event);
    // Several roles may be assigned the same instrument: each takes its own readings from it.
    for (const [role, readings] of this.refs) {
      if (this.ctx.roles[role] !== event.instrument) continue;
      for (const reading of readings) {
        const value = event.values[reading];
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          this.note = `input ${role}.${reading} is ${JSON.stringify(value)}, not a number: no reading published`;
          this.inputs.delete(`${role}.${reading}`);
          continue;
        }
        this.inputs.set(`${role}.${reading}`, { value, at });
        updated = true;
      }
    }
    if (updated) this.publish(event.ts, at);
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
    const missing = this.missingInputs();
    if (missing.length > 0) {
      this.note = `waiting for ${missing.join(', ')}`;
      return;
    }
    const stale = this.staleInputs(now);
    const staleKeys = stale.map((i) => i.key).join(', ');
    if (staleKeys !== this.staleLogged) {
      this.staleLogged = staleKeys;
      if (stale.length > 0) this.ctx.log.warn({ module: this.ctx.id, stale: stale.map((i) => i.key) }, this.staleNote(stale));
      else this.ctx.log.info({ module: this.ctx.id }, 'inputs fresh again: publishing');
    }
    if (stale.length > 0) {
      this.note = this.staleNote(stale);
      return;
    }
    const result = evaluate(this.expr, (role, reading) => this.inputs.get(`${role}.${reading}`)!.value);
    if (!result.ok) {
      if (this.note !== result.reason) this.ctx.log.warn({ module: this.ctx.id }, `no ${this.ctx.settings.output} reading: ${result.reason}`);
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
    const stale = this.staleInputs(Date.now());
    const note = stale.length > 0 ? this.staleNote(stale) : this.note;
    return {
      output,
      ...(unit !== undefined ? { unit } : {}),
      lastValue: this.lastValue ?? null,
      lastReadingAt: this.lastTs ?? null,
      published: this.seq,
      inputs: Object.fromEntries([...this.inputs].map(([key, input]) => [key, input.value])),
      ...(max_age_ms !== undefined ? { maxAgeMs: max_age_ms, stale: stale.map((i) => i.key) } : {}),
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
