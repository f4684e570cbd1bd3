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

/**
 * `clock` for one module, whose timer callbacks cannot throw out of the timer: a throw there would
 * be uncaught and end daqd, taking every other module (every other interlock) with it. A failure
 * is reported instead (the supervisor logs it under the module, as it does a failed event
 * handler), and the module goes on with its next event or timer.
 */
export function guardedClock(clock: ModuleClock, onError: (err: unknown) => void): ModuleClock {
  return {
    now: () => clock.now(),
    setTimer: (callback, delayMs) =>
      clock.setTimer(() => {
        try {
          callback();
        } catch (err) {
          onError(err);
        }
      }, delayMs),
    clearTimer: (handle) => clock.clearTimer(handle),
  };
}
