/**
 * A one-line spinner on stderr while daqctl waits for daqd (e.g. `add` waiting for the first
 * connection). Only on a terminal: off a terminal (a pipe, a log, a script) nothing is written, so
 * the output stays the answer alone.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const INTERVAL_MS = 100;

export interface SpinnerStream {
  isTTY?: boolean;
  write(text: string): boolean;
}

/** Starts the spinner; the returned function stops it and clears its line. */
export function startSpinner(text: string, stream: SpinnerStream = process.stderr, now: () => number = Date.now): () => void {
  if (!stream.isTTY) return () => {};
  const started = now();
  let frame = 0;
  const draw = () => {
    const seconds = Math.floor((now() - started) / 1000);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${text}${seconds > 0 ? ` ${seconds} s` : ''}`);
  };
  draw();
  const timer = setInterval(draw, INTERVAL_MS);
  return () => {
    clearInterval(timer);
    stream.write('\r\x1b[2K');
  };
}
