/**
 * One client connection: newline-delimited JSON-RPC 2.0 in, responses (in completion order) and
 * event notifications out. A bad line gets an error response and the connection carries on. Event
 * notifications to a slow reader are buffered up to a bound, then dropped and counted: a stalled
 * client can never stall the daemon.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { DaqError, toDaqError } from '../errors.js';
import type { Daemon } from '../core/daemon.js';
import type { DaemonEvent } from '../core/events.js';
import { errorResponse, notification, requestSchema, resultResponse, type RpcId } from './jsonrpc.js';
import type { MethodTable } from './methods/types.js';

export const MAX_LINE_BYTES = 1024 * 1024;
/** Bytes the kernel/socket may hold for a client before events start queueing on our side. */
const HIGH_WATER_BYTES = 256 * 1024;
/** Events queued for a slow client before new ones are dropped. */
export const MAX_QUEUED_EVENTS = 1000;

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

export interface SubscriptionFilter {
  types?: string[];
  instruments?: string[];
}

/** " (got ...)" for a rejected value, so the message names what the client sent (e.g. the bad id). */
function describeInput(issue: { input?: unknown; code: string }): string {
  if (issue.input === undefined || issue.code === 'unrecognized_keys') return '';
  const text = JSON.stringify(issue.input);
  if (text === undefined) return '';
  return ` (got ${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

export class Connection {
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

  constructor(
    private readonly socket: Socket,
    private readonly daemon: Daemon,
    private readonly methods: MethodTable,
    private readonly log: Logger,
    private readonly clientStats: () => ClientStats = () => ({ connections: 1, subscribers: 0, stalledClients: 0, queuedEvents: 0, droppedEvents: 0 }),
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('drain', () => {
      this.flushQueue();
      this.resumeInputIfDrained();
    });
    socket.on('close', () => this.onClose());
    socket.on('end', () => {
      this.inputEnded = true;
      this.endIfDone();
    });
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.send(errorResponse(null, new DaqError('parse_error', 'invalid JSON: send one JSON-RPC 2.0 object per line')));
      return;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) {
        this.send(errorResponse(null, new DaqError('invalid_request', 'empty batch')));
        return;
      }
      this.pending++;
      void Promise.all(parsed.map((r) => this.handleRequest(r))).then((responses) => {
        this.pending--;
        const out = responses.filter((r) => r !== undefined);
        if (out.length > 0) this.send(out);
        this.endIfDone();
      });
      return;
    }
    this.pending++;
    void this.handleRequest(parsed).then((response) => {
      this.pending--;
      if (response !== undefined) this.send(response);
      this.endIfDone();
    });
  }

  private async handleRequest(raw: unknown): Promise<object | undefined> {
    const req = requestSchema.safeParse(raw);
    const rawId = (raw as { id?: unknown } | null)?.id;
    const id: RpcId = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
    if (!req.success) {
      return errorResponse(id, new DaqError('invalid_request', 'not a JSON-RPC 2.0 request: need {"jsonrpc":"2.0","method":"...","id":...}'));
    }
    const isNotification = !('id' in (raw as object));
    const { method, params } = req.data;
    try {
      const def = this.methods[method];
      if (!def) throw new DaqError('method_not_found', `unknown method "${method}" (see docs/protocol.md for the list)`);
      const p = def.params.safeParse(params, { reportInput: true });
      if (!p.success) {
        const why = p.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}${describeInput(i)}`).join('; ');
        throw new DaqError('invalid_params', `${method}: ${why}`);
      }
      const result = await def.handler(p.data, { daemon: this.daemon, connection: this, clientStats: this.clientStats });
      return isNotification ? undefined : resultResponse(id, result ?? null);
    } catch (err) {
      const e = toDaqError(err, (bug) => this.log.error({ err: bug, method }, 'bug: an error without a code'));
      return isNotification ? undefined : errorResponse(id, e);
    }
  }

  /** The client closed its side: end ours once every request has been answered (unless subscribed). */
  private endIfDone(): void {
    if (this.inputEnded && this.pending === 0 && !this.unsubscribeEvents && !this.closed) this.socket.end();
  }

  private send(message: unknown): void {
    if (this.closed) return;
    this.socket.write(JSON.stringify(message) + '\n');
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
    this.unsubscribeEvents?.();
    const types = filter.types;
    const instruments = filter.instruments ? new Set(filter.instruments) : null;
    this.unsubscribeEvents = this.daemon.events.subscribe((event) => {
      if (types && !types.some((t) => event.type.startsWith(t))) return;
      if (instruments && 'instrument' in event && !instruments.has(event.instrument)) return;
      this.pushEvent(event);
    });
    return { subscribed: true, filter };
  }

  unsubscribe(): { subscribed: false } {
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = null;
    return { subscribed: false };
  }

  private pushEvent(event: DaemonEvent): void {
    if (this.closed) return;
    const { type, ...params } = event;
    const line = JSON.stringify(notification(type, params)) + '\n';
    if (this.queue.length === 0 && this.socket.writableLength < HIGH_WATER_BYTES) {
      this.socket.write(line);
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
      this.socket.write(this.queue.shift()!);
    }
    if (this.queue.length === 0 && this.dropped > 0) {
      this.socket.write(JSON.stringify(notification('events.dropped', { count: this.dropped, total: this.droppedTotal })) + '\n');
      this.log.warn({ dropped: this.dropped }, 'a slow event subscriber missed events');
      this.dropped = 0;
    }
  }

  private onClose(): void {
    this.closed = true;
    this.unsubscribe();
    this.queue.length = 0;
  }

  /** End the connection once pending output is flushed. */
  close(): void {
    this.socket.end(() => this.socket.destroy());
  }
}
