/** The simulators' command logs: bounded by default, and none at all for the daemon's own devices. */
import { describe, expect, it } from 'vitest';
import { RECENT_LIMIT, keepRecent, pushRecent } from '../../src/drivers/common/recent.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';

describe('recent logs', () => {
  it('keeps at most twice the limit, the newest last', () => {
    const log: number[] = [];
    for (let i = 0; i < 5 * RECENT_LIMIT; i++) pushRecent(log, i);
    expect(log.length).toBeLessThanOrEqual(2 * RECENT_LIMIT);
    expect(log.length).toBeGreaterThanOrEqual(RECENT_LIMIT);
    expect(log.at(-1)).toBe(5 * RECENT_LIMIT - 1);
  });

  it('a log given its own limit keeps to it; 0 keeps nothing', () => {
    const small: number[] = [];
    keepRecent(small, 3);
    for (let i = 0; i < 10; i++) pushRecent(small, i);
    expect(small.length).toBeLessThanOrEqual(6);
    const none = [1, 2];
    keepRecent(none, 0);
    pushRecent(none, 3);
    expect(none).toEqual([]);
  });

  it('a simulator told to keep no log answers as before and remembers nothing', () => {
    const sim = new Newport1830cSimulator({});
    const replies: string[] = [];
    sim.onSend((b) => replies.push(b.toString('latin1')));
    sim.receive(Buffer.from('U?\n'));
    expect(sim.received).toEqual(['U?']);
    sim.keepReceived(0);
    expect(sim.received).toEqual([]);
    sim.receive(Buffer.from('U?\n'));
    expect(sim.received).toEqual([]);
    expect(replies).toEqual(['1\n', '1\n']);
  });
});
