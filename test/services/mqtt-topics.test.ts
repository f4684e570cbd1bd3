/**
 * A /set payload's bare value (topics.ts parseBareValue): numbers, booleans, quoted strings, and
 * text that only looks like a number. Linear on any input: a long run of digits and a letter once
 * took the old pattern seconds (quadratic backtracking), freezing the daemon.
 */
import { describe, expect, it } from 'vitest';
import { parseBareValue } from '../../src/services/mqtt/topics.js';

describe('parseBareValue', () => {
  it('reads numbers, booleans and quoted strings, and leaves other text as it is', () => {
    expect(parseBareValue(' 820 ')).toBe(820);
    expect(parseBareValue('-1.5e-3')).toBe(-1.5e-3);
    expect(parseBareValue('.5')).toBe(0.5);
    expect(parseBareValue('5.')).toBe(5);
    expect(parseBareValue('on')).toBe(true);
    expect(parseBareValue('False')).toBe(false);
    expect(parseBareValue('"a b"')).toBe('a b');
    expect(parseBareValue('1e')).toBe('1e');
    expect(parseBareValue('1.2.3')).toBe('1.2.3');
  });

  it('answers at once for 200,000 digits followed by a letter (the old pattern would take minutes)', () => {
    const text = '1'.repeat(200_000) + 'x';
    expect(parseBareValue(text)).toBe(text);
    expect(parseBareValue('1'.repeat(200_000))).toBe(Number('1'.repeat(200_000)));
  });
});
