/**
 * Every instrument records into a directory of its own: an instrument named `events` cannot share
 * the events file's directory, nor the directory of an instrument named after its replacement.
 */
import { describe, expect, it } from 'vitest';
import { instrumentDirName } from '../../src/services/recorder/csv.js';

describe('instrumentDirName', () => {
  it('gives distinct ids distinct directories, none of them the events file\'s', () => {
    const ids = ['events', '_instrument_events', '__instrument_events', '___instrument_events', 'instrument_events', '_events', 'pm1', 'Events', 'events_'];
    const dirs = ids.map(instrumentDirName);
    expect(new Set(dirs).size).toBe(ids.length);
    expect(dirs).not.toContain('events');
    // Every other id keeps its own name (existing data stays where it is).
    expect(dirs.slice(4)).toEqual(ids.slice(4));
    expect(instrumentDirName('events')).toBe('_instrument_events');
  });
});
