/**
 * The read fast paths of issue 25 give exactly what the slow ones gave: a composed answer's JSON
 * line is JSON.stringify's, byte for byte; the request check accepts exactly what requestSchema
 * accepts; "no params" skips zod only where zod would give nothing back; and the
 * reused status aggregate is rebuilt on any event, key change or age.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../../src/core/events.js';
import { STATUS_MAX_AGE_MS, StatusMemo } from '../../src/core/status-memo.js';
import type { Daemon } from '../../src/core/daemon.js';
import { Dispatcher } from '../../src/rpc/dispatcher.js';
import { composed, responseLine, reuseJson } from '../../src/rpc/json-text.js';
import { plainRequest, requestSchema, resultResponse } from '../../src/rpc/jsonrpc.js';
import type { MethodDef } from '../../src/rpc/methods/types.js';
import { oneShotSession } from '../../src/rpc/session.js';

/** A small seeded generator: the same values every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.round(r() * 1e6) / 100 - 5000;
    case 3: return ['', 'a"b', 'ü\n\t', '\u2028', 'x'.repeat(Math.floor(r() * 20))][Math.floor(r() * 5)];
    case 4: return undefined;
    case 5: return new Date(Math.floor(r() * 2e12));
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) o[['a', 'b', '1', 'ä', 'key "q"', '__x'][Math.floor(r() * 6)]!] = randomValue(r, depth + 1);
      return o;
    }
  }
}

describe('responseLine', () => {
  it('writes a composed result exactly as JSON.stringify does, with and without reused parts (seeded)', () => {
    const r = rng(25);
    for (let n = 0; n < 500; n++) {
      const result: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 8); i > 0; i--) result[`k${Math.floor(r() * 10)}`] = randomValue(r);
      if (r() < 0.2) result.fn = () => 1;
      for (const v of Object.values(result)) if (r() < 0.5) reuseJson(v);
      const id = [1, 'x', null, 0][n % 4] as number | string | null;
      const plain = resultResponse(id, { ...result });
      expect(responseLine(resultResponse(id, composed(result)))).toBe(JSON.stringify(plain) + '\n');
    }
  });

  it('gives a reused part the text it had when first registered (parts are never edited, only replaced)', () => {
    const part = { n: 1 };
    reuseJson(part);
    const line = responseLine(resultResponse(7, composed({ part, fresh: { n: 2 } })));
    expect(line).toBe('{"jsonrpc":"2.0","id":7,"result":{"part":{"n":1},"fresh":{"n":2}}}\n');
  });

  it('writes a slot\'s answer exactly as JSON.stringify does now, whatever was edited in place since the last one (seeded)', () => {
    // A status source may hand out the same object edited in place, or a new one with the same
    // content; a part may be a class instance, have toJSON, or hold NaN. The slot reuses text only
    // on equal content, so every answer must still be JSON.stringify's of the result as it is now.
    class Box {
      constructor(public v: number) {}
    }
    const r = rng(2025);
    const live: Record<string, unknown> = { n: 1, list: [1, 2], inner: { a: 'x', deep: { b: [true] } } };
    let result: Record<string, unknown> = { live, uptime: 0, same: { k: 1 } };
    for (let step = 0; step < 3000; step++) {
      switch (Math.floor(r() * 11)) {
        case 0: (live.inner as { deep: { b: unknown[] } }).deep.b.push(r() < 0.5); break; // edited in place, deep down
        case 1: live.n = Math.floor(r() * 3); break; // edited in place, often to the value it had
        case 2: result = { ...result, uptime: Math.floor(step / 100) }; break; // a new top-level object
        case 3: result.same = { k: Math.floor(r() * 2) }; break; // a new object, often with equal content
        case 4: result[`k${Math.floor(r() * 4)}`] = randomValue(r); break;
        case 5: delete result[`k${Math.floor(r() * 4)}`]; break;
        case 6: result.box = new Box(Math.floor(r() * 2)); break;
        case 7: result.odd = [NaN, -0, { toJSON: () => step }][Math.floor(r() * 3)]; break;
        case 8: (live.list as unknown[]).length = Math.floor(r() * 3); break;
        case 9: result.named = r() < 0.5 ? { a: 1 } : { b: 1 }; break; // the same values under another key
        default: break; // nothing changed: the last text as it was
      }
      const line = responseLine(resultResponse(step, composed(result, 'test.slot')));
      expect(line).toBe(JSON.stringify(resultResponse(step, result)) + '\n');
    }
  });

  it('never reuses a slot\'s text across toJSON (own, non-enumerable, on arrays), getters or proxies', () => {
    const withToJSON = <T extends object>(o: T, out: unknown): T => Object.defineProperty(o, 'toJSON', { value: () => out, enumerable: false });
    let n = 0;
    const counter = { get v() { return n++ < 1 ? 0 : 1; } }; // reads differently from one read to the next
    const results: Record<string, unknown>[] = [
      { a: [1, 2] },
      { a: withToJSON([1, 2], 'X') },
      { a: [1, 2] },
      { a: { b: withToJSON([1, 2], 'Y') } },
      { a: { b: [1, 2] } },
      { a: { x: 1 } },
      { a: withToJSON({ x: 1 }, 'Z') },
      { a: { x: 1 } },
      { a: { v: 1 } },
      { a: new Proxy({ x: 1 }, {}) },
      { a: { x: 1 } },
      { a: new Proxy({ x: 1 }, { get: (t, k) => (k === 'x' ? 2 : Reflect.get(t, k)) }) },
    ];
    results.forEach((result, id) => {
      const line = responseLine(resultResponse(id, composed(result, 'test.toJSON')));
      expect(line, `answer ${id}`).toBe(JSON.stringify(resultResponse(id, result)) + '\n');
    });
    // A getter read once for the text and again for the copy: the next answer must not take the
    // first read's text for the second read's value.
    responseLine(resultResponse(1, composed({ a: counter }, 'test.getter')));
    expect(responseLine(resultResponse(2, composed({ a: counter }, 'test.getter')))).toBe('{"jsonrpc":"2.0","id":2,"result":{"a":{"v":1}}}\n');
  });

  it('calls a part\'s toJSON with its key, as JSON.stringify of the whole does', () => {
    const part = { toJSON: (key: string) => `key=${key}` };
    const result = { p: part, 'q"r': part, gone: { toJSON: () => undefined } };
    expect(responseLine(resultResponse(1, composed(result)))).toBe(JSON.stringify(resultResponse(1, result)) + '\n');
  });

  it('keeps slots apart: one slot\'s text is never another\'s', () => {
    expect(responseLine(resultResponse(1, composed({ a: 1 }, 'slot.one')))).toBe('{"jsonrpc":"2.0","id":1,"result":{"a":1}}\n');
    expect(responseLine(resultResponse(1, composed({ a: 2 }, 'slot.two')))).toBe('{"jsonrpc":"2.0","id":1,"result":{"a":2}}\n');
    expect(responseLine(resultResponse(1, composed({ a: 1 }, 'slot.two')))).toBe('{"jsonrpc":"2.0","id":1,"result":{"a":1}}\n');
  });

  it('leaves everything that is not a composed result to JSON.stringify (errors, batches, notifications)', () => {
    const c = composed({ a: 1 });
    for (const m of [[resultResponse(1, c)], { jsonrpc: '2.0', method: 'x', params: c }, { jsonrpc: '2.0', id: 1, error: { code: 1 }, result: c }]) {
      expect(responseLine(m)).toBe(JSON.stringify(m) + '\n');
    }
    expect(() => responseLine({ a: 1n })).toThrow();
  });
});

describe('plainRequest', () => {
  it('accepts exactly what requestSchema accepts, params and all, and hands over the request\'s own params', () => {
    const shapes: unknown[] = [
      { jsonrpc: '2.0', method: 'daemon.status', id: 1 },
      { jsonrpc: '2.0', method: 'daemon.status', id: 'a' },
      { jsonrpc: '2.0', method: 'daemon.status', id: null },
      { jsonrpc: '2.0', method: 'daemon.status' },
      { jsonrpc: '2.0', method: 'daemon.status', id: 1.5, extra: true },
      { jsonrpc: '2.0', method: '', id: 1 },
      { jsonrpc: '2.0', method: 5, id: 1 },
      { jsonrpc: '1.0', method: 'x', id: 1 },
      { method: 'x', id: 1 },
      { jsonrpc: '2.0', method: 'x', id: true },
      { jsonrpc: '2.0', method: 'x', id: {} },
      { jsonrpc: '2.0', method: 'x', id: [] },
      { jsonrpc: '2.0', method: 'x', id: Infinity },
      { jsonrpc: '2.0', method: 'x', id: NaN },
      { jsonrpc: '2.0', method: 'x', id: 1, params: {} },
      { jsonrpc: '2.0', method: 'x', id: 1, params: { id: 'pm1', refresh: true } },
      { jsonrpc: '2.0', method: 'x', id: 1, params: [] },
      { jsonrpc: '2.0', method: 'x', id: 1, params: [1, 'a', null] },
      { jsonrpc: '2.0', method: 'x', id: 1, params: null },
      { jsonrpc: '2.0', method: 'x', id: 1, params: 5 },
      { jsonrpc: '2.0', method: 'x', id: 1, params: 'pm1' },
      { jsonrpc: '2.0', method: 'x', id: 1, params: true },
      { jsonrpc: '2.0', method: 'x', id: 1, params: new Date(0) },
      { jsonrpc: '2.0', method: 'x', id: 1, params: Object.create(null) },
      { jsonrpc: '2.0', method: 'x', id: Infinity, params: {} },
      JSON.parse('{"jsonrpc":"2.0","method":"x","id":1,"__proto__":{"params":[1]}}'),
      JSON.parse('{"jsonrpc":"2.0","method":"x","id":1,"params":{"__proto__":{"a":1},"id":"pm1"}}'),
      [],
      null,
      'x',
      7,
    ];
    let accepted = 0;
    for (const raw of shapes) {
      const fast = plainRequest(raw);
      const slow = requestSchema.safeParse(raw);
      if (fast) {
        accepted++;
        expect(slow.success, JSON.stringify(raw)).toBe(true);
        expect(fast.method).toBe(slow.data!.method);
        expect(fast.params).toBe((raw as { params?: unknown }).params); // the request's own, not a copy
      }
      // Refused by the fast check: the schema decides (it must then refuse it, or see an odd prototype).
      else if (slow.success) {
        const p = (raw as { params?: unknown }).params;
        expect(Object.getPrototypeOf(raw) !== Object.prototype || (typeof p === 'object' && p !== null && Object.getPrototypeOf(p) !== Object.prototype), JSON.stringify(raw)).toBe(true);
      }
    }
    expect(accepted).toBe(11);
  });
});

describe('Dispatcher: a call without params', () => {
  const call = (params: z.ZodType) => {
    const seen: unknown[] = [];
    const def: MethodDef = { description: '', params, handler: (p) => (seen.push(p), 'ok') };
    const d = new Dispatcher({} as Daemon, new Map([['m', def]]), { error() {} } as never);
    return { seen, run: () => d.call('m', undefined, oneShotSession('test', '')) };
  };

  it('skips the parse only for a schema that gives nothing for nothing', async () => {
    const optional = call(z.object({}).strict().optional());
    await optional.run();
    await optional.run();
    expect(optional.seen).toEqual([undefined, undefined]);
    // A default is made fresh by zod each call: never shared between calls.
    const defaulted = call(z.object({ a: z.number() }).default({ a: 1 }));
    await defaulted.run();
    await defaulted.run();
    expect(defaulted.seen).toEqual([{ a: 1 }, { a: 1 }]);
    // A schema that needs params still refuses their absence, every time.
    const required = call(z.object({ id: z.string() }));
    await expect(required.run()).rejects.toMatchObject({ kind: 'invalid_params' });
    await expect(required.run()).rejects.toMatchObject({ kind: 'invalid_params' });
    expect(required.seen).toEqual([]);
  });
});

describe('StatusMemo', () => {
  it('reuses the aggregate until an event, a changed key or its age says otherwise', () => {
    const events = new EventBus();
    const memo = new StatusMemo<{ n: number }>(events);
    let n = 0;
    const compute = () => ({ n: ++n });
    const keys = [{}, 1];
    const first = memo.get(keys, 1000, compute);
    expect(memo.get([...keys], 1000 + STATUS_MAX_AGE_MS, compute)).toBe(first);
    // Older than the bound.
    expect(memo.get(keys, 1001 + STATUS_MAX_AGE_MS, compute).n).toBe(2);
    // Any event.
    events.emit({ type: 'instrument.added', instrument: 'x' });
    expect(memo.get(keys, 1001 + STATUS_MAX_AGE_MS, compute).n).toBe(3);
    expect(memo.get(keys, 1001 + STATUS_MAX_AGE_MS, compute).n).toBe(3);
    // Another key (a new running config object, another revision).
    const next = [{}, 1];
    expect(memo.get(next, 1001 + STATUS_MAX_AGE_MS, compute).n).toBe(4);
    expect(memo.get(next, 1001 + STATUS_MAX_AGE_MS, compute).n).toBe(4);
    // A clock that went back.
    expect(memo.get(next, 10, compute).n).toBe(5);
  });

  it('an event while the aggregate is being built makes the next read build it again', () => {
    const events = new EventBus();
    const memo = new StatusMemo<number>(events);
    let n = 0;
    memo.get([], 0, () => (events.emit({ type: 'instrument.added', instrument: 'x' }), ++n));
    expect(memo.get([], 0, () => ++n)).toBe(2);
    expect(memo.get([], 0, () => ++n)).toBe(2);
  });
});

describe('fastParams', () => {
  /** Params values around the recognised shapes: good and bad ids, booleans and not, extra keys. */
  function candidates(r: () => number, keys: string[]): unknown[] {
    const ids = ['pm1', 'a', 'x'.repeat(64), 'x'.repeat(65), '', 'has space', 'constructor', 'toString', '__proto__', 'ü', 'a-b_c', 1, null, true, undefined];
    const bools = [true, false, 'true', 0, null, undefined];
    const out: unknown[] = [null, 1, 'pm1', [], ['pm1'], Object.create(null), new Date(0)];
    for (let n = 0; n < 400; n++) {
      const o: Record<string, unknown> = {};
      for (const key of keys) {
        if (r() < 0.15) continue; // missing
        o[key] = key === 'id' || r() < 0.3 ? ids[Math.floor(r() * ids.length)] : bools[Math.floor(r() * bools.length)];
      }
      if (r() < 0.15) o[['extra', 'ID', 'refresh', 'persist'][Math.floor(r() * 4)]!] = r() < 0.5 ? true : 'x';
      out.push(o);
    }
    return out;
  }

  it("gives zod's result wherever it answers, for every method's params schema (seeded)", async () => {
    const { methods } = await import('../../src/rpc/methods/index.js');
    const { fastParams } = await import('../../src/rpc/fast-params.js');
    const r = rng(2511);
    let recognised = 0;
    let answered = 0;
    for (const [name, def] of methods) {
      const schema = def.params as z.ZodType;
      const keys = schema instanceof z.ZodObject ? Object.keys(schema.shape) : ['id'];
      let used = false;
      for (const raw of candidates(r, keys)) {
        const fast = fastParams(schema, raw);
        if (fast === undefined) continue;
        used = true;
        answered++;
        const slow = schema.safeParse(raw);
        expect(slow.success, `${name} ${JSON.stringify(raw)}`).toBe(true);
        expect(fast, `${name} ${JSON.stringify(raw)}`).toEqual(slow.data);
      }
      if (used) recognised++;
    }
    // instrument.get, module.get, instrument.remove... are among them; most params are not.
    expect(recognised).toBeGreaterThanOrEqual(5);
    expect(answered).toBeGreaterThan(500);
  });

  it('answers the commonest valid shapes itself (and so skips zod for them)', async () => {
    const { methods } = await import('../../src/rpc/methods/index.js');
    const { fastParams } = await import('../../src/rpc/fast-params.js');
    const get = methods.get('instrument.get')!.params as z.ZodType;
    expect(fastParams(get, { id: 'pm1' })).toEqual({ id: 'pm1' });
    expect(fastParams(get, { id: 'pm1', refresh: true })).toEqual({ id: 'pm1', refresh: true });
    expect(fastParams(get, { id: 'constructor' })).toBeUndefined();
    expect(fastParams(get, { id: 'pm1', extra: 1 })).toBeUndefined();
    expect(get.safeParse({ id: 'pm1', extra: 1 }).success).toBe(false);
  });
});
