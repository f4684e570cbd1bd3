import { describe, expect, it } from 'vitest';
import { Series, bin, chart, renderChart, renderSparklines, sparkline } from '../../src/cli/commands/plot.js';
import { parseWhen } from '../../src/cli/commands/export.js';

describe('terminal plots', () => {
  it('sparkline: lowest ▁, highest █, gaps blank', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, Number.NaN])).toBe('▁▂▃▄▅▆▇█ ');
    expect(sparkline([2, 2])).toBe('▄▄');
  });

  it('bins the last minute into columns, dropping older points', () => {
    const s = new Series();
    const now = 1_000_000;
    s.push(now - 70_000, 99);
    s.push(now - 59_000, 1);
    s.push(now - 1, 2);
    s.trim(now);
    expect(s.v).toEqual([1, 2]);
    const b = bin(s, 6, now);
    expect(b[0]).toBe(1);
    expect(b[5]).toBe(2);
    expect(b.slice(1, 5).every(Number.isNaN)).toBe(true);
  });

  it('watch --plot lines: name, sparkline, min/max/last with units, within the width', () => {
    const s = new Series();
    const now = 1_000_000;
    for (let i = 0; i < 60; i++) s.push(now - 60_000 + i * 1000, 1e-3 * (1 + i / 60), 'W');
    const lines = renderSparklines(new Map([['pm.power', s]]), 100, now);
    expect(lines[0]).toMatch(/^pm\.power +[▁▂▃▄▅▆▇█ ]+ +min 1\.000 mW +max 1\.98\d mW +last 1\.98\d mW$/);
    expect(lines[0]!.length).toBeLessThanOrEqual(100);
  });

  it('plot ID READING: a chart of the terminal height with the range on its axis', () => {
    const s = new Series();
    const now = 1_000_000;
    for (let i = 0; i < 30; i++) s.push(now - 30_000 + i * 1000, i, 'nm');
    const lines = renderChart('laser.wavelength_nm', s, 80, 20, now);
    expect(lines[0]).toMatch(/^laser\.wavelength_nm +last 29\.00 nm +min 0\.000 nm +max 29\.00 nm$/);
    expect(lines[1]).toMatch(/29\.00 nm │/);
    expect(lines.length).toBe(19); // one row less: LiveRegion keeps the cursor on the last
    expect(chart([0, 1], 2)).toEqual([' █', '▁█']);
  });

  it('export times: ISO, a local date, a duration ago', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(parseWhen('10m', '--from', now)).toBe('2026-11-30T11:50:00.000Z');
    expect(parseWhen('2026-11-30T09:00:00Z', '--from')).toBe('2026-11-30T09:00:00.000Z');
    expect(parseWhen('2026-11-30', '--from')).toBe(new Date(2026, 10, 30).toISOString());
    expect(() => parseWhen('soon', '--from')).toThrow(/not a time/);
  });
});
