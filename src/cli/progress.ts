/**
 * A wait on daqd that may take a while (a set that moves a stage, an add/enable/restart waiting
 * for a connection): a spinner after PROGRESS_DELAY_MS on a terminal, and Ctrl-C (SIGINT) or
 * SIGTERM cancels it. `cancel` undoes what it can (a set sends instrument.abort) and returns what
 * happened; the command then ends with "aborted: ..." and exit 1. A second Ctrl-C while the cancel
 * runs exits at once.
 */
import { Failure } from './exit.js';
import { startSpinner } from './spinner.js';

/** Operations answered faster than this show no spinner. */
export const PROGRESS_DELAY_MS = 300;

export function withProgress<T>(text: string, work: Promise<T>, cancel: () => Promise<string>): Promise<T> {
  const stop = startSpinner(text, process.stderr, Date.now, PROGRESS_DELAY_MS);
  const signals = ['SIGINT', 'SIGTERM'] as const;
  let onSignal: () => void = () => {};
  return new Promise<T>((resolve, reject) => {
    // Once cancelled, the outcome is the cancel's to tell (the work's failure is expected then).
    let cancelling = false;
    work.then(
      (v) => cancelling || resolve(v),
      (e: unknown) => cancelling || reject(e),
    );
    onSignal = () => {
      cancelling = true;
      stop();
      for (const s of signals) process.off(s, onSignal);
      // Impatience: a second Ctrl-C does not wait for the cancel's answer.
      const again = () => {
        process.stderr.write('daqctl: aborted\n');
        process.exit(1);
      };
      for (const s of signals) process.once(s, again);
      cancel().then(
        (what) => reject(new Failure(`aborted: ${what}`)),
        (err: Error) => reject(new Failure(`aborted (${err.message})`)),
      );
    };
    for (const s of signals) process.once(s, onSignal);
  }).finally(() => {
    stop();
    for (const s of signals) process.off(s, onSignal);
  });
}
