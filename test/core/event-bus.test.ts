/**
 * The daemon's event fan-out: a listener gets the types it asked for and nothing else, delivery
 * keeps subscription order across typed and untyped listeners, one that throws is reported with
 * its owner while the rest still get the event, and one unsubscribed during an emit is skipped.
 */
import { describe, expect, it } from 'vitest';
import { EventBus, type DaemonEvent } from '../../src/core/events.js';

const reading = (instrument: string, seq: number): DaemonEvent => ({ type: 'reading', instrument, seq, ts: '2026-11-30T00:00:00.000Z', values: { power: seq } });
const added = (instrument: string): DaemonEvent => ({ type: 'instrument.added', instrument });

describe('EventBus', () => {
  it('calls a listener only for the types it asked for', () => {
    const bus = new EventBus();
    const states: string[] = [];
    const all: string[] = [];
    bus.subscribe((e) => states.push(e.type), { types: ['instrument.added'] });
    bus.subscribe((e) => all.push(e.type));
    bus.emit(reading('pm', 1));
    bus.emit(added('pm'));
    bus.emit(reading('pm', 2));
    expect(states).toEqual(['instrument.added']);
    expect(all).toEqual(['reading', 'instrument.added', 'reading']);
    expect(bus.wants('reading')).toBe(true);
    expect(bus.size).toBe(2);
  });

  it('delivers in subscription order, typed and untyped alike', () => {
    const bus = new EventBus();
    const order: string[] = [];
    bus.subscribe(() => order.push('a:all'));
    bus.subscribe(() => order.push('b:reading'), { types: ['reading'] });
    bus.subscribe(() => order.push('c:all'));
    bus.subscribe(() => order.push('d:reading'), { types: ['reading', 'reading'] });
    bus.emit(reading('pm', 1));
    expect(order).toEqual(['a:all', 'b:reading', 'c:all', 'd:reading']);
  });

  it('reports a listener that throws, with its owner, and the others still get the event', () => {
    const failures: [string, string][] = [];
    const bus = new EventBus((err, owner) => failures.push([owner, (err as Error).message]));
    const got: number[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    }, { owner: 'recorder', types: ['reading'] });
    bus.subscribe((e) => got.push((e as { seq: number }).seq), { types: ['reading'] });
    bus.emit(reading('pm', 7));
    expect(failures).toEqual([['recorder', 'boom']]);
    expect(got).toEqual([7]);
  });

  it('skips a listener unsubscribed by an earlier one during the same emit, and unsubscribing twice is harmless', () => {
    const bus = new EventBus();
    const got: string[] = [];
    let offB = () => {};
    bus.subscribe(() => {
      got.push('a');
      offB();
    });
    offB = bus.subscribe(() => got.push('b'));
    bus.emit(added('x'));
    offB();
    bus.emit(added('y'));
    expect(got).toEqual(['a', 'a']);
    expect(bus.size).toBe(1);
    expect(bus.wants('reading')).toBe(true);
  });

  it('nobody wants a type once its last listener is gone', () => {
    const bus = new EventBus();
    const off = bus.subscribe(() => {}, { types: ['reading'] });
    expect(bus.wants('reading')).toBe(true);
    expect(bus.wants('module.alarm')).toBe(false);
    off();
    expect(bus.wants('reading')).toBe(false);
  });
});
