/**
 * One client connection: newline-delimited JSON-RPC 2.0 in, responses (in completion order) and
 * event notifications out. A bad line gets an error response and the connection carries on. Event
 * notifications to a slow reader are buffered up to a bound, then dropped and counted: a stalled
 * client can never stall the daemon. A peer that hangs up (end of input) ends its subscription and
 * the connection; one that stops reading for good is closed by the liveness check (see tick()).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { DaqError } from '../errors.js';
import type { Daemon } from '../core/daemon.js';
import { DAEMON_EVENT_TYPES, type DaemonEvent } from '../core/events.js';
import { Dispatcher } from './dispatcher.js';
import { errorResponse, notification } from './jsonrpc.js';
import { responseLine } from './json-text.js';
import type { MethodMap } from './methods/types.js';
import { eventMatches, type Session, type SubscriptionFilter } from './session.js';

export { MAX_BATCH } from './dispatcher.js';
export type { SubscriptionFilter } from './session.js';
export const MAX_LINE_BYTES = 1024 * 1024;
/** Bytes the kernel/socket may hold for a client before events start queueing on our side. */
const HIGH_WATER_BYTES = 256 * 1024;
/** Events queued for a slow client before new ones are dropped. */
export const MAX_QUEUED_EVENTS = 1000;
/** Liveness ticks without any output leaving while output waits, before the connection is closed. */
export const STALL_TICKS = 4;

/** What daemon.status reports about socket clients (a stalled subscriber shows up here). */
export interface ClientStats {
  connections: number;
  subscribers: number;
  /** Clients whose requests daqd stopped reading because they do not read the answers. */
  stalledClients: number;
  /** Events waiting in per-client queues right now. */
  queuedEvents: number;
  /** Events dropped for slow subscribers since daqd started. */
  droppedEvents: number;
}

/**
 * The notification line for an event, made once however many connections subscribe: the bus
 * delivers one event to every listener before the next, so one remembered line serves them all.
 */
let lastEvent: DaemonEvent | undefined;
let lastLine = '';
function notificationLine(event: DaemonEvent): string {
  if (event !== lastEvent) {
    const { type, ...params } = event;
    lastLine = JSON.stringify(notification(type, params)) + '\n';
    lastEvent = event;
  }
  return lastLine;
}

/** A socket connection is a session of the one dispatcher (dispatcher.ts), framed as JSON lines. */
export class Connection implements Session {
  readonly origin = 'socket';
  private readonly dispatcher: Dispatcher;
  private buffer = '';
  private discarding = false;
  private unsubscribeEvents: (() => void) | null = null;
  private readonly queue: string[] = [];
  private dropped = 0;
  private droppedTotal = 0;
  private pending = 0;
  private closed = false;
  private inputEnded = false;
  private inputPaused = false;
  /** Lines written since the last liveness tick (a subscriber that got none gets a heartbeat). */
  private writesSinceTick = 0;
  /** Bytes whose write had completed at the last tick, and ticks since that last moved. */
  private flushedAtTick = 0;
  private stalledTicks = 0;

  constructor(
    private readonly socket: Socket,
    private readonly daemon: Daemon,
    methods: MethodMap,
    private readonly log: Logger,
    clientStats: () => ClientStats = () => ({ connections: 1, subscribers: 0, stalledClients: 0, queuedEvents: 0, droppedEvents: 0 }),
    dispatcher?: Dispatcher,
  ) {
    this.dispatcher = dispatcher ?? new Dispatcher(daemon, methods, log, clientStats);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('drain', () => {
      this.flushQueue();
      this.resumeInputIfDrained();
    });
    socket.on('close', () => this.onClose());
    socket.on('end', () => this.onEnd());
    // A failed write (EPIPE, ECONNRESET: the peer is gone) destroys the socket; 'close' cleans up.
    socket.on('error', (err) => this.log.debug({ err }, 'client connection error'));
  }

  /** Requests still being handled (shutdown waits for them). */
  get inFlight(): number {
    return this.pending;
  }

  get isSubscribed(): boolean {
    return this.unsubscribeEvents !== null;
  }

  /** Not reading this client's requests until it reads its answers. */
  get isStalled(): boolean {
    return this.inputPaused;
  }

  get queuedEvents(): number {
    return this.queue.length;
  }

  get droppedEvents(): number {
    return this.droppedTotal;
  }

  private onData(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        this.buffer = '';
        continue;
      }
      const line = this.buffer + piece;
      this.buffer = '';
      // The line may have crossed the limit in this very chunk, before the check below saw it.
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) this.rejectLongLine();
      else this.handleLine(line);
    }
    if (this.discarding) return;
    this.buffer += chunk.slice(start);
    if (Buffer.byteLength(this.buffer) > MAX_LINE_BYTES) {
      this.buffer = '';
      this.discarding = true;
      this.rejectLongLine();
    }
  }

  private rejectLongLine(): void {
    this.send(errorResponse(null, new DaqError('parse_error', `request line longer than ${MAX_LINE_BYTES} bytes; it was discarded`)));
  }

  private handleLine(line: string): void {
    if (line.trim() === '') return;
    const out = this.dispatcher.handleText(line, this);
    if (!(out instanceof Promise)) {
      this.send(out);
      return;
    }
    this.pending++;
    void out.then((response) => {
      this.pending--;
      if (response !== undefined) this.send(response);
      this.endIfDone();
    });
  }

  /**
   * The peer ended its input (FIN). Nobody reads events on a connection whose peer hung up (and
   * with a quiet filter nothing would ever be written to notice), so the subscription ends here;
   * requests already received are still answered, then our side ends too.
   */
  private onEnd(): void {
    this.inputEnded = true;
    this.unsubscribe();
    this.queue.length = 0;
    this.dropped = 0;
    this.endIfDone();
  }

  /** The client closed its side: end ours once every request has been answered. */
  private endIfDone(): void {
    if (this.inputEnded && this.pending === 0 && !this.closed && !this.socket.writableEnded) this.socket.end();
  }

  private write(line: string): void {
    this.socket.write(line);
    this.writesSinceTick++;
  }

  private send(message: unknown): void {
    if (this.closed) return;
    let line: string;
    try {
      line = responseLine(message);
    } catch (err) {
      // A result daqd built that JSON cannot carry: a bug, but the client still gets an answer.
      this.log.error({ err }, 'bug: a response could not be serialised');
      line = JSON.stringify(errorResponse(null, new DaqError('internal_error', 'internal error in daqd (see the daemon log for details)'))) + '\n';
    }
    this.write(line);
    // A client that sends requests but does not read the answers: stop reading its requests
    // until it catches up, so its unread answers cannot pile up in daqd's memory.
    if (!this.inputPaused && this.socket.writableLength >= HIGH_WATER_BYTES) {
      this.inputPaused = true;
      this.socket.pause();
    }
  }

  private resumeInputIfDrained(): void {
    if (this.inputPaused && this.socket.writableLength < HIGH_WATER_BYTES) {
      this.inputPaused = false;
      this.socket.resume();
    }
  }

  subscribe(filter: SubscriptionFilter): { subscribed: true; filter: SubscriptionFilter } {
    if (this.inputEnded || this.closed) throw new DaqError('unavailable', 'this connection has ended its input; subscribe on a connection that stays open');
    this.unsubscribeEvents?.();
    // The bus calls this connection only for the types its filter can pass (prefixes resolved here).
    const prefixes = filter.types;
    const types = prefixes ? DAEMON_EVENT_TYPES.filter((t) => prefixes.some((p) => t.startsWith(p))) : undefined;
    this.unsubscribeEvents = this.daemon.events.subscribe(
      (event) => {
        if (eventMatches(filter, event)) this.pushEvent(event);
      },
      { ...(types ? { types } : {}), owner: 'socket subscriber' },
    );
    return { subscribed: true, filter };
  }

  unsubscribe(): { subscribed: false } {
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = null;
    return { subscribed: false };
  }

  private pushEvent(event: DaemonEvent): void {
    if (this.closed) return;
    const line = notificationLine(event);
    if (this.queue.length === 0 && this.socket.writableLength < HIGH_WATER_BYTES) {
      this.write(line);
      return;
    }
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.dropped++;
      this.droppedTotal++;
      return;
    }
    this.queue.push(line);
  }

  private flushQueue(): void {
    while (this.queue.length > 0 && this.socket.writableLength < HIGH_WATER_BYTES) {
      this.write(this.queue.shift()!);
    }
    if (this.queue.length === 0 && this.dropped > 0) {
      this.write(JSON.stringify(notification('events.dropped', { count: this.dropped, total: this.droppedTotal })) + '\n');
      this.log.warn({ dropped: this.dropped }, 'a slow event subscriber missed events');
      this.dropped = 0;
    }
  }

  /**
   * The liveness check, every heartbeat interval (RpcServer runs it). A subscriber that was sent
   * nothing during the last interval gets a `daemon.heartbeat`: if its peer vanished without a FIN
   * the write fails and 'close' cleans up, and the client learns daqd is alive on a quiet filter.
   * A connection whose output waits and has not moved for STALL_TICKS intervals (the peer reads
   * nothing: frozen, or gone with a full buffer) is closed. Returns true when it closed it.
   */
  tick(intervalMs: number): boolean {
    if (this.closed) return false;
    const flushed = this.socket.bytesWritten - this.socket.writableLength;
    const waiting = this.socket.writableLength > 0 || this.queue.length > 0;
    this.stalledTicks = waiting && flushed === this.flushedAtTick ? this.stalledTicks + 1 : 0;
    this.flushedAtTick = flushed;
    if (this.stalledTicks >= STALL_TICKS) {
      this.log.warn(
        { waitingBytes: this.socket.writableLength, queuedEvents: this.queue.length },
        `closing a client connection that read nothing for ${Math.round((STALL_TICKS * intervalMs) / 1000)} s`,
      );
      this.socket.destroy();
      return true;
    }
    if (this.isSubscribed && !waiting && this.writesSinceTick === 0 && !this.socket.writableEnded) {
      this.write(JSON.stringify(notification('daemon.heartbeat', { at: new Date().toISOString(), intervalMs })) + '\n');
    }
    this.writesSinceTick = 0;
    return false;
  }

  private onClose(): void {
    this.closed = true;
    this.unsubscribe();
    this.queue.length = 0;
  }

  /** End the connection once pending output is flushed; a peer that reads nothing gets `graceMs`. */
  close(graceMs = 1000): void {
    this.socket.end(() => this.socket.destroy());
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }
}
