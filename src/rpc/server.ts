/**
 * The command socket: a Unix domain socket, mode 0660 (or `[application.socket] mode`), in the
 * daemon's group (or `[application.socket] group`), created with both atomically. With socket
 * activation (`LISTEN_FDS` from a daqd.socket unit) systemd holds the socket: daqd listens on fd 3
 * and leaves its file, mode and group to the .socket unit. A stale socket file (no daqd behind it) is
 * replaced; a live one means another daqd is running, and start-up stops with a clear message;
 * any other file at the path is refused (socket-file.ts). A liveness tick every heartbeat interval
 * sends heartbeats to quiet subscribers and closes connections whose peer stopped reading.
 */
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import type { Daemon } from '../core/daemon.js';
import { Connection, type ClientStats } from './connection.js';
import { methods } from './methods/index.js';
import { claimSocketPath, listenWithMode, listenWithModeAndGroup } from './socket-file.js';

export { claimSocketPath } from './socket-file.js';

/**
 * The fd systemd passed for socket activation (3, SD_LISTEN_FDS_START), or undefined when daqd was
 * not socket-activated (LISTEN_PID must name this process). Clears the variables, as
 * sd_listen_fds(unset=1) does, so no child process takes them for its own.
 */
export function activationFd(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  const fds = Number(env.LISTEN_FDS);
  const forMe = Number(env.LISTEN_PID) === pid;
  const fd = env.LISTEN_FDS && forMe && Number.isInteger(fds) && fds >= 1 ? 3 : undefined;
  if (env.LISTEN_FDS !== undefined) {
    delete env.LISTEN_FDS;
    delete env.LISTEN_PID;
    delete env.LISTEN_FDNAMES;
  }
  return fd;
}

/** Default heartbeat interval; a peer that reads nothing is closed after STALL_TICKS of them. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

export interface RpcServerOptions {
  /** File mode of the socket (default 0660: anyone in the daemon's group may control it). */
  mode?: number;
  /** Group of the socket (gid); default the daemon's own group. */
  gid?: number;
  /** Listen on this inherited fd (socket activation) instead of creating the socket file. */
  fd?: number;
  /** Liveness tick: heartbeats to quiet subscribers, and the stall check (default 15 s). */
  heartbeatMs?: number;
}

export class RpcServer {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  /** Drops counted on connections that have since closed. */
  private droppedByClosed = 0;
  private liveness: NodeJS.Timeout | null = null;
  private readonly mode: number;
  private readonly gid: number | undefined;
  private readonly fd: number | undefined;
  private readonly heartbeatMs: number;
  /** One function for every connection: daemon.status answers requests that share it together (answer-batch.ts). */
  private readonly stats = (): ClientStats => this.clientStats();

  constructor(
    private readonly daemon: Daemon,
    private readonly path: string,
    private readonly log: Logger,
    options: RpcServerOptions = {},
  ) {
    this.mode = options.mode ?? 0o660;
    this.gid = options.gid;
    this.fd = options.fd;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** Whether systemd holds the socket (socket activation). */
  get activated(): boolean {
    return this.fd !== undefined;
  }

  async listen(): Promise<void> {
    if (this.fd === undefined) await claimSocketPath(this.path);
    // allowHalfOpen: a client may send its request and shut its side (`socat -`, `nc -N`); it still gets the answer.
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      const conn = new Connection(socket, this.daemon, methods, this.log, this.stats);
      this.connections.add(conn);
      socket.on('close', () => {
        this.connections.delete(conn);
        this.droppedByClosed += conn.droppedEvents;
      });
    });
    if (this.fd !== undefined) {
      const fd = this.fd;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
    } else if (this.gid !== undefined && this.gid !== process.getgid?.()) {
      await listenWithModeAndGroup(server, this.path, this.mode, this.gid);
      this.server = server;
    } else {
      await listenWithMode(server, this.path, this.mode);
      // Known before the chmod: a stop that comes while it runs must still close and unlink.
      this.server = server;
      await chmod(this.path, this.mode);
    }
    this.liveness = setInterval(() => {
      for (const c of this.connections) c.tick(this.heartbeatMs);
    }, this.heartbeatMs);
    this.liveness.unref();
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
    if (this.liveness) clearInterval(this.liveness);
    this.liveness = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.connections) c.close();
    await closed;
    // An activated socket belongs to systemd's .socket unit: it stays for the next start.
    if (this.fd === undefined) await unlink(this.path).catch(() => {});
  }
}
