/**
 * Repeated failures are logged once, then as a count at most once a minute, a different failure
 * at once, and the recovery once (issue #17: a dead device wrote a line every few seconds forever).
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { FailureLog, REPEAT_SUMMARY_MS } from '../../src/core/instrument/failure-log.js';

function capture() {
  const lines: { level: number; msg: string; times?: number }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('FailureLog', () => {
  it('one line for the first failure, a count once a minute, one line when the failure changes and when it recovers', async () => {
    const { log, lines } = capture();
    let now = Date.parse('2026-11-30T10:02:11Z');
    const failures = new FailureLog(log, () => now);
    for (let i = 0; i < 37; i++) {
      failures.failed('timeout', 'no reply to D? within 1000 ms');
      now += 1000; // a poll a second for 37 s
    }
    await flush();
    expect(lines.map((l) => l.msg)).toEqual(['no reply to D? within 1000 ms']);

    now += REPEAT_SUMMARY_MS;
    failures.failed('timeout', 'no reply to D? within 1000 ms');
    await flush();
    expect(lines.at(-1)!.msg).toBe('still failing: no reply to D? within 1000 ms (38 times since 10:02:11)');

    failures.failed('disconnected', 'lost connection to /dev/ttyUSB0');
    await flush();
    expect(lines.map((l) => l.msg).slice(2)).toEqual(['lost connection to /dev/ttyUSB0']);

    failures.recovered('connected');
    failures.recovered('reading'); // only once
    await flush();
    expect(lines.slice(3).map((l) => l.msg)).toEqual([expect.stringMatching(/^connected again after 1 failure since \d\d:\d\d:\d\d \(last: lost connection/)]);
    expect(lines).toHaveLength(4);
  });
});
