/**
 * One answer for every request of a kind that the event loop read in one pass (issue 25: reads
 * within 2x of a bare server). Twenty scripts asking daemon.status in a loop each get the same
 * 2.5 kB answer; the loop reads their requests together (one epoll wake-up read ~20 of them, strace),
 * and building the answer, and checking its parts against the last one's, was a third of a request.
 *
 * Why the shared answer is never stale: it is made in the loop's check phase (setImmediate), after
 * the poll phase has read every request it answers and before any of them is answered. So it shows
 * the daemon at a moment after each of those requests arrived, as an answer made for each alone
 * would: a change a client saw finish before it asked is in it. A request read later waits for the
 * next pass. The cost is one loop turn to the answer (microseconds), and answers on a connection
 * come in completion order (as the protocol says), so a status asked before a get may come after it.
 * Tests with fake timers that fake setImmediate (vitest's default) must advance them to get an answer.
 */
export class AnswerBatch<T> {
  private waiting: { resolve: (value: T) => void; reject: (err: unknown) => void }[] = [];

  constructor(private readonly make: () => T) {}

  /** The answer made for this pass of the event loop (see the header). */
  next(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.waiting.push({ resolve, reject }) === 1) setImmediate(this.answer);
    });
  }

  private readonly answer = (): void => {
    const waiting = this.waiting;
    this.waiting = [];
    let value: T;
    try {
      value = this.make();
    } catch (err) {
      for (const w of waiting) w.reject(err);
      return;
    }
    for (const w of waiting) w.resolve(value);
  };
}
