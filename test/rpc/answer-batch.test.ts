/**
 * daemon.status answers the requests read in one pass of the event loop with one answer
 * (answer-batch.ts). What a client relies on: the answer is made after its request arrived (a
 * change made meanwhile is in it), requests in the same pass share it, a later pass gets a new
 * one, and a failure reaches every request of the pass.
 */
import { describe, expect, it } from 'vitest';
import { AnswerBatch } from '../../src/rpc/answer-batch.js';

describe('AnswerBatch', () => {
  it('makes one answer for the pass, after every request of it arrived', async () => {
    let counter = 0;
    let made = 0;
    const batch = new AnswerBatch(() => {
      made++;
      return { counter };
    });
    const first = batch.next();
    counter = 1; // a change after the first request was read, before it was answered
    const second = batch.next();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(a.counter).toBe(1);
    expect(made).toBe(1);
  });

  it('makes a new answer for a request of a later pass', async () => {
    let counter = 0;
    const batch = new AnswerBatch(() => ({ counter }));
    const a = await batch.next();
    counter = 2;
    const b = await batch.next();
    expect(b).not.toBe(a);
    expect(b.counter).toBe(2);
  });

  it('rejects every request of the pass when making the answer fails, and recovers on the next', async () => {
    let fail = true;
    const batch = new AnswerBatch(() => {
      if (fail) throw new Error('broken view');
      return { ok: true };
    });
    const results = await Promise.allSettled([batch.next(), batch.next()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batch.next()).resolves.toEqual({ ok: true });
  });
});
