import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { QueuedLink, lineReply } from '../../src/transport/link.js';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { DEFAULT_SERIAL } from '../../src/transport/serial-settings.js';
import { startPtyPair, waitFor, type PtyPair } from '../helpers/pty.js';

let pty: PtyPair | undefined;
let child: ChildProcess | undefined;
let host: SerialTransport | undefined;
afterEach(async () => {
  await host?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await pty?.dispose();
  pty = child = host = undefined;
});

function runCli(args: string[]): { out: () => string; err: () => string; proc: ChildProcess } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', ...args], { cwd: process.cwd() });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  child = proc;
  return { out: () => out, err: () => err, proc };
}

describe('simulator CLI', () => {
  it('serves a Newport 1830-C on a pty that a serial client can talk to', async () => {
    pty = await startPtyPair();
    const cli = runCli(['--driver', 'newport_1830c', '--port', pty.b, '--option', 'sim.power_w=0.001']);
    await waitFor(() => cli.out().includes('serving') || cli.proc.exitCode !== null, 15000, 'the simulator to start');
    expect(cli.out()).toContain(`on ${pty.b} at 9600 8N1`);
    host = new SerialTransport(pty.a, DEFAULT_SERIAL);
    await host.open();
    const link = new QueuedLink(host, { lineRate: 960, timeoutMs: 2000 });
    const reply = await link.request({ write: 'D?\n', reply: lineReply('\n') });
    expect(Number(reply!.toString())).toBeCloseTo(1e-3, 4);
    expect((await link.request({ write: 'W?\n', reply: lineReply('\n') }))!.toString()).toBe('0800');
  });

  it('exits 1 with a readable message for an unknown driver', async () => {
    const cli = runCli(['--driver', 'nope', '--port', '/dev/null']);
    const code = await new Promise((r) => cli.proc.once('close', r));
    expect(code).toBe(1);
    expect(cli.err()).toMatch(/unknown driver "nope" \(known drivers: .*newport_1830c/);
    expect(cli.err()).not.toMatch(/\n\s+at /); // no stack trace
  });
});
