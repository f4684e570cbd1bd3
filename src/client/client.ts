/**
 * A small JSON-RPC client for the daqd socket, used by daqctl and by the tests. Requests are
 * matched to responses by id (they may come back out of order); notifications go to listeners.
 */
import { createConnection, type Socket } from 'node:net';

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly data: { kind: string; [key: string]: unknown },
  ) {
    super(message);
    this.name = 'RpcError';
  }

  get kind(): string {
    return this.data?.kind;
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
export type NotificationListener = (method: string, params: any) => void;

/** A failed connect: the message for a person, `code` (ENOENT, ECONNREFUSED, EACCES, ...) for a program. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

export class DaqClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<NotificationListener>();
  private readonly closeListeners = new Set<(err: Error) => void>();
  private buffer = '';
  private closedError: Error | null = null;
  private closedByUs = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.failAll(new Error('daqd closed the connection')));
    socket.on('error', (err) => this.failAll(err));
  }

  static connect(path: string): Promise<DaqClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new DaqClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `is daqd running? (no socket at ${path})` : err.message;
        reject(new ConnectError(`cannot connect to daqd: ${why}`, path, err.code));
      });
    });
  }

  /**
   * One request. `timeoutMs`: give up waiting after that long (the request may still complete in
   * daqd; only this client stops waiting), rejecting with an Error that says so.
   */
  call<T = any>(method: string, params?: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const request = { jsonrpc: '2.0', method, id, ...(params === undefined ? {} : { params }) };
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = <A>(settle: (a: A) => void) => (a: A) => {
        if (timer) clearTimeout(timer);
        settle(a);
      };
      this.pending.set(id, { resolve: done(resolve as (v: unknown) => void), reject: done(reject) });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`no answer from daqd to ${method} within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.socket.write(JSON.stringify(request) + '\n');
    });
  }

  /** Send a raw line (tests use this for malformed input). */
  sendRaw(line: string): void {
    this.socket.write(line);
  }

  onNotification(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * `listener` runs once when the connection ends without close() having been called (daqd
   * stopped, the socket broke), with the reason.
   */
  onClose(listener: (err: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.closedByUs = true;
    this.socket.end();
    this.socket.destroy();
  }

  /** Raw responses without an id (parse errors) go here. */
  readonly orphanResponses: unknown[] = [];

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) this.onMessage(JSON.parse(line));
    }
  }

  private onMessage(msg: any): void {
    if (Array.isArray(msg)) return msg.forEach((m) => this.onMessage(m));
    if (msg.method !== undefined && msg.id === undefined) {
      for (const l of this.listeners) l(msg.method, msg.params);
      return;
    }
    const pending = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (!pending) {
      this.orphanResponses.push(msg);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.error) pending.reject(new RpcError(msg.error.message, msg.error.code, msg.error.data));
    else pending.resolve(msg.result);
  }

  private failAll(err: Error): void {
    const first = this.closedError === null;
    this.closedError ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (first && !this.closedByUs) for (const l of this.closeListeners) l(err);
  }
}

/**
 * The socket path the tests and benchmarks use when none is given: the daemon's own default
 * relative to the current directory. daqctl looks further (src/cli/socket-path.ts).
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAQD_SOCKET) return env.DAQD_SOCKET;
  return `${env.DAQD_STATE_DIR ?? '.daq'}/daqd.sock`;
}
