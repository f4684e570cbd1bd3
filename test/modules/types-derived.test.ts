import { describe, expect, it } from 'vitest';
import { derivedType } from '../../src/modules/types/derived.js';
import { ExpressionError, evaluate, parseExpression, referencesOf } from '../../src/modules/types/expression.js';
import { eventsOf, fakeContext, reading, type ReadingMeta } from './types-context.js';

/** Evaluates with every role.reading looked up in `vars` ("a.x" -> value). */
function calc(source: string, vars: Record<string, number> = {}): number | string {
  const result = evaluate(parseExpression(source), (role, r) => vars[`${role}.${r}`]!);
  return result.ok ? result.value : result.reason;
}

function syntaxError(source: string): ExpressionError {
  try {
    parseExpression(source);
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error(`"${source}" parsed`);
}

describe('expression parser', () => {
  it('follows the usual precedence and associativity', () => {
    expect(calc('1 + 2 * 3')).toBe(7);
    expect(calc('10 - 4 - 3')).toBe(3);
    expect(calc('8 / 4 / 2')).toBe(1);
    expect(calc('2 * 3 + 4 * 5')).toBe(26);
    expect(calc('1 - 2 + 3')).toBe(2);
  });

  it('honours parentheses and unary minus', () => {
    expect(calc('(1 + 2) * 3')).toBe(9);
    expect(calc('-(2 + 3) * 2')).toBe(-10);
    expect(calc('4 - -2')).toBe(6);
    expect(calc('--3')).toBe(3);
    expect(calc('+3 * -2')).toBe(-6);
    expect(calc('2 * -a.x', { 'a.x': 5 })).toBe(-10);
    expect(calc('((a.x))', { 'a.x': 5 })).toBe(5);
  });

  it('reads numbers in decimal and exponent forms and references role.reading', () => {
    expect(calc('1.5e3 + .5 + 2. + 1E-3')).toBe(1502.501);
    expect(calc('probe.power_w / reference.power_w', { 'probe.power_w': 3, 'reference.power_w': 4 })).toBe(0.75);
    const refs = referencesOf(parseExpression('a.x / b.y + a.z * a.x'));
    expect([...refs].map(([role, r]) => [role, [...r]])).toEqual([
      ['a', ['x', 'z']],
      ['b', ['y']],
    ]);
  });

  it('reports syntax errors with the column', () => {
    expect(syntaxError('').message).toBe('expression is empty');
    expect(syntaxError('1 +').message).toMatch(/column 4, found the end of the expression/);
    expect(syntaxError('(a.x + 1').message).toMatch(/expected "\)" to close the "\(" at column 1/);
    expect(syntaxError('a.x + 1)').message).toMatch(/unexpected "\)" at column 8/);
    expect(syntaxError('a.x b.y').message).toMatch(/unexpected "b\.y" at column 5/);
    expect(syntaxError('power / 2').message).toMatch(/"power" at column 1 is not a reference: write role\.reading/);
    expect(syntaxError('a.x ^ 2').message).toMatch(/unexpected character "\^" at column 5/);
    expect(syntaxError('1.2.3').message).toMatch(/malformed number/);
    expect(syntaxError('* 2').column).toBe(1);
    expect(syntaxError('process.exit()').message).toMatch(/column 13/); // no calls: "(" after a reference is an error
  });

  it('gives a reason instead of Infinity or NaN', () => {
    expect(calc('a.x / b.y', { 'a.x': 1, 'b.y': 0 })).toMatch(/division by zero \(b\.y is 0\)/);
    expect(calc('a.x / (b.y - b.y)', { 'a.x': 0, 'b.y': 2 })).toMatch(/division by zero \(b\.y - b\.y is 0\)/);
    expect(calc('1e308 * 10')).toMatch(/not a finite number/);
  });
});

describe('derived settings', () => {
  it('turns syntax errors into settings issues on the expression key', () => {
    const bad = derivedType.settingsSchema.safeParse({ expression: 'a.x / (b.y', output: 'ratio' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['expression']);
    expect(bad.error!.issues[0]!.message).toMatch(/^cannot parse the expression: expected "\)"/);

    const constant = derivedType.settingsSchema.safeParse({ expression: '1 + 2' });
    expect(constant.error!.issues[0]!.message).toMatch(/uses no role\.reading/);

    expect(derivedType.settingsSchema.safeParse({ expression: 'a.x', outptu: 'y' }).error!.issues[0]).toMatchObject({ code: 'unrecognized_keys' });
    expect(derivedType.settingsSchema.parse({ expression: 'a.x' })).toEqual({ expression: 'a.x', output: 'value' });
  });

  it('derives one required role per identifier, needing the readings it references', () => {
    const settings = derivedType.settingsSchema.parse({ expression: '(probe.power_w - probe.offset) / reference.power_w', output: 'ratio' });
    expect(derivedType.roles(settings).map((r) => [r.name, r.required, r.needs])).toEqual([
      ['probe', true, [{ kind: 'reading', name: 'power_w' }, { kind: 'reading', name: 'offset' }]],
      ['reference', true, [{ kind: 'reading', name: 'power_w' }]],
    ]);
  });
});

describe('derived module', () => {
  function ratio(roles = { probe: 'pm1', reference: 'pm2' }) {
    const ctx = fakeContext(derivedType, { expression: 'probe.power_w / reference.power_w', output: 'ratio', unit: '1' }, roles, 'split');
    const instance = derivedType.create(ctx);
    return { ctx, instance, published: () => eventsOf(ctx, 'module.reading') };
  }

  it('publishes the ratio whenever an input updates once all inputs have a value', () => {
    const d = ratio();
    d.instance.handleEvent(reading('pm1', { power_w: 2 }));
    expect(d.published()).toEqual([]);
    expect(d.instance.status().note).toBe('waiting for reference.power_w');

    const second = reading('pm2', { power_w: 4 });
    d.instance.handleEvent(second);
    expect(d.published()).toEqual([{ type: 'module.reading', module: 'split', seq: 1, ts: (second as { ts: string }).ts, values: { ratio: 0.5 } }]);

    d.instance.handleEvent(reading('pm1', { power_w: 3 }));
    d.instance.handleEvent(reading('pm1', { other: 9 })); // not an input: nothing new
    d.instance.handleEvent(reading('pm3', { power_w: 1 }));
    expect(d.published().map((e) => [e.seq, e.values.ratio])).toEqual([
      [1, 0.5],
      [2, 0.75],
    ]);
    expect(d.instance.status()).toMatchObject({ output: 'ratio', unit: '1', lastValue: 0.75, published: 2 });
    expect(d.instance.status().note).toBeUndefined();
  });

  it('publishes nothing on division by zero and says why in status, then recovers', () => {
    const d = ratio();
    d.instance.handleEvent(reading('pm1', { power_w: 2 }));
    d.instance.handleEvent(reading('pm2', { power_w: 0 }));
    expect(d.published()).toEqual([]);
    expect(d.instance.status().note).toMatch(/division by zero/);
    d.instance.handleEvent(reading('pm1', { power_w: 3 }));
    expect(d.published()).toEqual([]);
    d.instance.handleEvent(reading('pm2', { power_w: 1 }));
    expect(d.published().map((e) => e.values.ratio)).toEqual([3]);
    expect(d.instance.status().note).toBeUndefined();
  });

  it('works when two roles share one instrument, publishing once per reading event', () => {
    const d = ratio({ probe: 'pm', reference: 'pm' });
    d.instance.handleEvent(reading('pm', { power_w: 2 }));
    expect(d.published().map((e) => e.values.ratio)).toEqual([1]);
  });

  it('does not use a non-numeric input value', () => {
    const d = ratio();
    d.instance.handleEvent(reading('pm1', { power_w: 2 }));
    d.instance.handleEvent(reading('pm2', { power_w: 'over range' }));
    expect(d.published()).toEqual([]);
    expect(d.instance.status().note).toMatch(/reference\.power_w is "over range", not a number/);
  });
});

describe('derived units and flagged inputs', () => {
  const W = [{ name: 'power_w', type: 'number' as const, description: 'optical power', unit: 'W' }];

  function ratio() {
    const ctx = fakeContext(derivedType, { expression: 'probe.power_w / reference.power_w', output: 'ratio' }, { probe: 'pm1', reference: 'pm2' }, 'split', {
      pm1: W,
      pm2: W,
    });
    const instance = derivedType.create(ctx);
    const feed = (instrument: string, value: number, meta: ReadingMeta = {}) => instance.handleEvent(reading(instrument, { power_w: value }, undefined, meta));
    return { ctx, instance, feed, published: () => eventsOf(ctx, 'module.reading').map((e) => e.values.ratio) };
  }

  it('publishes nothing while an input is in another unit than declared, says why, and resumes when it is back', () => {
    const d = ratio();
    d.feed('pm1', 2, { units: { power_w: 'W' } });
    d.feed('pm2', 4);
    expect(d.published()).toEqual([0.5]);

    d.feed('pm1', 3, { units: { power_w: 'dBm' } });
    d.feed('pm2', 4); // the other input updates: still nothing, still the reason
    expect(d.published()).toEqual([0.5]);
    const problem = 'input probe.power_w is now in dBm, the expression was written for W: no reading published';
    expect(d.instance.status()).toMatchObject({ problem, note: problem, lastValue: 0.5, inputs: { 'reference.power_w': 4 } });

    d.feed('pm1', 1);
    expect(d.published()).toEqual([0.5, 0.25]);
    expect(d.instance.status()).not.toHaveProperty('problem');
    expect(d.instance.status()).not.toHaveProperty('note');
  });

  it('publishes nothing from a flagged input', () => {
    const d = ratio();
    d.feed('pm1', 2);
    d.feed('pm2', 2e-3, { flags: { power_w: 'saturated' } });
    d.feed('pm1', 3);
    expect(d.published()).toEqual([]);
    expect(d.instance.status().problem).toBe('input reference.power_w reads 0.002 but is flagged saturated: no reading published');
    d.feed('pm2', 1);
    expect(d.published()).toEqual([3]);
  });
});
