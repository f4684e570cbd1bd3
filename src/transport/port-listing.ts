/**
 * ports.list: the serial ports a person can use, like pyserial's `list_ports`: each tty with a
 * hardware device behind it (from sysfs, no udevadm needed: containers and minimal installs have
 * none), its stable `/dev/serial/by-id` name, the USB vendor/product ids, serial number and
 * manufacturer where the device reports them, and which configured instrument uses it. Ports named
 * in the config that are not hardware ttys (a pty from socat, a missing device) are listed too, and
 * so are configured `tcp://host:port` ports (kind "tcp"; listed from the config only: daqd never
 * connects anywhere to list ports).
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parsePortAddress } from '../config/port-path.js';

export interface PortInfo {
  /** The device path, or `tcp://host:port` for a network port. */
  path: string;
  /** Only for network ports: "tcp" (serial ports leave it out). */
  kind?: 'tcp';
  host?: string;
  tcpPort?: number;
  /** /dev/serial/by-id/... link to it, if any (survives re-plugging; use it in the config). */
  byId?: string;
  byPath?: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  driver?: string;
  exists: boolean;
  /** Instruments whose `port` names this device. */
  usedBy: string[];
}

const SYS_TTY = '/sys/class/tty';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function links(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      out.set(realpathSync(join(dir, name)), join(dir, name));
    } catch {
      // a dangling link: the device is gone
    }
  }
  return out;
}

/** USB attributes live on an ancestor of the tty's device directory (interface -> device). */
function usbAttributes(ttyName: string): Partial<PortInfo> {
  let dir: string;
  try {
    dir = realpathSync(join(SYS_TTY, ttyName, 'device'));
  } catch {
    return {};
  }
  const driver = (() => {
    try {
      return basename(readlinkSync(join(dir, 'driver')));
    } catch {
      return undefined;
    }
  })();
  for (let i = 0; i < 4 && dir !== '/'; i++, dir = dirname(dir)) {
    const vendorId = read(join(dir, 'idVendor'));
    if (vendorId) {
      return {
        vendorId,
        productId: read(join(dir, 'idProduct')),
        serialNumber: read(join(dir, 'serial')),
        manufacturer: read(join(dir, 'manufacturer')),
        product: read(join(dir, 'product')),
        ...(driver ? { driver } : {}),
      };
    }
  }
  return driver ? { driver } : {};
}

/** Hardware ttys: those with a `device` behind them, minus the legacy 8250 ports with no UART. */
function hardwareTtys(): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(SYS_TTY);
  } catch {
    return [];
  }
  return names.filter((name) => {
    if (!existsSync(join(SYS_TTY, name, 'device'))) return false;
    if (/^ttyS\d+$/.test(name)) return read(join(SYS_TTY, name, 'type')) !== '0'; // 0 = no UART present
    return true;
  });
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * `configured`: instrument id -> its port as written in the config (serial paths only; sim ports
 * are left out by the caller), resolved against `baseDir` when relative.
 */
export function listPorts(configured: ReadonlyMap<string, string>, baseDir: string): PortInfo[] {
  const byId = links('/dev/serial/by-id');
  const byPath = links('/dev/serial/by-path');
  const ports = new Map<string, PortInfo>();
  for (const name of hardwareTtys()) {
    const path = `/dev/${name}`;
    ports.set(path, {
      path,
      ...(byId.has(path) ? { byId: byId.get(path)! } : {}),
      ...(byPath.has(path) ? { byPath: byPath.get(path)! } : {}),
      ...usbAttributes(name),
      exists: existsSync(path),
      usedBy: [],
    });
  }
  for (const [id, port] of configured) {
    let address;
    try {
      address = parsePortAddress(port);
    } catch {
      continue; // malformed tcp://: the config was refused, nothing to list
    }
    if (address.kind === 'sim' || address.kind === 'sim-bus') continue;
    if (address.kind === 'tcp') {
      const entry = ports.get(address.spec) ?? { path: address.spec, kind: 'tcp' as const, host: address.host, tcpPort: address.port, exists: true, usedBy: [] };
      ports.set(address.spec, entry);
      entry.usedBy.push(id);
      continue;
    }
    const real = realOrSelf(resolve(baseDir, port));
    let entry = ports.get(real);
    if (!entry) {
      let exists = false;
      try {
        exists = statSync(real).isCharacterDevice();
      } catch {
        exists = false;
      }
      entry = { path: real, ...(byId.has(real) ? { byId: byId.get(real)! } : {}), exists, usedBy: [] };
      ports.set(real, entry);
    }
    entry.usedBy.push(id);
  }
  return [...ports.values()].sort((a, b) => a.path.localeCompare(b.path));
}
