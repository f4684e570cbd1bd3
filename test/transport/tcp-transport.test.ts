/**
 * TcpTransport and PortHub over real TCP on loopback (127.0.0.1 only): simulators served on a TCP
 * port, a server that refuses, one that accepts and never answers, one that drops us, is killed and
 * comes back, and two ELL14 mounts on one TCP bus (one connection).
 */
import { spawn } from 'node:child_process';
import { createServer, Socket, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { TcpTransport } from '../../src/transport/tcp-transport.js';
import { QueuedLink, lineReply } from '../../src/transport/link.js';
import { PortHub, type PortRequest } from '../../src/transport/port-hub.js';
import { DEFAULT_SERIAL } from '../../src/transport/serial-settings.js';
import { serveSimulatorTcp, type SimulatorTcpServer } from '../../src/sim/serve-tcp.js';
import { ell14Driver } from '../../src/drivers/ell14/index.js';
import { Ell14Simulator } from '../../src/drivers/ell14/simulator.js';
import { driver as scpiDriver } from '../../src/drivers/scpi/index.js';
import { ScpiSimulator } from '../../src/drivers/scpi/simulator.js';
import { scpiOptionsSchema } from '../../src/drivers/scpi/options.js';
import { failure } from '../helpers/errors.js';
import { waitFor } from '../helpers/pty.js';

const log = pino({ level: 'silent' });
const LOOPBACK = '127.0.0.1';
const line = lineReply('\n');
const cleanup: (() => Promise<unknown> | void)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function track<T extends { close(): Promise<unknown> }>(thing: T): T {
  cleanup.push(() => thing.close());
  return thing;
}

/** A raw server on loopback; `onSocket` decides what it does with each client. */
async function rawServer(onSocket: (socket: Socket) => void, port = 0): Promise<{ server: Server; port: number; sockets: Set<Socket>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: LOOPBACK, port }, resolve));
  const bound = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanup.push(close);
  return { server, port: bound, sockets, close };
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen({ host: LOOPBACK, port: 0 }, resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const scpiOptions = scpiOptionsSchema.parse({ sim: { idn: 'KEYSIGHT TECHNOLOGIES,34465A,MY00001,A.03' }, channels: { v: { query: 'MEAS:VOLT:DC?' } } });

function hubRequest(instrumentId: string, port: string, more: Partial<PortRequest> = {}): PortRequest {
  return { instrumentId, port, serial: DEFAULT_SERIAL, multidrop: false, ...more };
}

describe('TcpTransport', () => {
  it('talks to a simulator served on a TCP port (no-delay, one connection), and closes deliberately', async () => {
    const sim = new ScpiSimulator(scpiOptions);
    const server = track(await serveSimulatorTcp({ simulators: [sim] }));
    const transport = new TcpTransport({ host: LOOPBACK, port: server.port });
    const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 1000 });
    const closes: (Error | undefined)[] = [];
    link.onTransportClose((err) => closes.push(err));
    await transport.open();
    expect(transport.description).toBe(server.address);
    expect(server.connections).toBe(1);
    expect((await link.request({ write: '*IDN?\n', reply: line }))?.toString()).toBe('KEYSIGHT TECHNOLOGIES,34465A,MY00001,A.03');
    await transport.close();
    expect(transport.isOpen).toBe(false);
    expect(closes).toEqual([undefined]);
    await waitFor(() => server.connections === 0, 2000, 'the server to see the client go');
  });

  it('a refused connection fails open() with port_error saying so; it connects once something listens', async () => {
    const port = await closedPort();
    const transport = new TcpTransport({ host: LOOPBACK, port });
    const err = await failure(transport.open());
    expect(err.kind).toBe('port_error');
    expect(err.message).toMatch(new RegExp(`^cannot connect to tcp://127\\.0\\.0\\.1:${port}: connection refused`));
    const sim = new ScpiSimulator(scpiOptions);
    track(await serveSimulatorTcp({ simulators: [sim], port }));
    await transport.open();
    expect(transport.isOpen).toBe(true);
    await transport.close();
  });

  it('a connect nobody completes fails after connectTimeoutMs with port_error', async () => {
    // A listener that never accepts, its accept queue filled (backlog 0 holds one): the kernel drops
    // further SYNs, so the next connect hangs, as to a host that is down. Loopback only.
    const py = spawn('python3', ['-c', "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()"], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cleanup.push(() => void py.kill());
    const port = await new Promise<number>((resolve) => py.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString()))));
    const filler = new Socket();
    cleanup.push(() => void filler.destroy());
    await new Promise<void>((resolve, reject) => filler.connect({ host: LOOPBACK, port }, resolve).once('error', reject));
    const transport = new TcpTransport({ host: LOOPBACK, port, connectTimeoutMs: 300 });
    const started = performance.now();
    const err = await failure(transport.open());
    const took = performance.now() - started;
    expect(err.kind).toBe('port_error');
    expect(err.message).toBe(`cannot connect to tcp://127.0.0.1:${port}: no answer within 300 ms (is the host up and the address right?)`);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    expect(transport.isOpen).toBe(false);
  });

  it('a server that accepts and never answers: each exchange times out, the connection stays up', async () => {
    const received: Buffer[] = [];
    const { port } = await rawServer((socket) => socket.on('data', (d) => received.push(d)));
    const transport = new TcpTransport({ host: LOOPBACK, port });
    const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 100 });
    await transport.open();
    for (let i = 0; i < 2; i++) {
      const err = await failure(link.request({ write: '*IDN?\n', reply: line }));
      expect(err.kind).toBe('timeout');
      expect(err.message).toBe(`no reply to *IDN? from tcp://127.0.0.1:${port} within 100 ms`);
    }
    expect(transport.isOpen).toBe(true);
    await waitFor(() => Buffer.concat(received).toString() === '*IDN?\n*IDN?\n', 2000, 'both queries at the server');
    await transport.close();
  });

  it('a server that drops the connection mid-exchange: disconnected at once (no timeout), reopened by the next request', async () => {
    let drop = true;
    const { port } = await rawServer((socket) =>
      socket.on('data', () => {
        if (drop) socket.destroy();
        else socket.write('ok\n');
      }),
    );
    const transport = new TcpTransport({ host: LOOPBACK, port });
    const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 5000 });
    const closes: (Error | undefined)[] = [];
    link.onTransportClose((err) => closes.push(err));
    await transport.open();
    const started = performance.now();
    const err = await failure(link.request({ write: 'Q?\n', reply: line }));
    expect(err.kind).toBe('disconnected');
    expect(err.message).toMatch(new RegExp(`lost connection to tcp://127\\.0\\.0\\.1:${port}: connection closed`));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toBeInstanceOf(Error);
    drop = false;
    expect((await link.request({ write: 'Q?\n', reply: line }))?.toString()).toBe('ok');
    await transport.close();
  });

  it('a server killed and restarted: reopen fails as disconnected (with the reason) while it is down, works once it is back', async () => {
    const sim = new ScpiSimulator(scpiOptions);
    let server: SimulatorTcpServer = await serveSimulatorTcp({ simulators: [sim] });
    const port = server.port;
    const transport = new TcpTransport({ host: LOOPBACK, port });
    const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 1000 });
    cleanup.push(() => transport.close());
    await transport.open();
    expect((await link.request({ write: '*IDN?\n', reply: line }))?.toString()).toMatch(/^KEYSIGHT/);
    await server.close();
    await waitFor(() => !transport.isOpen, 2000, 'the client to notice the server went');
    const down = await failure(link.request({ write: '*IDN?\n', reply: line }));
    expect(down.kind).toBe('disconnected');
    expect(down.message).toMatch(/cannot reopen it: cannot connect to tcp:\/\/127\.0\.0\.1:\d+: connection refused/);
    server = track(await serveSimulatorTcp({ simulators: [sim], port }));
    expect((await link.request({ write: '*IDN?\n', reply: line }))?.toString()).toMatch(/^KEYSIGHT/);
  });
});

describe('PortHub with tcp:// ports', () => {
  it('runs a driver over TCP: scpi *IDN? check and polls', async () => {
    const sim = new ScpiSimulator(scpiOptions);
    const server = track(await serveSimulatorTcp({ simulators: [sim] }));
    const hub = new PortHub({ defaultTimeoutMs: 500 });
    cleanup.push(() => hub.closeAll());
    const lease = await hub.acquire(hubRequest('dmm', server.address));
    expect(lease.port).toBe(server.address);
    const options = scpiOptionsSchema.parse({ idn_contains: '34465A', channels: { v: { query: 'MEAS:VOLT:DC?' } } });
    const instrument = scpiDriver.create({ link: lease.link, config: { id: 'dmm', params: {}, options }, log });
    await instrument.init();
    expect(typeof (await instrument.poll()).v).toBe('number');
    await lease.release();
    await waitFor(() => server.connections === 0, 2000, 'the connection to close with the last lease');
  });

  it('acquire of a refused address fails with the instrument id and keeps no claim', async () => {
    const port = await closedPort();
    const hub = new PortHub();
    cleanup.push(() => hub.closeAll());
    const err = await failure(hub.acquire(hubRequest('dmm', `tcp://127.0.0.1:${port}`)));
    expect(err.kind).toBe('port_error');
    expect(err.message).toMatch(/^dmm: cannot connect to tcp:\/\/127\.0\.0\.1:\d+: connection refused/);
    expect(hub.ports()).toEqual([]);
  });

  it('two ELL14 mounts share one TCP connection to a bus; each answers only its own address', async () => {
    const sims = [new Ell14Simulator({ address: '2', speedDegPerS: 5000 }), new Ell14Simulator({ address: '3', speedDegPerS: 5000 })];
    cleanup.push(() => sims.forEach((s) => s.dispose()));
    const server = track(await serveSimulatorTcp({ simulators: sims }));
    const hub = new PortHub({ defaultTimeoutMs: 500 });
    cleanup.push(() => hub.closeAll());
    const mount = async (id: string, address: string) => {
      const options = ell14Driver.optionsSchema.parse({ address });
      const lease = await hub.acquire({
        instrumentId: id,
        port: server.address,
        serial: ell14Driver.serial,
        multidrop: true,
        busAddress: ell14Driver.busAddress!(options),
      });
      const instrument = ell14Driver.create({ link: lease.link, config: { id, params: {}, options }, log });
      await instrument.init();
      return { lease, instrument };
    };
    const a = await mount('hwp', '2');
    const b = await mount('qwp', '3');
    expect(a.lease.transport).toBe(b.lease.transport);
    expect(server.connections).toBe(1);
    const results = await Promise.all([a.instrument.setParam('position_deg', 90), b.instrument.poll(), b.instrument.setParam('position_deg', 45), a.instrument.poll()]);
    expect(results).toEqual([90, { position_deg: 0 }, 45, { position_deg: 90 }]);
    expect(sims[0]!.received.every((f) => f.startsWith('2'))).toBe(true);
    expect(sims[1]!.received.every((f) => f.startsWith('3'))).toBe(true);
    // A third instrument at a taken address is refused.
    const clash = await failure(hub.acquire({ instrumentId: 'x', port: server.address, serial: ell14Driver.serial, multidrop: true, busAddress: '2' }));
    expect(clash.kind).toBe('port_conflict');
  });
});
