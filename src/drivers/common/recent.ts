/** Entries a simulator keeps of what it received (tests read them; a months-long `sim` run must not grow). */
export const RECENT_LIMIT = 1000;

/** Logs given their own limit (keepRecent); every other log keeps RECENT_LIMIT entries. */
const limits = new WeakMap<object, number>();

/**
 * Sets how many entries `log` keeps from now on; 0 keeps none (and empties it). The daemon's own
 * `sim` devices keep none: nobody reads their command log, and 1000 simulated meters each holding
 * 2000 strings were most of a fleet's heap (issue #25).
 */
export function keepRecent(log: unknown[], limit: number): void {
  limits.set(log, limit);
  if (limit <= 0) log.length = 0;
}

/** Push onto a log that keeps only the most recent entries (trimmed in batches, so pushes stay O(1)). */
export function pushRecent<T>(log: T[], item: T, limit = limits.get(log) ?? RECENT_LIMIT): void {
  if (limit <= 0) return;
  log.push(item);
  if (log.length > 2 * limit) log.splice(0, log.length - limit);
}
