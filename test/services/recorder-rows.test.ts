/**
 * RowBuffer (src/services/recorder/rows.ts) holds a segment's rows as UTF-8 bytes: what a flush
 * writes must be exactly the rows' text, whole rows only, across growth, partial flushes and
 * oldest-first drops, for any text a row can hold.
 */
import { describe, expect, it } from 'vitest';
import { RowBuffer } from '../../src/services/recorder/rows.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const PIECES = ['2026-11-30T10:00:00.000Z', ',', '1.25e-3', '"a ""quoted"" field"', 'µW', 'ü', '😀', '\u2028', 'x'.repeat(300), '\ud800'];

describe('RowBuffer', () => {
  it('gives back exactly the rows pushed, as UTF-8, through growth, partial flushes and drops (seeded)', () => {
    const r = rng(25);
    const rows = new RowBuffer();
    const model: string[] = [];
    for (let step = 0; step < 5000; step++) {
      const pick = r();
      if (pick < 0.7) {
        let line = '';
        for (let i = Math.floor(r() * 6); i > 0; i--) line += PIECES[Math.floor(r() * PIECES.length)];
        line += '\n';
        rows.push(line);
        model.push(line);
      } else if (pick < 0.85) {
        const n = Math.floor(r() * (model.length + 2));
        expect(rows.copyFirst(n).equals(Buffer.from(model.slice(0, n).join('')))).toBe(true);
      } else {
        const n = Math.floor(r() * (model.length + 2));
        rows.dropFirst(n);
        model.splice(0, n);
      }
      expect(rows.count).toBe(model.length);
    }
    expect(rows.copyFirst(rows.count).equals(Buffer.from(model.join('')))).toBe(true);
  });

  it('a copy is not changed by rows pushed or dropped after it was taken (a flush writes it meanwhile)', () => {
    const rows = new RowBuffer();
    rows.push('a,1\n');
    rows.push('b,2\n');
    const copy = rows.copyFirst(2);
    rows.dropFirst(1);
    for (let i = 0; i < 1000; i++) rows.push(`row ${i}\n`);
    expect(copy.toString('utf8')).toBe('a,1\nb,2\n');
    expect(rows.copyFirst(1).toString('utf8')).toBe('b,2\n');
  });
});
