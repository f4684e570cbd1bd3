/**
 * Runs device simulators behind a TCP port, as a networked instrument (a raw SCPI socket) or a
 * serial device server (ser2net, a Moxa NPort) would expose them: daqd reaches them as
 * `port = "tcp://127.0.0.1:<port>"`. Several simulators on one server form a multidrop bus: every
 * device hears every byte, and every connected client hears every reply.
 *
 * Binds to loopback unless told otherwise: a simulator is for people and tests on this machine.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { DeviceSimulator } from '../drivers/types.js';

export interface ServeTcpOptions {
  simulators: DeviceSimulator[];
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on (default 0: any free port; see SimulatorTcpServer.port). */
  port?: number;
}

export interface SimulatorTcpServer {
  readonly host: string;
  readonly port: number;
  /** `tcp://host:port`, what goes in the config. */
  readonly address: string;
  /** Clients connected now. */
  readonly connections: number;
  /** Test hook: drop every client (as an instrument rebooting would) and keep listening. */
  dropConnections(): void;
  /** Stops listening and drops every client. The simulators stay the caller's. */
  close(): Promise<void>;
}

export async function serveSimulatorTcp(options: ServeTcpOptions): Promise<SimulatorTcpServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  for (const sim of options.simulators) {
    sim.onSend((data) => {
      for (const socket of sockets) if (!socket.destroyed) socket.write(data);
    });
  }
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      for (const sim of options.simulators) sim.receive(chunk);
    });
    socket.on('error', () => {}); // a client that resets: 'close' follows
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : (options.port ?? 0);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const drop = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    host,
    port,
    address: `tcp://${shownHost}:${port}`,
    get connections() {
      return sockets.size;
    },
    dropConnections: drop,
    async close() {
      drop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
