/** Option helpers shared by daqctl's commands. */
import { UsageError } from '../exit.js';

/** Repeatable options: --param a=1 --param b=2. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** How long add / enable / restart wait for the connection by default, in seconds. */
export const DEFAULT_WAIT_S = 10;
/** daqctl stops waiting this long after daqd should have answered (a daqd that never does). */
export const ANSWER_GRACE_MS = 5000;

export function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_S;
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s <= 0 || s > 600) throw new UsageError(`--timeout takes seconds, a number above 0 and at most 600 (got "${text}")`);
  return s;
}

/** `{persist: false}` for --no-persist, else nothing (daqd's default is to persist). */
export function noPersist(o: { persist?: boolean }): { persist?: false } {
  return o.persist === false ? { persist: false } : {};
}
