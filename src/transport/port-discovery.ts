/**
 * Lists candidate serial ports. `SerialPort.list()` spawns `udevadm` on Linux and, where udev is
 * missing (containers, minimal installs), crashes the whole process with an unhandled
 * `spawn udevadm ENOENT` - so it is only called when udevadm is on PATH, and the file system is the
 * fallback (/dev/serial/by-id links first: they survive re-plugging).
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface DiscoveredPort {
  path: string;
  /** Manufacturer / serial number where the OS reports them. */
  description?: string;
}

export async function listSerialPorts(): Promise<DiscoveredPort[]> {
  if (hasExecutable('udevadm')) {
    try {
      const { SerialPort } = await import('serialport');
      const ports = await SerialPort.list();
      return ports.map((p) => ({
        path: p.path,
        description: [p.manufacturer, p.serialNumber].filter(Boolean).join(' ') || undefined,
      }));
    } catch {
      // fall through to the file system
    }
  }
  return listFromDev();
}

function listFromDev(): DiscoveredPort[] {
  const found: DiscoveredPort[] = [];
  const byId = '/dev/serial/by-id';
  for (const name of safeReaddir(byId)) found.push({ path: join(byId, name), description: name });
  for (const name of safeReaddir('/dev')) {
    if (/^tty(USB|ACM)\d+$/.test(name)) found.push({ path: join('/dev', name) });
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function hasExecutable(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}
