/**
 * Time for modules: the current time and one-shot timers. Modules take it from their context
 * (ModuleContext.clock) so unit tests drive time by hand with a fake clock instead of sleeping;
 * daqd gives them the real one.
 */

/** An opaque timer handle: only the clock that made it knows what it is. */
export type TimerHandle = unknown;

export interface ModuleClock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
  /** Calls `callback` once after `delayMs`. The timer never keeps the process alive. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Node's timers stop working above this (a longer delay fires at once). */
const MAX_TIMER_MS = 2_147_483_647;

/** The real clock. It reads Date.now and setTimeout at each call, so vitest's fake timers apply. */
export const realClock: ModuleClock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref?.();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
