/**
 * A block of lines redrawn in place at the bottom of the terminal, for `daqctl watch`.
 *
 * Why not clear the screen (ESC[H ESC[2J) at each redraw: most terminals and tmux push the
 * cleared screen into the scrollback, four times a second. Instead: move the cursor up over the
 * lines drawn last time, rewrite each one and clear the rest of it (ESC[K), then clear below
 * (ESC[J) in case the block got shorter. Nothing scrolls as long as the block fits the screen
 * and no line wraps, so both are enforced here: at most rows - 1 lines (the cursor rests on the
 * last row), each at most columns - 1 characters (a line that fills the last column leaves the
 * cursor in a "pending wrap" state some terminals resolve differently).
 *
 * The cursor is hidden while drawing; restore() shows it again and must run on every exit path.
 */
import { cutTo } from '../format.js';

export interface TerminalOut {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

const HIDE_CURSOR = '\x1b[?25l';
export const SHOW_CURSOR = '\x1b[?25h';

export class LiveRegion {
  /** Lines drawn last time: the cursor is at the start of the line below them. */
  private drawn = 0;
  private hidden = false;

  constructor(private readonly out: TerminalOut) {}

  /** The width lines are cut to. */
  get width(): number {
    return Math.max(20, (this.out.columns ?? 80) - 1);
  }

  private get height(): number {
    return Math.max(2, (this.out.rows ?? 24) - 1);
  }

  draw(lines: readonly string[]): void {
    const width = this.width;
    let body = lines.map((l) => cutTo(l, width));
    if (body.length > this.height) {
      const hidden = body.length - this.height + 1;
      body = [...body.slice(0, this.height - 1), cutTo(`… ${hidden} more line${hidden === 1 ? '' : 's'}: a taller terminal, or daqctl watch ID... / --module ID`, width)];
    }
    // CUU with 0 would move one line up in some terminals: only when there is something to go over.
    let frame = (this.hidden ? '' : HIDE_CURSOR) + '\r' + (this.drawn > 0 ? `\x1b[${this.drawn}A` : '');
    for (const line of body) frame += `${line}\x1b[K\n`;
    frame += '\x1b[J';
    this.hidden = true;
    this.drawn = body.length;
    this.out.write(frame);
  }

  /** Leaves the last frame on screen, the cursor below it and visible. Safe to call twice. */
  restore(): void {
    if (!this.hidden) return;
    this.hidden = false;
    this.out.write(SHOW_CURSOR);
  }

  get cursorHidden(): boolean {
    return this.hidden;
  }
}
