/**
 * `port` must name a serial device (issue #16): a regular file, a directory or a non-tty character
 * device is refused with the reason, relative paths are the config file's, a path that does not
 * exist yet is accepted (retried, like an unplugged device), a pty is a serial port.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { parsePortAddress, portProblem, resolvePortPath, setPortBaseDir } from '../../src/config/port-path.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';

const meter = (port: string) => ({ instruments: { pm: { driver: 'newport_1830c', port } } });
const portIssue = (port: string) => validateConfig(meter(port)).issues.find((i) => i.path === 'instruments.pm.port')?.message;

describe('serial port paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-port-'));
  let pty: PtyPair | undefined;
  afterAll(async () => {
    await pty?.dispose();
    setPortBaseDir(process.cwd());
  });

  it('refuses a regular file, a directory and a character device that is not a tty, saying why', () => {
    writeFileSync(join(dir, 'notes.txt'), 'x');
    mkdirSync(join(dir, 'devdir'));
    expect(portIssue(join(dir, 'notes.txt'))).toMatch(/not a serial port/);
    expect(portIssue(join(dir, 'devdir'))).toMatch(/is a directory/);
    expect(portIssue('/dev/zero')).toMatch(/character device but not a serial port/);
    expect(portIssue('/etc/hostname')).toMatch(/not a serial port/);
  });

  it('accepts a path that does not exist yet (the device may be plugged in later), sim ports and a pty', async () => {
    expect(portIssue('/dev/ttyUSB-daqd-not-plugged-in')).toBeUndefined();
    expect(portIssue('sim')).toBeUndefined();
    expect(portIssue('sim:bus')).toBeUndefined();
    pty = await startPtyPair();
    expect(portIssue(pty.a)).toBeUndefined(); // a link to /dev/pts/N
  });

  it("resolves relative paths against the config file's directory, not the working directory", () => {
    setPortBaseDir(dir);
    writeFileSync(join(dir, 'here.txt'), 'x');
    expect(resolvePortPath('here.txt')).toBe(join(dir, 'here.txt'));
    expect(portProblem('here.txt')).toMatch(new RegExp(`here.txt \\(${join(dir, 'here.txt').replace(/[.]/g, '\\.')}\\)`));
    expect(resolvePortPath('/dev/ttyUSB0')).toBe('/dev/ttyUSB0');
  });
});

describe('tcp:// ports (issue #24)', () => {
  it('parses every kind of port into a typed address', () => {
    expect(parsePortAddress('sim')).toEqual({ kind: 'sim', spec: 'sim' });
    expect(parsePortAddress('sim:rs485')).toEqual({ kind: 'sim-bus', spec: 'sim:rs485', bus: 'rs485' });
    expect(parsePortAddress('/dev/ttyUSB0')).toEqual({ kind: 'serial', spec: '/dev/ttyUSB0', path: '/dev/ttyUSB0' });
    expect(parsePortAddress('tcp://192.168.1.50:5025')).toEqual({ kind: 'tcp', spec: 'tcp://192.168.1.50:5025', host: '192.168.1.50', port: 5025 });
    expect(parsePortAddress('tcp://Scope-1.LAB.example:5555')).toEqual({ kind: 'tcp', spec: 'tcp://scope-1.lab.example:5555', host: 'scope-1.lab.example', port: 5555 });
    expect(parsePortAddress('tcp://[::1]:4000')).toEqual({ kind: 'tcp', spec: 'tcp://[::1]:4000', host: '::1', port: 4000 });
    // A tcp port is never resolved against the config directory.
    expect(resolvePortPath('tcp://LOCALHOST:5025')).toBe('tcp://localhost:5025');
  });

  it('refuses malformed addresses with the reason, at validation', () => {
    const cases: [string, RegExp][] = [
      ['tcp://192.168.1.50', /give the port number/],
      ['tcp://192.168.1.50:', /give the port number/],
      ['tcp://192.168.1.50:0', /out of range \(1-65535\)/],
      ['tcp://192.168.1.50:65536', /out of range/],
      ['tcp://192.168.1.50:50x', /not a port number/],
      ['tcp://999.1.1.1:5025', /not an IPv4 address/],
      ['tcp://user:pw@10.0.0.2:5025', /no user name or password/],
      ['tcp://10.0.0.2:5025/inst0', /no path/],
      ['tcp://10.0.0.2:5025?x=1', /no path, query/],
      ['tcp://:5025', /give a host/],
      ['tcp://fe80::1:5025', /IPv6 address goes in brackets/],
      ['tcp://[fe80::zz]:5025', /not an IPv6 address/],
      ['tcp://bad_host!:5025', /not a host name/],
      ['vxi11://10.0.0.2', /vxi11:\/\/ is not supported/],
      ['udp://10.0.0.2:5025', /udp:\/\/ is not supported/],
    ];
    for (const [port, why] of cases) {
      expect(portIssue(port), port).toMatch(why);
      expect(() => parsePortAddress(port), port).toThrow(why);
    }
    expect(portIssue('tcp://127.0.0.1:5025')).toBeUndefined();
    expect(portIssue('tcp://[::1]:5025')).toBeUndefined();
    expect(portIssue('tcp://instrument.local:5025')).toBeUndefined();
  });

  it('refuses serial-line settings on a TCP port, each with a clear error', () => {
    const config = {
      instruments: {
        dmm: { driver: 'scpi', port: 'tcp://127.0.0.1:5025', baud_rate: 9600, parity: 'none', flow_control: 'none', data_bits: 8, stop_bits: 1 },
      },
    };
    const issues = validateConfig(config).issues;
    for (const key of ['baud_rate', 'parity', 'flow_control', 'data_bits', 'stop_bits']) {
      const issue = issues.find((i) => i.path === `instruments.dmm.${key}`);
      expect(issue?.message, key).toMatch(new RegExp(`${key} is a serial-line setting and does not apply to a TCP port`));
    }
    // Line numbers when the config came from a file.
    const text = '[instruments.dmm]\ndriver = "scpi"\nport = "tcp://127.0.0.1:5025"\nbaud_rate = 115200\n';
    const fromFile = validateConfig({ instruments: { dmm: { driver: 'scpi', port: 'tcp://127.0.0.1:5025', baud_rate: 115200 } } }, text).issues;
    expect(fromFile).toEqual([expect.objectContaining({ path: 'instruments.dmm.baud_rate', line: 4 })]);
    // Without them the same table is fine.
    expect(validateConfig({ instruments: { dmm: { driver: 'scpi', port: 'tcp://127.0.0.1:5025' } } }).issues).toEqual([]);
  });

  it('lets multidrop instruments share one TCP bus at distinct addresses, and refuses anything else', () => {
    const bus = (a: string, b: string) => ({
      instruments: {
        m1: { driver: 'ell14', port: 'tcp://127.0.0.1:4001', address: a },
        m2: { driver: 'ell14', port: 'tcp://127.0.0.1:4001', address: b },
      },
    });
    expect(validateConfig(bus('0', '1')).issues).toEqual([]);
    expect(validateConfig(bus('0', '0')).issues.map((i) => i.message).join('\n')).toMatch(/both use bus address 0/);
    const two = { instruments: { a: { driver: 'scpi', port: 'tcp://127.0.0.1:5025' }, b: { driver: 'scpi', port: 'tcp://127.0.0.1:5025' } } };
    expect(validateConfig(two).issues.map((i) => i.message).join('\n')).toMatch(/cannot share a port/);
  });
});
