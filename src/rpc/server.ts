/**
 * The command socket: a Unix domain socket, mode 0660. A stale socket file (no daqd behind it) is
 * replaced; a live one means another daqd is running, and start-up stops with a clear message.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { DaqError } from '../errors.js';
import type { Daemon } from '../core/daemon.js';
import { Connection, type ClientStats } from './connection.js';
import { methods } from './methods/index.js';

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Makes sure no other daqd answers on `path` and removes a stale socket file. daqd calls this before
 * it opens any port, so a second daqd started by mistake never touches the first one's devices.
 */
export async function claimSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (await isLive(path)) {
    throw new DaqError('in_use', `another daqd is already listening on ${path}; stop it first or use --socket`);
  }
  await unlink(path).catch(() => {});
}

export class RpcServer {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  /** Drops counted on connections that have since closed. */
  private droppedByClosed = 0;

  constructor(
    private readonly daemon: Daemon,
    private readonly path: string,
    private readonly log: Logger,
    private readonly mode = 0o660,
  ) {}

  async listen(): Promise<void> {
    await claimSocketPath(this.path);
    // allowHalfOpen: a client may send its request and shut its side (`socat -`, `nc -N`); it still gets the answer.
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      const conn = new Connection(socket, this.daemon, methods, this.log, () => this.clientStats());
      this.connections.add(conn);
      socket.on('close', () => {
        this.connections.delete(conn);
        this.droppedByClosed += conn.droppedEvents;
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Known before the chmod: a stop that comes while it runs must still close and unlink.
    this.server = server;
    await chmod(this.path, this.mode);
  }

  clientStats(): ClientStats {
    let subscribers = 0;
    let stalledClients = 0;
    let queuedEvents = 0;
    let droppedEvents = this.droppedByClosed;
    for (const c of this.connections) {
      if (c.isSubscribed) subscribers++;
      if (c.isStalled) stalledClients++;
      queuedEvents += c.queuedEvents;
      droppedEvents += c.droppedEvents;
    }
    return { connections: this.connections.size, subscribers, stalledClients, queuedEvents, droppedEvents };
  }

  /** Stop accepting, let in-flight requests answer (bounded), close clients, remove the socket. */
  async close(graceMs = 3000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.connections) c.close();
    await closed;
    await unlink(this.path).catch(() => {});
  }
}
