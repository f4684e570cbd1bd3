/**
 * Request/reply helpers for line-based ASCII protocols (most lab instruments): commands end with a
 * terminator, replies are one line.
 */
import type { Exchange, Link } from '../../transport/types.js';
import { lineReply } from '../../transport/framing.js';

export interface LineOptions {
  /** Appended to every command. */
  writeTerminator: string;
  /** Ends every reply. */
  readTerminator: string;
  timeoutMs?: number;
}

const frameToText = (frame: Buffer | undefined): string => (frame ? frame.toString('latin1') : '');

/** Distinct queries kept ready-made per channel (a poll repeats the same few; sets vary). */
const CACHED_QUERIES = 64;

export class LineChannel {
  private readonly matcher;
  /** query text -> its exchange, bytes encoded once: a poll allocates no strings or buffers to ask. */
  private readonly queries = new Map<string, Exchange>();

  constructor(
    private readonly link: Link,
    private readonly options: LineOptions,
  ) {
    this.matcher = lineReply(options.readTerminator);
  }

  /** Sends `command` and returns the reply line (without terminator). */
  query(command: string, timeoutMs?: number): Promise<string> {
    // A plain promise chain, not an async function: polls call this twice a reading.
    return this.link.request(timeoutMs === undefined ? this.queryExchange(command) : this.exchange(command, timeoutMs)).then(frameToText);
  }

  private queryExchange(command: string): Exchange {
    let exchange = this.queries.get(command);
    if (!exchange) {
      if (this.queries.size >= CACHED_QUERIES) this.queries.clear();
      exchange = this.exchange(command, this.options.timeoutMs);
      this.queries.set(command, exchange);
    }
    return exchange;
  }

  private exchange(command: string, timeoutMs: number | undefined): Exchange {
    return {
      write: Buffer.from(command + this.options.writeTerminator, 'latin1'),
      reply: this.matcher,
      label: command,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
  }

  /** Sends a command that gets no reply. */
  async send(command: string, settleMs?: number): Promise<void> {
    await this.link.request({ write: command + this.options.writeTerminator, label: command, settleMs });
  }
}

/**
 * Splits a byte stream into lines on the device side (simulators): feed chunks, get whole lines.
 * With the default "\n" terminator a CR before the LF is dropped too (CR LF hosts).
 */
export class LineSplitter {
  private partial = '';

  constructor(private readonly terminator: string = '\n') {}

  push(chunk: Buffer): string[] {
    this.partial += chunk.toString('latin1');
    const lines: string[] = [];
    let at: number;
    while ((at = this.partial.indexOf(this.terminator)) >= 0) {
      let line = this.partial.slice(0, at);
      if (this.terminator === '\n' && line.endsWith('\r')) line = line.slice(0, -1);
      lines.push(line);
      this.partial = this.partial.slice(at + this.terminator.length);
    }
    if (this.partial.length > 4096) this.partial = ''; // a device's input buffer overflows, so does ours
    return lines;
  }
}
