/**
 * The systemd status line is rebuilt in a timer after state changes. Building it reads
 * daemon.status(); if that throws, the throw must not escape the timer (it would end daqd): the
 * error is reported, the last line stands, and the next change tries again.
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/events.js';
import { StatusReporter, type StatusSink } from '../../src/services/systemd/status-line.js';

function sink() {
  const sent: string[] = [];
  let onSend: (() => void) | undefined;
  const s: StatusSink & { sent: string[]; next(): Promise<void> } = {
    sent,
    async send(fields) {
      sent.push(fields.STATUS!);
      onSend?.();
      return true;
    },
    next: () => new Promise<void>((r) => (onSend = r)),
  };
  return s;
}

const stateEvent = { type: 'instrument.state', instrument: 'pm1', state: 'ready', at: '2026-11-30T00:00:00.000Z' } as const;

describe('StatusReporter', () => {
  it('a line that cannot be built is reported, never thrown from its timer; the next change sends a line again', async () => {
    const events = new EventBus();
    const out = sink();
    let fail = true;
    const errors: unknown[] = [];
    let errored: (() => void) | undefined;
    const reporter = new StatusReporter(
      out,
      () => {
        if (fail) throw new Error('no module "off_watch"');
        return '1 instrument ready';
      },
      events,
      (err) => {
        errors.push(err);
        errored?.();
      },
      0,
    );
    try {
      const reported = new Promise<void>((r) => (errored = r));
      events.emit(stateEvent as never);
      await reported;
      expect(String(errors[0])).toContain('off_watch');
      expect(out.sent).toEqual([]);
      // current() (sent with READY=1 after a reload) keeps the last line rather than throwing.
      expect(reporter.current()).toBe('');
      fail = false;
      const sent = out.next();
      events.emit(stateEvent as never);
      await sent;
      expect(out.sent).toEqual(['1 instrument ready']);
    } finally {
      reporter.stop();
    }
  });
});
