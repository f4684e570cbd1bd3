/**
 * The expensive half of daemon.status, kept between calls (issue 25: reads within 2x of a bare
 * server). Scripts and dashboards ask daemon.status in loops; its aggregate parts (instrument counts,
 * trouble, ports, safe mode, overrides) are built from a view of every instrument and module, about
 * 100 µs on the shipped bench, and are almost always what they were a moment ago.
 *
 * The last aggregate is reused only while nothing it is made of can have changed:
 * - no event on the daemon's bus since it was built (instrument states and errors, readings, which
 *   carry device values and so drift, module states, alarms and interlocks, config, reload, persist
 *   and transaction events are all on it);
 * - the same keys (running config, desired model, revision, last reload: compared by identity);
 * - not older than MAX_AGE_MS by the wall clock (parts computed from "now" when asked: module
 *   staleness, the config file check), so a caller never sees an aggregate older than that.
 * The cheap parts (uptime, queue, persistence, services' sources, socket clients) are read fresh
 * on every call by the caller.
 */
import type { EventBus } from './events.js';

/** How old (wall clock, ms) a reused aggregate may be at most. */
export const STATUS_MAX_AGE_MS = 20;

export class StatusMemo<T> {
  private value: T | undefined;
  private keys: readonly unknown[] = [];
  private at = 0;
  private changed = true;

  constructor(events: EventBus) {
    // Never unsubscribed: the memo lives exactly as long as the daemon that owns the bus.
    events.subscribe(
      () => {
        this.changed = true;
      },
      { owner: 'daemon.status' },
    );
  }

  /** The aggregate for these keys: the last one when still valid, else `compute()`'s. */
  get(keys: readonly unknown[], now: number, compute: () => T): T {
    if (this.value !== undefined && !this.changed && now >= this.at && now - this.at <= STATUS_MAX_AGE_MS && sameKeys(keys, this.keys)) {
      return this.value;
    }
    // Cleared before computing: an event emitted while the views are built marks it changed again.
    this.changed = false;
    const value = compute();
    this.value = value;
    this.keys = keys;
    this.at = now;
    return value;
  }
}

/** Whether two key lists hold the same values and objects, element by element. */
export function sameKeys(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const memos = new WeakMap<EventBus, StatusMemo<unknown>>();

/** The memo of the daemon that owns `events` (one per daemon; made on its first status). */
export function statusMemoOf<T>(events: EventBus): StatusMemo<T> {
  let memo = memos.get(events);
  if (!memo) {
    memo = new StatusMemo<unknown>(events);
    memos.set(events, memo);
  }
  return memo as StatusMemo<T>;
}
