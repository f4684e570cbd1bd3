/**
 * ByteTransport over a TCP connection (`port = "tcp://host:port"`, issue #24): a raw SCPI socket
 * (Keysight, Keithley, R&S: port 5025) or a serial device server (ser2net, Moxa NPort, Lantronix)
 * that carries an RS-232/RS-485 line as raw bytes.
 *
 * Behaves like SerialTransport so QueuedLink, PortHub and the instrument actor need nothing new:
 * - open() connects (no-delay, keepalive) within a connect timeout; a refused, unreachable or
 *   unresolvable address fails open() (`port_error`, or `port_not_found` for a name that does not
 *   resolve), and the instrument actor retries with its capped backoff, as for an unplugged adapter;
 * - a connection that ends (the server closed it, was killed, reset it) is reported once through
 *   onClose(err), like an unplug: QueuedLink fails the exchanges in flight with `disconnected` and
 *   the next request (the actor's reconnect) opens a fresh connection;
 * - close() is deliberate and reports no error.
 * Each open() makes a new socket: a socket that ended cannot be reused.
 */
import { Socket } from 'node:net';
import { DaqError, describeError } from '../errors.js';
import type { ByteTransport } from './types.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  /** How long a connect may take before open() fails (ms). */
  connectTimeoutMs?: number;
  /** Idle time before the first TCP keepalive probe (ms). */
  keepAliveMs?: number;
  description?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;
export const DEFAULT_KEEPALIVE_MS = 5000;
/** A deliberate close waits this long for the server's FIN before dropping the socket. */
const CLOSE_GRACE_MS = 250;

interface Session {
  socket: Socket;
  closed: Promise<void>;
  reported: boolean;
  closingOnPurpose: boolean;
}

export class TcpTransport implements ByteTransport {
  readonly description: string;
  readonly host: string;
  readonly port: number;
  private readonly connectTimeoutMs: number;
  private readonly keepAliveMs: number;
  private session: Session | undefined;
  private opening: Promise<void> | undefined;
  private dataListener: (chunk: Buffer) => void = () => {};
  private closeListener: (err?: Error) => void = () => {};

  constructor(options: TcpTransportOptions) {
    this.host = options.host;
    this.port = options.port;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.description = options.description ?? `tcp://${host}:${this.port}`;
  }

  get isOpen(): boolean {
    const s = this.session;
    return s !== undefined && !s.reported && !s.socket.destroyed && s.socket.readyState === 'open';
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListener = listener;
  }

  /** Concurrent open() calls (the hub and a link's reconnect) share one attempt. */
  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    this.opening ??= this.openOnce().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async openOnce(): Promise<void> {
    // Many instruments take one connection at a time: the old one must be gone first.
    const previous = this.session;
    if (previous) {
      if (!previous.socket.destroyed) previous.socket.destroy();
      await previous.closed;
    }
    const socket = new Socket({ allowHalfOpen: false });
    let markClosed: () => void = () => {};
    const session: Session = {
      socket,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      reported: false,
      closingOnPurpose: false,
    };
    let connected = false;
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
      if (connected) this.reportClosed(session, err);
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.session === session && !session.reported) this.dataListener(chunk);
    });
    // The server closed its side (FIN): the instrument or device server went away or dropped us.
    socket.on('end', () => this.reportClosed(session, new Error('connection closed by the remote end')));
    socket.on('close', () => {
      markClosed();
      if (connected) this.reportClosed(session, lastError ?? new Error('connection closed'));
    });

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new DaqError('port_error', `cannot connect to ${this.description}: no answer within ${this.connectTimeoutMs} ms (is the host up and the address right?)`, {
            details: { host: this.host, port: this.port, connectTimeoutMs: this.connectTimeoutMs },
          }),
        );
      }, this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        connected = true;
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        if (!connected) reject(this.connectError(err));
      });
      socket.connect({ host: this.host, port: this.port });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.keepAliveMs);
    this.session = session;
  }

  private connectError(err: Error): DaqError {
    const code = (err as NodeJS.ErrnoException).code;
    const details = { host: this.host, port: this.port, code };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
      return new DaqError('port_not_found', `cannot connect to ${this.description}: host ${this.host} not found (${code})`, { details, cause: err });
    }
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused (is the instrument on, and listening on that port? is another program holding its one connection?)'
        : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
          ? `${code}: no route to the host`
          : describeError(err);
    return new DaqError('port_error', `cannot connect to ${this.description}: ${why}`, { details, cause: err });
  }

  async write(data: Buffer): Promise<void> {
    const session = this.session;
    if (!session || session.reported || session.socket.destroyed) {
      throw new DaqError('disconnected', `${this.description} is not connected`);
    }
    await new Promise<void>((resolve, reject) => {
      session.socket.write(data, (err) => {
        if (!err) return resolve();
        this.reportClosed(session, err);
        reject(new DaqError('disconnected', `lost ${this.description}: ${describeError(err)}`, { cause: err }));
      });
    });
  }

  async close(): Promise<void> {
    const session = this.session;
    if (!session) return;
    if (!session.reported) session.closingOnPurpose = true;
    if (!session.socket.destroyed) {
      session.socket.end();
      const grace = setTimeout(() => session.socket.destroy(), CLOSE_GRACE_MS);
      await session.closed;
      clearTimeout(grace);
    }
    await session.closed;
    this.reportClosed(session, undefined);
  }

  private reportClosed(session: Session, err: Error | undefined): void {
    if (session.reported) return;
    session.reported = true;
    if (!session.socket.destroyed && !session.closingOnPurpose) session.socket.destroy();
    if (this.session !== session) return;
    const lost = session.closingOnPurpose ? undefined : (err ?? new Error('connection closed'));
    this.closeListener(lost);
  }
}
