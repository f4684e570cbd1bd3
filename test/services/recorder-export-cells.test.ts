/**
 * An exported CSV cell's type (export.ts typedCell): numbers (Infinity too), booleans, NaN, text,
 * and the text columns that stay text. Linear on any cell: the shared number pattern.
 */
import { describe, expect, it } from 'vitest';
import { typedCell } from '../../src/services/recorder/export.js';

describe('typedCell', () => {
  it('types numbers (with Infinity), booleans and NaN; time and flags stay text', () => {
    expect(typedCell('1.5e-3', 'p')).toBe(1.5e-3);
    expect(typedCell('Infinity', 'p')).toBe(Infinity);
    expect(typedCell('-Infinity', 'p')).toBe(-Infinity);
    expect(typedCell('NaN', 'p')).toBeNaN();
    expect(typedCell('true', 'p')).toBe(true);
    expect(typedCell('', 'p')).toBeNull();
    expect(typedCell('12', 'flags')).toBe('12');
    expect(typedCell('W', 'p')).toBe('W');
  });

  it('a device string of 200,000 digits and a letter stays text, at once', () => {
    const cell = '1'.repeat(200_000) + 'x';
    expect(typedCell(cell, 'id')).toBe(cell);
  });
});
