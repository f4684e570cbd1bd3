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
import { portProblem, resolvePortPath, setPortBaseDir } from '../../src/config/port-path.js';
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
