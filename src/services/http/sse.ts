/**
 * Server-sent events for the HTTP framing: one multiplexed stream per page (browsers allow six
 * HTTP/1.1 connections per origin). Every daemon event gets an id and goes into a bounded ring, so a
 * page that reconnects with `Last-Event-ID` gets what it missed (or an `events.gap` event when the
 * ring no longer holds its resume point). Per client, like the socket: events wait in a bounded queue
 * while the client's TCP buffer is full, then are dropped and counted (`events.dropped` once it
 * drains); a client whose output has not moved for STALL_TICKS heartbeats is closed.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { EventBus } from '../../core/events.js';
import type { DaemonEvent } from '../../core/events.js';
import { eventMatches, type SubscriptionFilter } from '../../rpc/session.js';

export const SSE_HIGH_WATER_BYTES = 256 * 1024;
export const SSE_MAX_QUEUED = 1000;
export const SSE_STALL_TICKS = 4;

function frame(id: number, event: DaemonEvent): string {
  return `id: ${id}\ndata: ${JSON.stringify(event)}\n\n`;
}

class SseClient {
  readonly queue: string[] = [];
  dropped = 0;
  droppedTotal = 0;
  private writes = 0;
  private flushedAtTick = 0;
  private stalledTicks = 0;
  closed = false;

  constructor(
    readonly res: ServerResponse,
    readonly filter: SubscriptionFilter,
  ) {
    res.on('drain', () => this.flush());
  }

  private get waitingBytes(): number {
    return this.res.writableLength;
  }

  push(text: string): void {
    if (this.closed) return;
    if (this.queue.length === 0 && this.waitingBytes < SSE_HIGH_WATER_BYTES) {
      this.res.write(text);
      this.writes++;
      return;
    }
    if (this.queue.length >= SSE_MAX_QUEUED) {
      this.dropped++;
      this.droppedTotal++;
      return;
    }
    this.queue.push(text);
  }

  flush(): void {
    while (this.queue.length > 0 && this.waitingBytes < SSE_HIGH_WATER_BYTES) {
      this.res.write(this.queue.shift()!);
      this.writes++;
    }
    if (this.queue.length === 0 && this.dropped > 0) {
      this.res.write(`data: ${JSON.stringify({ type: 'events.dropped', count: this.dropped, total: this.droppedTotal })}\n\n`);
      this.dropped = 0;
    }
  }

  /** Heartbeat and stall check; true when the client was closed. */
  tick(intervalMs: number, log: Logger): boolean {
    if (this.closed) return false;
    const socket = this.res.socket;
    const flushed = socket ? socket.bytesWritten - socket.writableLength : 0;
    const waiting = this.waitingBytes > 0 || this.queue.length > 0 || (socket?.writableLength ?? 0) > 0;
    this.stalledTicks = waiting && flushed === this.flushedAtTick ? this.stalledTicks + 1 : 0;
    this.flushedAtTick = flushed;
    if (this.stalledTicks >= SSE_STALL_TICKS) {
      log.warn({ queuedEvents: this.queue.length }, `closing an event stream that read nothing for ${Math.round((SSE_STALL_TICKS * intervalMs) / 1000)} s`);
      this.res.destroy();
      return true;
    }
    if (!waiting && this.writes === 0) this.res.write(`data: ${JSON.stringify({ type: 'daemon.heartbeat', at: new Date().toISOString(), intervalMs })}\n\n`);
    this.writes = 0;
    return false;
  }
}

export class EventStreams {
  /**
   * The last `ringSize` events, by id modulo ringSize (ids are consecutive): a fixed circular
   * buffer, so an event costs a slot write, not an entry object and an array shift. Frames are
   * made when a client needs one (and kept for the next client): with no page open, thousands of
   * readings a second are never serialised.
   */
  private readonly events: (DaemonEvent | undefined)[];
  private readonly frames: (string | undefined)[];
  private seq = 0;
  private readonly clients = new Set<SseClient>();
  private droppedByClosed = 0;
  private readonly off: () => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    events: EventBus,
    private readonly log: Logger,
    ringSize: number,
    private readonly heartbeatMs: number,
  ) {
    this.events = new Array<DaemonEvent | undefined>(Math.max(1, ringSize)).fill(undefined);
    this.frames = new Array<string | undefined>(Math.max(1, ringSize)).fill(undefined);
    this.off = events.subscribe((event) => this.onEvent(event), { owner: 'HTTP event stream' });
    this.timer = setInterval(() => {
      for (const c of this.clients) c.tick(this.heartbeatMs, this.log);
    }, heartbeatMs);
    this.timer.unref();
  }

  private onEvent(event: DaemonEvent): void {
    const id = ++this.seq;
    const slot = id % this.events.length;
    this.events[slot] = event;
    this.frames[slot] = undefined;
    if (this.clients.size === 0) return;
    for (const c of this.clients) if (eventMatches(c.filter, event)) c.push(this.frameOf(id));
  }

  /** Ids still in the ring: oldest..this.seq. */
  private get oldestId(): number {
    return Math.max(1, this.seq - this.events.length + 1);
  }

  private frameOf(id: number): string {
    const slot = id % this.events.length;
    return (this.frames[slot] ??= frame(id, this.events[slot]!));
  }

  /** Start a stream on a response (headers not sent yet). lastId: the client's Last-Event-ID. */
  open(res: ServerResponse, filter: SubscriptionFilter, lastId: number | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.socket?.setNoDelay(true);
    const client = new SseClient(res, filter);
    res.write(`retry: 1000\n: daqd event stream\n\n`);
    if (lastId !== undefined && lastId < this.seq) {
      const oldest = this.seq > 0 ? this.oldestId : this.seq + 1;
      if (lastId + 1 < oldest) client.push(`data: ${JSON.stringify({ type: 'events.gap', from: lastId + 1, to: oldest - 1 })}\n\n`);
      for (let id = Math.max(oldest, lastId + 1); id <= this.seq; id++) {
        if (eventMatches(filter, this.events[id % this.events.length]!)) client.push(this.frameOf(id));
      }
    }
    // The stream's position, so a page knows where it started (and daqd restarts show as a new epoch).
    client.push(`data: ${JSON.stringify({ type: 'stream.open', lastEventId: this.seq })}\n\n`);
    this.clients.add(client);
    res.on('close', () => {
      client.closed = true;
      this.clients.delete(client);
      this.droppedByClosed += client.droppedTotal;
    });
  }

  stats() {
    let queued = 0;
    let dropped = this.droppedByClosed;
    for (const c of this.clients) {
      queued += c.queue.length;
      dropped += c.droppedTotal;
    }
    return { streams: this.clients.size, lastEventId: this.seq, ring: Math.min(this.seq, this.events.length), queuedEvents: queued, droppedEvents: dropped };
  }

  close(): void {
    this.off();
    clearInterval(this.timer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
