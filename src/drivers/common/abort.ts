/**
 * Abort plumbing shared by drivers with long operations (moves): the error a person sees when a
 * set was aborted, and a pause that ends early when the set's signal fires.
 */
import { DaqError } from '../../errors.js';

/** `message` says what was aborted and where it stopped ("stage: move of axis 2 to 20 mm aborted at 7.3 mm"). */
export function abortedError(message: string, details?: Record<string, unknown>): DaqError {
  return new DaqError('aborted', message, details ? { details } : {});
}

/** Waits `ms`, or less if `signal` fires first (the caller checks `signal.aborted` next). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Calls `onAbort` once if `signal` fires while `work` runs; returns `work`'s result either way. */
export async function whileListening<T>(signal: AbortSignal | undefined, onAbort: () => void, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
