import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { failure } from '../helpers/errors.js';
import { reading, startInProcess, type InProcess } from './helpers.js';
import type { DaemonEvent } from '../../src/core/events.js';

type ReadingEvent = Extract<DaemonEvent, { type: 'reading' }>;

const BASE = `
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm1.params]
wavelength_nm = 800

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 50

[instruments.laser.params]
shutter = false
`;

let d: InProcess | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

describe('the one apply path', () => {
  it('starts every instrument from the file and polls them', async () => {
    d = await startInProcess(BASE);
    await d.waitFor(reading('pm1'), 5000, 'a pm1 reading');
    await d.waitFor(reading('laser'), 5000, 'a laser reading');
    expect(d.daemon.listInstruments().map((i) => [i.id, i.state])).toEqual([
      ['pm1', 'ready'],
      ['laser', 'ready'],
    ]);
  });

  it('a set of several params that fails on the second undoes the first on the device', async () => {
    d = await startInProcess(BASE);
    await d.waitFor(reading('laser'), 5000, 'a laser reading');
    // emission=true is refused by the driver (shutter open) after wavelength was already written.
    await d.daemon.submit({ type: 'instrument.set', id: 'laser', params: { shutter: true } }, 'test');
    const err = await failure(d.daemon.submit({ type: 'instrument.set', id: 'laser', params: { wavelength_nm: 900, emission: true } }, 'test'));
    expect(err.kind).toBe('unsafe');
    const laser = d.daemon.getInstrument('laser');
    expect(laser.params.wavelength_nm).not.toBe(900); // restored on the device
    expect(d.daemon.config.instruments?.laser?.params?.wavelength_nm).toBeUndefined(); // config unchanged
    const next = await d.waitFor((e) => e.type === 'reading' && e.instrument === 'laser' && e.seq > (laser.lastReading?.seq ?? 0), 5000, 'a fresh laser reading');
    expect((next as { values: Record<string, unknown> }).values.wavelength_nm).toBe(800);
  });

  it('refuses a whole change when any part is invalid, and changes nothing', async () => {
    d = await startInProcess(BASE);
    const before = readFileSync(d.configPath, 'utf8');
    const err = await failure(d.daemon.submit({ type: 'instrument.add', id: 'bad', config: { driver: 'newport_1830c', port: 'sim', poll_intervall_ms: 5 } }, 'test'));
    expect(err.kind).toBe('validation_failed');
    expect(err.message).toMatch(/instruments\.bad\.poll_intervall_ms/);
    expect(d.daemon.listInstruments().map((i) => i.id)).toEqual(['pm1', 'laser']);
    expect(readFileSync(d.configPath, 'utf8')).toBe(before);
  });

  it('runs commands one at a time in arrival order, none dropped', async () => {
    d = await startInProcess(BASE);
    await d.waitFor(reading('pm1'));
    const values = Array.from({ length: 20 }, (_, i) => 500 + i * 10);
    const results = await Promise.all(values.map((v) => d!.daemon.submit({ type: 'instrument.set', id: 'pm1', params: { wavelength_nm: v }, persist: false }, 'test')));
    expect(results.map((r) => (r.params as Record<string, number>).wavelength_nm)).toEqual(values);
    expect(d.daemon.getInstrument('pm1').params.wavelength_nm).toBe(values.at(-1));
  });

  it('a shorter poll interval takes effect without a restart or a burst', async () => {
    d = await startInProcess(BASE.replace(/poll_interval_ms = 50/, 'poll_interval_ms = 400'));
    const first = await d.waitFor(reading('pm1'));
    await d.daemon.submit({ type: 'instrument.set', id: 'pm1', params: { poll_interval_ms: 40 }, persist: false }, 'test');
    const isLater = (e: DaemonEvent): e is ReadingEvent => reading('pm1')(e) && e.seq >= first.seq + 6;
    const after = await d.waitFor(isLater, 5000, 'six more readings');
    const ts = d.events.filter(reading('pm1')).filter((e) => e.seq > first.seq && e.seq <= after.seq).map((e) => Date.parse(e.ts));
    const span = ts.at(-1)! - ts[0]!;
    // Polls start at most once per 40 ms (interval measured start to start); readings are stamped
    // when a poll ends, so poll durations (about 20 ms at 9600 baud, more under load) blur each
    // stamp by up to one interval. Back-to-back polls (a burst) would span ~5 x 20 ms = 100 ms.
    // And far less than the old 400 ms interval would take: the new one is in effect.
    expect(span).toBeGreaterThanOrEqual(5 * 40 - 40);
    expect(span).toBeLessThan(6 * 400);
    expect(d.daemon.getInstrument('pm1').polls).toBeGreaterThanOrEqual(after.seq); // the same actor kept counting
  });

  it('stopping an instrument releases its port at once: re-adding it on the same bus works', async () => {
    d = await startInProcess(`[instruments.a]\ndriver = "ell14"\nport = "sim:bus"\naddress = "2"\npoll_interval_ms = 50\n`);
    await d.waitFor(reading('a'));
    await d.daemon.submit({ type: 'instrument.remove', id: 'a', persist: false }, 'test');
    expect(d.events.some((e) => e.type === 'instrument.state' && e.instrument === 'a' && e.state === 'stopped')).toBe(true);
    await d.daemon.submit({ type: 'instrument.add', id: 'a', config: { driver: 'ell14', port: 'sim:bus', address: '2', poll_interval_ms: 50 }, persist: false }, 'test');
    const since = d.events.length;
    await d.waitFor((e) => d!.events.indexOf(e) >= since && e.type === 'reading' && e.instrument === 'a', 5000, 'a reading from the re-added mount');
  });
});
