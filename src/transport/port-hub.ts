/**
 * PortHub: shared, ref-counted ports. Instruments lease a Link on a port; multidrop instruments
 * naming the same port share one open transport and one request queue. The port closes when the
 * last lease is released and can be acquired again at once.
 *
 * Port specs (parsed by parsePortAddress): "sim" = a private simulator; "sim:<bus>" = a simulated
 * bus shared by the multidrop instruments naming it; "tcp://host:port" = a TCP connection (a raw
 * SCPI socket or a serial device server; one connection per instrument, or per shared bus);
 * anything else = a serial device path.
 */
import { realpathSync } from 'node:fs';
import { DaqError, isDaqError } from '../errors.js';
import type { DeviceSimulator } from '../drivers/types.js';
import type { ByteTransport, Exchange, Link } from './types.js';
import { QueuedLink, DEFAULT_TIMEOUT_MS } from './link.js';
import { SerialTransport } from './serial-transport.js';
import { SimTransport } from './sim-transport.js';
import { TcpTransport } from './tcp-transport.js';
import { parsePortAddress, type PortAddress } from '../config/port-path.js';
import { checkPortClaims, portKey, type PortClaim } from './port-claims.js';
import { lineRate } from './serial-settings.js';

export interface PortRequest extends PortClaim {
  /** Builds this instrument's simulator; required for "sim" and "sim:<bus>" ports. */
  createSimulator?: () => DeviceSimulator;
  /** Default reply timeout for this port's link (the first lease on a port decides). */
  timeoutMs?: number;
}

export interface PortLease {
  readonly instrumentId: string;
  /** The port key (spec, or the resolved device path). */
  readonly port: string;
  /** Errors from this link start with the instrument id. */
  readonly link: Link;
  /** The shared transport, for diagnostics and tests (e.g. SimTransport.unplug()). */
  readonly transport: ByteTransport;
  /** Idempotent. The port closes when the last lease on it is released. */
  release(): Promise<void>;
}

export interface PortHubOptions {
  /** Pace simulated ports at their baud rate (default true). */
  simPacing?: boolean;
  defaultTimeoutMs?: number;
  /** Connect timeout for tcp:// ports (ms, default 3000). */
  connectTimeoutMs?: number;
}

interface Lease extends PortLease {
  claim: PortClaim;
  simulator?: DeviceSimulator;
}

interface PortEntry {
  key: string;
  transport: ByteTransport;
  link: QueuedLink;
  leases: Set<Lease>;
}

export class PortHub {
  private readonly entries = new Map<string, PortEntry>();
  /** Ports whose transport is still closing after the last release; acquire waits for it. */
  private readonly closing = new Map<string, Promise<void>>();

  constructor(private readonly options: PortHubOptions = {}) {}

  async acquire(request: PortRequest): Promise<PortLease> {
    let address: PortAddress;
    try {
      address = parsePortAddress(request.port);
    } catch (err) {
      throw new DaqError('port_error', `${request.instrumentId}: ${(err as Error).message}`, { details: { port: request.port } });
    }
    const key = resolveKey(address, request.instrumentId);
    await this.closing.get(key);
    const existing = this.entries.get(key);
    // An instrument never holds two leases. One of its own still here belongs to a connect that was
    // superseded (a restart or reconfigure while it was connecting) and has not unwound yet: it goes
    // now (its exchanges fail as disconnected) instead of making this one a port conflict.
    const superseded = existing ? [...existing.leases].filter((l) => l.claim.instrumentId === request.instrumentId) : [];
    if (superseded.length > 0) {
      for (const lease of superseded) await lease.release();
      return this.acquire(request);
    }
    const claim: PortClaim = {
      instrumentId: request.instrumentId,
      port: key,
      serial: request.serial,
      multidrop: request.multidrop,
      busAddress: request.busAddress,
    };
    const others = existing ? [...existing.leases].map((l) => l.claim) : [];
    const conflicts = checkPortClaims([...others, claim]);
    if (conflicts.length > 0) {
      throw new DaqError('port_conflict', `${request.instrumentId}: ${conflicts.map((c) => c.message).join('; ')}`, {
        details: { port: key, instruments: [...new Set(conflicts.flatMap((c) => c.instruments))] },
      });
    }
    const isSim = address.kind === 'sim' || address.kind === 'sim-bus';
    if (isSim && !request.createSimulator) {
      throw new DaqError('port_error', `${request.instrumentId}: its driver has no simulator, so port "${request.port}" cannot be used`);
    }

    const entry = existing ?? this.createEntry(key, request, address);
    const lease = this.makeLease(entry, claim);
    entry.leases.add(lease);
    if (isSim) {
      lease.simulator = request.createSimulator!();
      (entry.transport as SimTransport).attach(lease.simulator);
    }
    try {
      await entry.transport.open();
    } catch (err) {
      await lease.release();
      throw prefixError(err, request.instrumentId);
    }
    return lease;
  }

  /** Instruments holding a lease on each open port, for status output. */
  ports(): { port: string; instruments: string[]; open: boolean }[] {
    return [...this.entries.values()].map((e) => ({
      port: e.key,
      instruments: [...e.leases].map((l) => l.instrumentId),
      open: e.transport.isOpen,
    }));
  }

  /** Releases every lease (daemon shutdown). */
  async closeAll(): Promise<void> {
    const leases = [...this.entries.values()].flatMap((e) => [...e.leases]);
    await Promise.all(leases.map((l) => l.release()));
    await Promise.all([...this.closing.values()]);
  }

  private createEntry(key: string, request: PortRequest, address: PortAddress): PortEntry {
    let transport: ByteTransport;
    switch (address.kind) {
      case 'sim':
      case 'sim-bus':
        transport = new SimTransport({
          description: address.kind === 'sim' ? `simulator for ${request.instrumentId}` : `simulated bus ${request.port}`,
          serial: request.serial,
          pacing: this.options.simPacing ?? true,
        });
        break;
      case 'tcp':
        transport = new TcpTransport({ host: address.host, port: address.port, connectTimeoutMs: this.options.connectTimeoutMs });
        break;
      case 'serial':
        // Open the configured path, not its resolved target: a re-plugged adapter or restarted pty
        // gets a new /dev node behind the same stable link.
        transport = new SerialTransport(address.path, request.serial);
        break;
    }
    const link = new QueuedLink(transport, {
      // A TCP port has no line rate of its own; the driver's serial defaults stand for the slowest
      // segment (the serial line behind a device server). Nothing paces on it.
      lineRate: lineRate(request.serial),
      timeoutMs: request.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      autoReopen: true,
    });
    const entry: PortEntry = { key, transport, link, leases: new Set() };
    this.entries.set(key, entry);
    return entry;
  }

  private makeLease(entry: PortEntry, claim: PortClaim): Lease {
    let released = false;
    const id = claim.instrumentId;
    const hub = this;
    // Errors name the instrument (several share a bus). One handler per lease, not per exchange.
    const prefixed = (err: unknown): never => {
      throw prefixError(err, id);
    };
    const link: Link = {
      lineRate: entry.link.lineRate,
      request(exchange: Exchange) {
        if (released) return Promise.reject(new DaqError('disconnected', `${id}: its port ${entry.key} was released`));
        return entry.link.request(exchange).then(undefined, prefixed);
      },
    };
    const lease: Lease = {
      instrumentId: id,
      port: entry.key,
      link,
      transport: entry.transport,
      claim,
      async release() {
        if (released) return;
        released = true;
        entry.leases.delete(lease);
        if (lease.simulator) (entry.transport as SimTransport).detach(lease.simulator);
        if (entry.leases.size === 0) await hub.closeEntry(entry);
      },
    };
    return lease;
  }

  private async closeEntry(entry: PortEntry): Promise<void> {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    entry.link.dispose(new DaqError('disconnected', `port ${entry.key} was released`));
    const done = entry.transport
      .close()
      .catch(() => {})
      .finally(() => {
        if (entry.transport instanceof SimTransport) entry.transport.dispose();
        if (this.closing.get(entry.key) === done) this.closing.delete(entry.key);
      });
    this.closing.set(entry.key, done);
    await done;
  }
}

/**
 * Different paths to one device (/dev/serial/by-id/... and /dev/ttyUSB0) are one port; a TCP
 * address is its canonical `tcp://host:port` (no name lookup: two names for one host are two ports).
 */
function resolveKey(address: PortAddress, instrumentId: string): string {
  if (address.kind === 'sim' || address.kind === 'sim-bus' || address.kind === 'tcp') return portKey(address.spec, instrumentId);
  try {
    return realpathSync(address.path);
  } catch {
    return address.path; // not plugged in (yet): keep the configured path
  }
}

function prefixError(err: unknown, instrumentId: string): unknown {
  if (!isDaqError(err) || err.message.startsWith(`${instrumentId}: `)) return err;
  return new DaqError(err.kind, `${instrumentId}: ${err.message}`, { details: err.details, cause: err.cause ?? err });
}
