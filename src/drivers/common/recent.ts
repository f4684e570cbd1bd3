/** Entries a simulator keeps of what it received (tests read them; a months-long `sim` run must not grow). */
export const RECENT_LIMIT = 1000;

/** Push onto a log that keeps only the most recent entries (trimmed in batches, so pushes stay O(1)). */
export function pushRecent<T>(log: T[], item: T, limit = RECENT_LIMIT): void {
  if (limit <= 0) return;
  log.push(item);
  if (log.length > 2 * limit) log.splice(0, log.length - limit);
}
