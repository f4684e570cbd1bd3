/**
 * daqctl watch's parts without a terminal: which events pass the filters, what the table shows
 * (module trips and alarms beside the readings), and how the live region redraws (in place, never
 * a screen clear, never more lines than the screen or wider than it).
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/exit.js';
import { Board } from '../../src/cli/watch/board.js';
import { eventSelected, parseTypes, type Selection } from '../../src/cli/watch/filter.js';
import { LiveRegion } from '../../src/cli/watch/screen.js';
import type { InstrumentView, ModuleView } from '../../src/client/types.js';

const sel = (s: Partial<Selection>): Selection => ({ instruments: null, modules: null, types: null, ...s });
const roles = new Map([
  ['guard', new Set(['pm1', 'laser'])],
  ['ratio', new Set(['pm1', 'pm2'])],
  ['chill', new Set(['chiller'])],
]);

describe('watch filters', () => {
  it('--type: prefixes, comma-separated or repeated; an unknown one is a usage error', () => {
    expect(parseTypes(['reading,module.', 'instrument.state'])).toEqual(['reading', 'module.', 'instrument.state']);
    expect(parseTypes(undefined)).toBeNull();
    expect(() => parseTypes(['readings'])).toThrow(UsageError);
    expect(() => parseTypes([','])).toThrow(UsageError);
  });

  it('instrument ids: their events and those of the modules using them; not unrelated module readings', () => {
    const s = sel({ instruments: new Set(['laser']) });
    expect(eventSelected(s, 'reading', { instrument: 'laser' }, roles)).toBe(true);
    expect(eventSelected(s, 'reading', { instrument: 'pm2' }, roles)).toBe(false);
    expect(eventSelected(s, 'module.interlock', { module: 'guard', tripped: true }, roles)).toBe(true);
    expect(eventSelected(s, 'module.reading', { module: 'ratio' }, roles)).toBe(false);
    expect(eventSelected(s, 'config.persisted', { file: 'x' }, roles)).toBe(false);
    expect(eventSelected(s, 'events.dropped', { count: 3 }, roles)).toBe(true);
  });

  it('--module: only those modules (no instrument events unless ids are given too)', () => {
    const s = sel({ modules: new Set(['chill']) });
    expect(eventSelected(s, 'module.alarm', { module: 'chill' }, roles)).toBe(true);
    expect(eventSelected(s, 'module.reading', { module: 'ratio' }, roles)).toBe(false);
    expect(eventSelected(s, 'reading', { instrument: 'chiller' }, roles)).toBe(false);
    const both = sel({ modules: new Set(['chill']), instruments: new Set(['pm2']) });
    expect(eventSelected(both, 'reading', { instrument: 'pm2' }, roles)).toBe(true);
    expect(eventSelected(both, 'module.reading', { module: 'ratio' }, roles)).toBe(false);
  });

  it('--type with subjects; heartbeats only when asked for', () => {
    const s = sel({ instruments: new Set(['pm1']), types: ['instrument.state', 'config.'] });
    expect(eventSelected(s, 'reading', { instrument: 'pm1' }, roles)).toBe(false);
    expect(eventSelected(s, 'instrument.state', { instrument: 'pm1' }, roles)).toBe(true);
    expect(eventSelected(s, 'config.reloaded', {}, roles)).toBe(true);
    expect(eventSelected(sel({}), 'daemon.heartbeat', {}, roles)).toBe(false);
    expect(eventSelected(sel({ types: ['daemon.'] }), 'daemon.heartbeat', {}, roles)).toBe(true);
  });
});

const instrument = (id: string, values: Record<string, number | string | boolean>, units: Record<string, string>): InstrumentView => ({
  id,
  driver: 'd',
  port: 'sim',
  state: 'ready',
  pollIntervalMs: 500,
  params: {},
  lastReading: { seq: 1, ts: '2026-11-23T06:55:03.858Z', values, units },
  lastError: null,
  polls: 1,
  pollErrors: 0,
});
const mod = (id: string, type: string, status: Record<string, unknown>, r: Record<string, string>): ModuleView => ({ id, type, state: 'running', roles: r, status });

describe('watch table', () => {
  const board = () => {
    const b = new Board(sel({}));
    b.loadInstruments([instrument('pm1', { power: 4.99e-4, power_unit: 'W' }, { power: 'W' }), instrument('chiller', { temperature: 22.6 }, { temperature: 'degC' })]);
    b.loadModules([
      mod('guard', 'interlock', { tripped: false, lastValue: 4.99e-4, unit: 'W' }, { sensor: 'pm1' }),
      mod('chill', 'monitor', { alarm: false, lastValue: 22.6, unit: 'degC', limits: 'low 15, high 25' }, { source: 'chiller' }),
      mod('ratio', 'derived', { output: 'ratio', lastValue: 0.99321 }, { a: 'pm1' }),
    ]);
    return b;
  };

  it('readings with units, modules with their status, 80 columns', () => {
    const lines = board().render(79);
    const text = lines.join('\n');
    expect(text).toMatch(/^INSTRUMENT\s+STATE\s+TIME\s+LAST READING$/m);
    expect(text).toMatch(/^pm1\s+ready\s+\d\d:\d\d:\d\d\s+power=499\.0 µW$/m);
    expect(text).toMatch(/^chiller\s+ready\s+\S+\s+temperature=22\.60 degC$/m);
    expect(text).toMatch(/^guard\s+interlock\s+running\s+ok 499\.0 µW$/m);
    expect(text).toMatch(/^chill\s+monitor\s+running\s+ok 22\.60 degC \(low 15, high 25\)$/m);
    expect(text).toMatch(/^ratio\s+derived\s+running\s+ratio = 0\.9932$/m);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(79);
  });

  it('events: readings, errors, a trip and an alarm show at once', () => {
    const b = board();
    expect(b.apply('reading', { instrument: 'pm1', seq: 2, ts: '2026-11-23T06:55:04.000Z', values: { power: 1.5e-3 }, units: { power: 'W' } })).toBe('changed');
    expect(b.apply('module.interlock', { module: 'guard', tripped: true, message: 'pm1.power = 0.0015 is above the limit 0.001' })).toBe('changed');
    expect(b.apply('module.alarm', { module: 'chill', active: true, message: 'temperature 26.1 above 25', value: 26.1 })).toBe('changed');
    expect(b.apply('instrument.state', { instrument: 'chiller', state: 'error', error: { kind: 'timeout', message: 'chiller: no reply' } })).toBe('changed');
    expect(b.apply('module.added', { module: 'new' })).toBe('refresh-modules');
    expect(b.apply('reading', { instrument: 'nope', values: {} })).toBe('changed'); // unfiltered: a new instrument's row
    const text = b.render(200).join('\n');
    expect(text).toMatch(/power=1\.500 mW/);
    expect(text).toMatch(/^guard\s+interlock\s+running\s+TRIPPED: pm1\.power = 0\.0015 is above the limit 0\.001$/m);
    expect(text).toMatch(/^chill\s+monitor\s+running\s+ALARM: temperature 26\.1 above 25/m);
    expect(text).toMatch(/^chiller\s+error\s+\S+\s+! chiller: no reply$/m);
  });

  it('an instrument filter keeps its rows and the modules that use it', () => {
    const b = new Board(sel({ instruments: new Set(['chiller']) }));
    b.loadInstruments([instrument('pm1', { power: 1 }, {}), instrument('chiller', { temperature: 20 }, { temperature: 'degC' })]);
    b.loadModules([mod('chill', 'monitor', { alarm: false }, { source: 'chiller' }), mod('ratio', 'derived', { output: 'r' }, { a: 'pm1' })]);
    const text = b.render(79).join('\n');
    expect(text).toContain('chiller');
    expect(text).not.toMatch(/^pm1/m);
    expect(text).toMatch(/^chill\s/m);
    expect(text).not.toMatch(/^ratio/m);
    expect(b.apply('reading', { instrument: 'pm1', values: { power: 2 } })).toBe('none');
  });
});

describe('live region', () => {
  const term = (columns: number, rows: number) => {
    const frames: string[] = [];
    return { frames, out: { columns, rows, write: (t: string) => frames.push(t) } };
  };

  it('redraws in place: up over the last frame, each line cleared to its end, never a screen clear', () => {
    const { frames, out } = term(80, 24);
    const region = new LiveRegion(out);
    region.draw(['a', 'b', 'c']);
    region.draw(['a', 'b']);
    expect(frames[0]).toBe('\x1b[?25l\ra\x1b[K\nb\x1b[K\nc\x1b[K\n\x1b[J');
    expect(frames[1]).toBe('\r\x1b[3Aa\x1b[K\nb\x1b[K\n\x1b[J');
    expect(frames.join('')).not.toContain('\x1b[2J');
    region.restore();
    region.restore();
    expect(frames.slice(2)).toEqual(['\x1b[?25h']);
  });

  it('never more lines than the screen minus one, never a line as wide as the screen', () => {
    const { frames, out } = term(40, 10);
    const region = new LiveRegion(out);
    region.draw(Array.from({ length: 30 }, (_, i) => `line ${i} ${'x'.repeat(60)}`));
    const lines = frames[0]!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/^\r/, '').split('\n').slice(0, -1);
    expect(lines).toHaveLength(9);
    expect(Math.max(...lines.map((l) => l.length))).toBe(39);
    expect(lines.at(-1)).toMatch(/^… 22 more lines/);
  });
});
