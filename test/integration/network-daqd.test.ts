/**
 * A real daqd with instruments on the network (issue #24), loopback only (127.0.0.1):
 * - a SCPI meter served on a TCP port by the simulator CLI (`daqd-sim --listen`) in its own
 *   process, killed with SIGKILL and restarted on the same port: the meter goes to error and comes
 *   back by itself while the others keep polling;
 * - a Newport 1830-C simulator on a pty behind Debian's ser2net (an independent serial device
 *   server), reached as tcp://127.0.0.1:<port>: polls and a set land on the serial device;
 * - a server that accepts and never answers (timeout) and an address that refuses (error, retried
 *   until something listens there);
 * - ports.list lists the TCP ports, ports.probe answers *IDN? only on request, and serial-line
 *   settings on a TCP port are refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { serveSimulatorTcp, type SimulatorTcpServer } from '../../src/sim/serve-tcp.js';
import { Ell14Simulator } from '../../src/drivers/ell14/simulator.js';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl as runDaqctl } from '../helpers/run.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import type { RpcError } from '../../src/client/client.js';

const LOOPBACK = '127.0.0.1';
const IDN = 'Keysight Technologies,34465A,MY59000001,A.03.01-03.15-03.01-00.52-02-02';

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen({ host: LOOPBACK, port: 0 }, resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Is something listening on 127.0.0.1:port? (read from /proc/net/tcp: no connection is made). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === `0100007F:${hex}` && f[3] === '0A';
    });
}

interface SimProcess {
  proc: ChildProcess;
  port: number;
  exited: Promise<unknown>;
}

/** The simulator CLI serving a SCPI meter on 127.0.0.1:port (0: any); resolves once it listens. */
async function startScpiSim(port: number): Promise<SimProcess> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/sim/cli.ts', '--driver', 'scpi', '--listen', `tcp://${LOOPBACK}:${port}`, '--option', `sim.idn=${IDN}`, '--option', 'channels.volts.query=MEAS:VOLT:DC?', '--option', 'sim.values.volts=1.5'],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const m = await waitUntil(() => /on tcp:\/\/127\.0\.0\.1:(\d+);/.exec(out) ?? (proc.exitCode !== null && Promise.reject(new Error(out))), 20_000, `daqd-sim to listen:\n${out}`);
  return { proc, port: Number(m[1]), exited };
}

async function kill9(sim: SimProcess): Promise<void> {
  if (sim.proc.exitCode === null && sim.proc.signalCode === null) sim.proc.kill('SIGKILL');
  await sim.exited;
}

/** ser2net 4.x serving a pty as raw TCP on 127.0.0.1:port. */
async function startSer2net(dir: string, ptyPath: string, port: number): Promise<{ proc: ChildProcess; exited: Promise<unknown>; out: () => string }> {
  const yaml = join(dir, 'ser2net.yaml');
  writeFileSync(
    yaml,
    `connection: &pm\n  accepter: tcp,${LOOPBACK},${port}\n  connector: serialdev,${realpathSync(ptyPath)},9600n81,local\n  options:\n    kickolduser: true\n`,
  );
  const proc = spawn('ser2net', ['-n', '-d', '-c', yaml, '-P', join(dir, 'ser2net.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  await waitUntil(() => listening(port) || (proc.exitCode !== null && Promise.reject(new Error(`ser2net exited: ${out}`))), 10_000, `ser2net to listen on ${port}:\n${out}`);
  return { proc, exited, out: () => out };
}

function config(scpiPort: number, ser2netPort: number, busPort: number): string {
  return `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[instruments.dmm]
driver = "scpi"
port = "tcp://127.0.0.1:${scpiPort}"
idn_contains = "34465A"
poll_interval_ms = 50
timeout_ms = 500

[instruments.dmm.channels.volts]
query = "MEAS:VOLT:DC?"
unit = "V"

[instruments.pm]
driver = "newport_1830c"
port = "tcp://127.0.0.1:${ser2netPort}"
poll_interval_ms = 50
timeout_ms = 1000

[instruments.steady]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 40

# Two rotation mounts on one RS-485 bus behind one TCP port (a device server).
[instruments.hwp]
driver = "ell14"
port = "tcp://127.0.0.1:${busPort}"
address = "2"
poll_interval_ms = 100

[instruments.qwp]
driver = "ell14"
port = "tcp://127.0.0.1:${busPort}"
address = "3"
poll_interval_ms = 100
`;
}

type Event = { method: string; params: any };
const readingsOf = (events: Event[], id: string) => events.filter((e) => e.method === 'reading' && e.params.instrument === id);
const statesOf = (events: Event[], id: string) => events.filter((e) => e.method === 'instrument.state' && e.params.instrument === id).map((e) => e.params.state as string);
const rpcKind = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return { kind: (err as RpcError).kind, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
};

describe('daqd with instruments on TCP (loopback)', () => {
  let dir: string;
  let pty: PtyPair;
  let pmSim: Newport1830cSimulator;
  let serial: SimulatorServer;
  let ser2net: Awaited<ReturnType<typeof startSer2net>>;
  let ser2netPort: number;
  let scpi: SimProcess;
  let daqd: DaemonHandle;
  let mounts: Ell14Simulator[];
  let bus: SimulatorTcpServer;
  const servers: Server[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-net-'));
    pty = await startPtyPair();
    pmSim = new Newport1830cSimulator({ noise: 0 });
    serial = await serveSimulator({ path: pty.b, simulators: [pmSim] });
    ser2netPort = await freePort();
    ser2net = await startSer2net(dir, pty.a, ser2netPort);
    scpi = await startScpiSim(0);
    mounts = [new Ell14Simulator({ address: '2', speedDegPerS: 5000 }), new Ell14Simulator({ address: '3', speedDegPerS: 5000 })];
    bus = await serveSimulatorTcp({ simulators: mounts });
    daqd = await startDaemon({ config: config(scpi.port, ser2netPort, bus.port) });
    await waitUntil(
      async () => (await daqd.call('instrument.list')).instruments.every((i: { state: string; lastReading: unknown }) => i.state === 'ready' && i.lastReading),
      20_000,
      'every instrument ready and polled',
    );
  }, 60_000);

  afterAll(async () => {
    await daqd?.dispose();
    if (scpi) await kill9(scpi);
    if (ser2net) {
      ser2net.proc.kill('SIGTERM');
      await ser2net.exited;
    }
    await serial?.close();
    await bus?.close();
    for (const m of mounts ?? []) m.dispose();
    pmSim?.dispose();
    await pty?.dispose();
    for (const s of servers) s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('polls a SCPI meter on a TCP socket and a serial meter behind ser2net; a set reaches the serial device', async () => {
    const dmm = await daqd.call('instrument.get', { id: 'dmm' });
    expect(dmm.state).toBe('ready');
    expect(dmm.lastReading.values.volts).toBeCloseTo(1.5, 1);
    pmSim.control.powerW = 1.25e-4;
    await waitUntil(async () => Math.abs((await daqd.call('instrument.get', { id: 'pm' })).lastReading?.values.power - 1.25e-4) < 1e-7, 5000, 'the power through ser2net');
    const set = await daqd.call('instrument.set', { id: 'pm', params: { wavelength_nm: 1064 } });
    expect(set.params).toEqual({ wavelength_nm: 1064 });
    expect(pmSim.state.wavelengthNm).toBe(1064);
  });

  it('two multidrop ELL14 mounts share one TCP connection to a bus; a move reaches only its own mount', async () => {
    expect(bus.connections).toBe(1);
    const set = await daqd.call('instrument.set', { id: 'qwp', params: { position_deg: 45 } });
    expect(set.params).toEqual({ position_deg: 45 });
    expect(mounts[1]!.positionDeg).toBe(45);
    expect(mounts[0]!.positionDeg).toBe(0);
    expect(mounts[0]!.received.every((f) => f.startsWith('2'))).toBe(true);
    expect(mounts[1]!.received.every((f) => f.startsWith('3'))).toBe(true);
    const { ports } = await daqd.call('ports.list');
    expect(ports.find((p: { path: string }) => p.path === `tcp://127.0.0.1:${bus.port}`).usedBy).toEqual(['hwp', 'qwp']);
  });

  it('the TCP instrument server killed (SIGKILL) and restarted: the meter recovers by itself, the others never stop polling', async () => {
    const rec = await EventRecorder.subscribe(daqd, { types: ['reading', 'instrument.state'] });
    try {
      await kill9(scpi);
      await rec.waitFor((e) => e.method === 'instrument.state' && e.params.instrument === 'dmm' && e.params.state === 'error', 10_000, 'dmm to go to error');
      // While it is down, its error says why, and the others keep polling.
      const down = await daqd.call('instrument.get', { id: 'dmm' });
      expect(['disconnected', 'port_error', 'timeout']).toContain(down.lastError.kind);
      const steadyBefore = readingsOf(rec.events, 'steady').length;
      const pmBefore = readingsOf(rec.events, 'pm').length;
      await waitUntil(
        async () => (await daqd.call('instrument.get', { id: 'dmm' })).lastError?.message.match(/connection refused/),
        10_000,
        'a reconnect attempt refused while the server is down',
      );
      await waitUntil(() => readingsOf(rec.events, 'steady').length >= steadyBefore + 5 && readingsOf(rec.events, 'pm').length >= pmBefore + 5, 10_000, 'the others polling on');
      const dmmDuring = readingsOf(rec.events, 'dmm').length;
      scpi = await startScpiSim(scpi.port);
      await rec.waitFor((e) => e.method === 'reading' && e.params.instrument === 'dmm' && readingsOf(rec.events, 'dmm').length > dmmDuring, 15_000, 'dmm polling again');
      expect(statesOf(rec.events, 'dmm')).toContain('ready');
      expect((await daqd.call('instrument.get', { id: 'dmm' })).state).toBe('ready');
      // No error on the bystanders.
      for (const id of ['steady', 'pm', 'hwp', 'qwp']) expect(statesOf(rec.events, id), id).toEqual([]);
    } finally {
      rec.close();
    }
  }, 60_000);

  it('a server that accepts and never answers: the instrument fails with timeout, and recovers once the server answers', async () => {
    let answer = false;
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', (d) => {
        if (answer && d.toString().includes('*IDN?')) socket.write(`${IDN}\n`);
        else if (answer && d.toString().includes('SYST:ERR?')) socket.write('+0,"No error"\n');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ host: LOOPBACK, port: 0 }, resolve));
    const port = (server.address() as { port: number }).port;
    await daqd.call('instrument.add', { id: 'mute', config: { driver: 'scpi', port: `tcp://127.0.0.1:${port}`, timeout_ms: 200, poll_interval_ms: 100 } });
    const view = await waitUntil(async () => {
      const v = await daqd.call('instrument.get', { id: 'mute' });
      return v.lastError?.kind === 'timeout' && v;
    }, 10_000, 'mute to time out');
    expect(view.state).not.toBe('ready');
    expect(view.lastError.message).toMatch(/no reply to \*IDN\? from tcp:\/\/127\.0\.0\.1:\d+ within 200 ms/);
    answer = true;
    await waitUntil(async () => (await daqd.call('instrument.get', { id: 'mute' })).state === 'ready', 15_000, 'mute ready once it answers');
    await daqd.call('instrument.remove', { id: 'mute' });
    for (const s of sockets) s.destroy();
  }, 40_000);

  it('an address that refuses: port_error "connection refused", retried until something listens there', async () => {
    const port = await freePort();
    const rec = await EventRecorder.subscribe(daqd, { types: ['instrument.state'], instruments: ['late'] });
    try {
      await daqd.call('instrument.add', { id: 'late', config: { driver: 'scpi', port: `tcp://127.0.0.1:${port}`, poll_interval_ms: 100 } });
      // Several refused attempts (the actor's capped backoff), each reported the same way.
      await waitUntil(() => statesOf(rec.events, 'late').filter((s) => s === 'error').length >= 2, 10_000, 'two refused attempts');
      const view = await daqd.call('instrument.get', { id: 'late' });
      expect(view.lastError.kind).toBe('port_error');
      expect(view.lastError.message).toMatch(new RegExp(`cannot connect to tcp://127\\.0\\.0\\.1:${port}: connection refused`));
      const late = await startScpiSim(port);
      try {
        await waitUntil(async () => (await daqd.call('instrument.get', { id: 'late' })).state === 'ready', 15_000, 'late ready once something listens');
      } finally {
        await daqd.call('instrument.remove', { id: 'late' });
        await kill9(late);
      }
    } finally {
      rec.close();
    }
  }, 40_000);

  it('ports.list lists the configured TCP ports; ports.probe answers *IDN? on request only, and refuses what it should', async () => {
    const { ports } = await daqd.call('ports.list');
    expect(ports).toEqual(
      expect.arrayContaining([
        { path: `tcp://127.0.0.1:${scpi.port}`, kind: 'tcp', host: '127.0.0.1', tcpPort: scpi.port, exists: true, usedBy: ['dmm'] },
        { path: `tcp://127.0.0.1:${ser2netPort}`, kind: 'tcp', host: '127.0.0.1', tcpPort: ser2netPort, exists: true, usedBy: ['pm'] },
      ]),
    );
    // A second simulator for the probe (the configured one is held by dmm).
    const other = await startScpiSim(0);
    try {
      const probe = await daqd.call('ports.probe', { address: `tcp://127.0.0.1:${other.port}` });
      expect(probe).toEqual({ address: `tcp://127.0.0.1:${other.port}`, idn: IDN, connectMs: expect.any(Number), replyMs: expect.any(Number) });
    } finally {
      await kill9(other);
    }
    expect(await rpcKind(daqd.call('ports.probe', { address: `tcp://127.0.0.1:${scpi.port}` }))).toEqual({ kind: 'in_use', message: expect.stringMatching(/in use by dmm/) });
    expect((await rpcKind(daqd.call('ports.probe', { address: '/dev/ttyUSB0' }))).kind).toBe('invalid_params');
    expect((await rpcKind(daqd.call('ports.probe', { address: 'tcp://127.0.0.1:99999' }))).message).toMatch(/out of range/);
    const refused = await rpcKind(daqd.call('ports.probe', { address: `tcp://127.0.0.1:${await freePort()}`, timeoutMs: 500 }));
    expect(refused).toEqual({ kind: 'port_error', message: expect.stringMatching(/connection refused/) });
  }, 40_000);

  it('daqctl probe prints the *IDN? answer; daqctl ports shows the TCP ports', async () => {
    const daqctl = (...args: string[]) => runDaqctl(daqd.socketPath, args);
    const other = await startScpiSim(0);
    try {
      const ok = await daqctl('probe', `tcp://127.0.0.1:${other.port}`, '--timeout', '1000');
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^tcp://127\\.0\\.0\\.1:${other.port}: ${IDN.replace(/[.]/g, '\\.')}  \\(connected in [\\d.]+ ms, answered in [\\d.]+ ms\\)\n$`));
    } finally {
      await kill9(other);
    }
    const refused = await daqctl('probe', '/dev/ttyUSB0');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ports\.probe takes a tcp:\/\/host:port address.*\[invalid_params\]/);
    const ports = await daqctl('ports');
    expect(ports.code, ports.stderr).toBe(0);
    expect(ports.stdout).toMatch(new RegExp(`^tcp://127\\.0\\.0\\.1:${scpi.port}\\s.*dmm$`, 'm'));
    expect(ports.stdout).toMatch(new RegExp(`^tcp://127\\.0\\.0\\.1:${ser2netPort}\\s.*pm$`, 'm'));
  }, 40_000);

  it('refuses serial-line settings on a TCP port over the socket too', async () => {
    const err = await rpcKind(daqd.call('instrument.add', { id: 'bad', config: { driver: 'newport_1830c', port: 'tcp://127.0.0.1:4001', baud_rate: 19200 } }));
    expect(err.kind).toBe('validation_failed');
    expect(err.message).toMatch(/baud_rate is a serial-line setting and does not apply to a TCP port/);
  });
});
