/**
 * A line-level socket client for protocol tests: it writes exactly the bytes a test gives it
 * (malformed JSON, oversized lines, hand-made ids) and keeps every line daqd sends back, parsed,
 * so a test can wait for the one it expects. DaqClient is the right tool for everything else.
 */
import { createConnection, type Socket } from 'node:net';
import { waitUntil } from '../helpers/daemon.js';

export interface RpcMessage {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data: { kind: string; [k: string]: unknown } };
}

export class RawClient {
  readonly messages: RpcMessage[] = [];
  private buffer = '';
  private closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes the text as is (add the newline yourself to end a line). */
  write(text: string): void {
    this.socket.write(text);
  }

  /** Writes one JSON-RPC 2.0 request line. */
  request(id: string | number, method: string, params?: unknown): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) + '\n');
  }

  /** The response with this id (waits for it). */
  response(id: string | number | null, timeoutMs = 5000): Promise<RpcMessage> {
    return this.waitFor((m) => m.method === undefined && m.id === id, timeoutMs, `the response with id ${JSON.stringify(id)}`);
  }

  waitFor(predicate: (m: RpcMessage) => boolean, timeoutMs = 5000, what = 'a message'): Promise<RpcMessage> {
    return waitUntil(
      () => {
        const found = this.messages.find(predicate);
        if (!found && this.closed) throw new Error(`daqd closed the connection while the test waited for ${what}`);
        return found;
      },
      timeoutMs,
      what,
    );
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) this.messages.push(JSON.parse(line) as RpcMessage);
    }
  }
}
