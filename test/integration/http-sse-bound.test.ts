/**
 * A stalled event-stream client cannot grow daqd's memory: over a real TCP connection that never
 * reads, events queue up to SSE_MAX_QUEUED, the rest are dropped and counted, and the stream is
 * closed after SSE_STALL_TICKS heartbeats without progress.
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { EventBus, type DaemonEvent } from '../../src/core/events.js';
import { EventStreams, SSE_MAX_QUEUED } from '../../src/services/http/sse.js';

const bus = new EventBus();
const streams = new EventStreams(bus, pino({ level: 'silent' }), 100, 100);
const server = createServer((_req, res) => streams.open(res, {}, undefined));
afterAll(() => {
  streams.close();
  server.closeAllConnections();
  server.close();
});

it('queues at most SSE_MAX_QUEUED events for a client that reads nothing, counts the drops, then closes it', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  sock.pause();
  let closed = false;
  sock.on('close', () => (closed = true));
  await new Promise((r) => setTimeout(r, 50));
  const big = 'x'.repeat(32 * 1024);
  for (let i = 0; i < 3000; i++) bus.emit({ type: 'reading', instrument: 'pm', seq: i, values: { note: big } } as unknown as DaemonEvent);
  const s = streams.stats();
  expect(s.streams).toBe(1);
  expect(s.queuedEvents).toBe(SSE_MAX_QUEUED);
  expect(s.droppedEvents).toBeGreaterThan(0);
  const start = Date.now();
  while (!closed && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
  expect(closed || streams.stats().streams === 0).toBe(true);
  expect(streams.stats().streams).toBe(0);
});
