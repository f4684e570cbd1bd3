/**
 * What a `port` names (issue #16). A serial port is a path to a tty character device, or a link to
 * one (`/dev/serial/by-id/...`); a relative path is resolved against the config file's directory,
 * never daqd's working directory (`../dev/ttyUSB0` means the same wherever daqd was started). A path
 * that exists but is not a tty (`/etc/shadow`, `/dev/zero`, a directory) is refused at validation,
 * in the file and over the socket alike; a path that does not exist yet is accepted and retried
 * (the device may be plugged in later: docs/config.md).
 *
 * A port is parsed once into a typed address (`parsePortAddress`): a serial path, `sim`,
 * `sim:<bus>`, or `tcp://host:port` (issue #24: a raw SCPI socket or a serial device server such
 * as ser2net or a Moxa NPort). The transport layer, port sharing, validation and `ports.list` all
 * decide from the address kind, never from the string again.
 */
import { realpathSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { DaqError } from '../errors.js';

/** What a `port = "..."` names. `spec` is the canonical text (port keys, messages). */
export type PortAddress =
  | { kind: 'sim'; spec: 'sim' }
  | { kind: 'sim-bus'; spec: string; bus: string }
  | { kind: 'serial'; spec: string; path: string }
  | { kind: 'tcp'; spec: string; host: string; port: number };

export type TcpAddress = Extract<PortAddress, { kind: 'tcp' }>;

/** Serial-line settings: meaningless on a TCP port (the device server's own config sets them). */
export const SERIAL_ONLY_KEYS = ['baud_rate', 'data_bits', 'parity', 'stop_bits', 'flow_control'] as const;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const TCP_EXAMPLE = 'e.g. tcp://192.168.1.50:5025 or tcp://scope.lab:5025';

/**
 * Why `port` is not a usable `tcp://host:port`, or undefined. The host is a literal IPv4 address,
 * an IPv6 address in brackets, or a host name; no user, password, path or query; the port is
 * required (instruments differ: 5025 for most SCPI sockets, 5555, 4000; a device server's own).
 */
export function tcpProblem(port: string): string | undefined {
  return parseTcp(port).problem;
}

function parseTcp(port: string): { address?: TcpAddress; problem?: string } {
  const fail = (why: string) => ({ problem: `${JSON.stringify(port)} is not a valid TCP port: ${why} (${TCP_EXAMPLE})` });
  const scheme = SCHEME.exec(port);
  if (!scheme) return fail('it must start with tcp://');
  if (scheme[1] !== 'tcp') {
    return {
      problem: `${JSON.stringify(port)}: ${scheme[1]}:// is not supported; a port is a serial device path, "sim", "sim:<bus>" or tcp://host:port (VXI-11 and HiSLIP are not supported yet: docs/network.md)`,
    };
  }
  const rest = port.slice(scheme[0].length);
  if (rest.includes('@')) return fail('no user name or password (raw sockets have none)');
  if (/[/?#\s]/.test(rest)) return fail('no path, query or spaces after host:port');
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return fail('an IPv6 address needs its closing ]');
    host = rest.slice(1, close);
    if (isIP(host) !== 6) return fail(`${JSON.stringify(host)} is not an IPv6 address`);
    if (rest[close + 1] !== ':') return fail('give the port number after the address, e.g. [::1]:5025');
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) return fail('give the port number, e.g. :5025');
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(':')) return fail('an IPv6 address goes in brackets, e.g. tcp://[fe80::1]:5025');
    if (host === '') return fail('give a host');
    if (/^[0-9.]+$/.test(host)) {
      if (isIP(host) !== 4) return fail(`${JSON.stringify(host)} is not an IPv4 address`);
    } else if (host.length > 253 || !host.split('.').every((label) => HOST_LABEL.test(label))) {
      return fail(`${JSON.stringify(host)} is not a host name (letters, digits and "-" in dot-separated labels) or an IP address`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return fail(portText === '' ? 'give the port number, e.g. :5025' : `${JSON.stringify(portText)} is not a port number`);
  const number = Number(portText);
  if (number < 1 || number > 65535) return fail(`port ${number} is out of range (1-65535)`);
  const lower = host.toLowerCase();
  const spec = isIP(lower) === 6 ? `tcp://[${lower}]:${number}` : `tcp://${lower}:${number}`;
  return { address: { kind: 'tcp', spec, host: lower, port: number } };
}

/** True for `tcp://...` (valid or not): not a path, never resolved against a directory. */
export function isTcpPort(port: string): boolean {
  return port.startsWith('tcp://');
}

/** Anything that names a network scheme (`tcp://`, `vxi11://`, `udp://`): not a serial path. */
function hasScheme(port: string): boolean {
  return SCHEME.test(port);
}

/**
 * The typed address of a `port`. Serial paths come back resolved (relative ones against the
 * config file's directory); a malformed `tcp://` (or another scheme) throws `invalid_params` with
 * the reason (validation reports the same text through portProblem).
 */
export function parsePortAddress(port: string): PortAddress {
  if (port === 'sim') return { kind: 'sim', spec: 'sim' };
  if (port.startsWith('sim:')) return { kind: 'sim-bus', spec: port, bus: port.slice(4) };
  if (hasScheme(port)) {
    const { address, problem } = parseTcp(port);
    if (!address) throw new DaqError('invalid_params', problem!, { details: { port } });
    return address;
  }
  const path = resolvePortPath(port);
  return { kind: 'serial', spec: path, path };
}

/** The canonical text of a port (tcp hosts lower-cased, serial paths resolved); `port` itself if it does not parse. */
export function canonicalPort(port: string): string {
  try {
    return parsePortAddress(port).spec;
  } catch {
    return port;
  }
}

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
  if (isSimPort(port)) return port;
  if (hasScheme(port)) return canonicalTcpOrSelf(port); // tcp://: never a path
  if (isAbsolute(port)) return port;
  return resolve(baseDir, port);
}

function canonicalTcpOrSelf(port: string): string {
  return parseTcp(port).address?.spec ?? port;
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
  if (isSimPort(port)) return undefined;
  if (hasScheme(port)) return parseTcp(port).problem;
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
