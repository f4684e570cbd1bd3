/**
 * Logs an instrument's repeated failures the way a person reads a log (issue #17): the first
 * failure in full, then the same failure only as a count at most once a minute ("still failing:
 * ... (37 times since 10:02:11)"), a different failure at once, and the recovery once. A device
 * that never answers used to write a line every few seconds forever, and a saturated meter 73
 * lines in 30 s.
 */
import type { Logger } from 'pino';

export const REPEAT_SUMMARY_MS = 60_000;

interface Episode {
  key: string;
  message: string;
  since: number;
  count: number;
  /** Failures since the last line written. */
  unlogged: number;
  lastLoggedAt: number;
}

const clock = (now: number) => new Date(now).toISOString().slice(11, 19);

export class FailureLog {
  private episode: Episode | null = null;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A failure: `key` says which failures are "the same" (the error kind and message). */
  failed(kind: string, message: string, fields: Record<string, unknown> = {}): void {
    const key = `${kind}\u0000${message}`;
    const now = this.now();
    const e = this.episode;
    if (e && e.key === key) {
      e.count++;
      e.unlogged++;
      if (now - e.lastLoggedAt >= REPEAT_SUMMARY_MS) {
        this.log.warn({ kind, ...fields, times: e.count }, `still failing: ${message} (${e.count} times since ${clock(e.since)})`);
        e.lastLoggedAt = now;
        e.unlogged = 0;
      }
      return;
    }
    if (e && e.unlogged > 0) this.log.warn({ times: e.count }, `stopped failing with: ${e.message} (${e.count} times since ${clock(e.since)})`);
    this.episode = { key, message, since: now, count: 1, unlogged: 0, lastLoggedAt: now };
    this.log.warn({ kind, ...fields }, message);
  }

  /** It works again: say so once, with how long it failed. */
  recovered(what: string): void {
    const e = this.episode;
    if (!e) return;
    this.episode = null;
    this.log.info({ times: e.count }, `${what} again after ${e.count} failure${e.count === 1 ? '' : 's'} since ${clock(e.since)} (last: ${e.message})`);
  }
}
