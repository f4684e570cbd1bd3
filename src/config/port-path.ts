/**
 * What a `port` names (issue #16). A serial port is a path to a tty character device, or a link to
 * one (`/dev/serial/by-id/...`); a relative path is resolved against the config file's directory,
 * never daqd's working directory (`../dev/ttyUSB0` means the same wherever daqd was started). A path
 * that exists but is not a tty (`/etc/shadow`, `/dev/zero`, a directory) is refused at validation,
 * in the file and over the socket alike; a path that does not exist yet is accepted and retried
 * (the device may be plugged in later: docs/config.md).
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/** `sim`, `sim:<bus>`: the built-in simulators, not a path. */
export function isSimPort(port: string): boolean {
  return port === 'sim' || port.startsWith('sim:');
}

let baseDir = process.cwd();

/** The directory relative ports are resolved against: the config file's (set by the daemon and --check-config). */
export function setPortBaseDir(dir: string): void {
  baseDir = dir;
}

export function resolvePortPath(port: string): string {
  if (isSimPort(port) || isAbsolute(port)) return port;
  return resolve(baseDir, port);
}

/** Unix98 pty slaves (/dev/pts/N) have majors 136-143 and no sysfs entry; everything else asks sysfs. */
function isTtyDevice(rdev: number): boolean {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return true;
  try {
    return realpathSync(`/sys/dev/char/${major}:${minor}/subsystem`).endsWith('/tty');
  } catch {
    return false;
  }
}

const cache = new Map<string, { at: number; problem: string | undefined }>();
const CACHE_MS = 1000;

/**
 * Why `port` cannot be a serial port, or undefined when it is one (or does not exist yet).
 * Checked on every validation, so answers are kept for a second per path.
 */
export function portProblem(port: string): string | undefined {
  if (isSimPort(port) || port.startsWith('tcp://')) return undefined;
  const path = resolvePortPath(port);
  const now = Date.now();
  const hit = cache.get(path);
  if (hit && now - hit.at < CACHE_MS) return hit.problem;
  const problem = check(port, path);
  cache.set(path, { at: now, problem });
  if (cache.size > 10_000) cache.clear();
  return problem;
}

function check(port: string, path: string): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined; // not there (yet): accepted and retried
  }
  const shown = path === port ? port : `${port} (${path})`;
  if (stat.isDirectory()) return `${shown} is a directory, not a serial port; name the device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...`;
  if (!stat.isCharacterDevice()) return `${shown} is a regular file or other non-device, not a serial port; name the device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...`;
  if (!isTtyDevice(stat.rdev)) return `${shown} is a character device but not a serial port (tty); name the device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...`;
  return undefined;
}
