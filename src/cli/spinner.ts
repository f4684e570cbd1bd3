/**
 * A one-line spinner on stderr while daqctl waits for daqd (a set that moves a stage, an add
 * waiting for the first connection). Only on a terminal: off a terminal (a pipe, a log, a script)
 * nothing is written, so the output stays the answer alone. With `delayMs` it appears only if the
 * wait lasts that long: a quick answer never flickers a spinner.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const INTERVAL_MS = 100;

export interface SpinnerStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/** Starts the spinner; the returned function stops it and clears its line (if it drew one). */
export function startSpinner(text: string, stream: SpinnerStream = process.stderr, now: () => number = Date.now, delayMs = 0): () => void {
  if (!stream.isTTY) return () => {};
  const started = now();
  let frame = 0;
  let drawn = false;
  // Cut to the terminal's width: a wrapped spinner line could not be cleared with \r.
  const width = Math.max(10, (stream.columns ?? 80) - 1);
  const draw = () => {
    const seconds = Math.floor((now() - started) / 1000);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${text}${seconds > 0 ? ` ${seconds} s` : ''} (Ctrl-C to abort)`;
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    drawn = true;
  };
  let timer: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    draw();
    timer = setInterval(draw, INTERVAL_MS);
  }, delayMs);
  if (delayMs <= 0) {
    clearTimeout(delay);
    draw();
    timer = setInterval(draw, INTERVAL_MS);
  }
  return () => {
    clearTimeout(delay);
    if (timer) clearInterval(timer);
    if (drawn) stream.write('\r\x1b[2K');
  };
}
