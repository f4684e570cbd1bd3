/**
 * The clock every simulated line paces its bytes by: one Node timer for all of them.
 *
 * Why: a simulated exchange waits twice (the request's line time, then the reply's), so 1000
 * simulators polled at 10 Hz with two exchanges a reading asked Node for 40,000 timers a second,
 * each with its promise and bookkeeping, paid by daqd and by the bare loop it is measured against
 * alike (issue #25). Here a wait is an entry in a 1 ms slot: the clock holds one timer, for the
 * earliest slot, and runs every slot that is due when it fires.
 *
 * Same guarantee as setTimeout: a callback never runs before its time (ms, performance.now()) and
 * always asynchronously. Callbacks of one slot run in the order they were added.
 */

type Callback = () => void;

export class LineClock {
  /** Slot (whole ms, rounded up) -> callbacks due in it. */
  private readonly slots = new Map<number, Callback[]>();
  /** The slots' keys, ascending (a handful: waits are milliseconds long). */
  private readonly keys: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerSlot = Infinity;
  /** Set while due slots run: waits they add are armed once, when the run ends. */
  private firing = false;

  /** Runs `fn` once `at` (performance.now() ms) has passed. */
  at(at: number, fn: Callback): void {
    // Due now (an unpaced line): the next turn of the loop, as the waits this replaced did.
    if (at - performance.now() < 0.5) {
      setImmediate(run, fn);
      return;
    }
    const slot = Math.ceil(at);
    let list = this.slots.get(slot);
    if (!list) {
      list = [];
      this.slots.set(slot, list);
      this.insertKey(slot);
    }
    list.push(fn);
    if (!this.firing && slot < this.timerSlot) this.arm(slot);
  }

  /** Callbacks waiting (for tests). */
  get pending(): number {
    let n = 0;
    for (const list of this.slots.values()) n += list.length;
    return n;
  }

  private insertKey(slot: number): void {
    const keys = this.keys;
    let i = keys.length;
    // Usually the latest slot: walk back from the end.
    while (i > 0 && keys[i - 1]! > slot) i--;
    keys.splice(i, 0, slot);
  }

  private arm(slot: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerSlot = slot;
    this.timer = setTimeout(this.fire, Math.max(0, slot - performance.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerSlot = Infinity;
    const now = performance.now();
    this.firing = true;
    // Slots added by the callbacks themselves (a reply scheduled by a request) land later: the
    // loop takes them only if they are due already.
    while (this.keys.length > 0 && this.keys[0]! <= now) {
      const slot = this.keys.shift()!;
      const list = this.slots.get(slot)!;
      this.slots.delete(slot);
      for (let i = 0; i < list.length; i++) run(list[i]!);
    }
    this.firing = false;
    if (this.keys.length > 0) this.arm(this.keys[0]!);
  };
}

/**
 * One line's failure must not take the other lines' bytes with it. Reported as the promise-based
 * waits this replaced reported it: an unhandled rejection, which daqd logs.
 */
function run(fn: Callback): void {
  try {
    fn();
  } catch (err) {
    void Promise.reject(err);
  }
}

/** The one clock of this process's simulated lines. */
export const lineClock = new LineClock();
