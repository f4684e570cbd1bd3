import { afterEach, describe, expect, it } from 'vitest';
import { PortHub, type PortRequest } from '../../src/transport/port-hub.js';
import { checkPortClaims } from '../../src/transport/port-claims.js';
import { lineReply } from '../../src/transport/link.js';
import { SimTransport } from '../../src/transport/sim-transport.js';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { DEFAULT_SERIAL } from '../../src/transport/serial-settings.js';
import { startPtyPair, waitFor, type PtyPair } from '../helpers/pty.js';
import { serveSimulator } from '../../src/sim/serve.js';
import { AddressedDevice, ScriptedDevice } from './scripted-device.js';

const line = lineReply('\n');
const text = (b: Buffer | undefined) => b?.toString('latin1');
let hub: PortHub;
let pty: PtyPair | undefined;
const extra: SerialTransport[] = [];

afterEach(async () => {
  await hub?.closeAll();
  await Promise.all(extra.splice(0).map((t) => t.close()));
  await pty?.dispose();
  pty = undefined;
});

function req(instrumentId: string, port: string, more: Partial<PortRequest> = {}): PortRequest {
  return { instrumentId, port, serial: DEFAULT_SERIAL, multidrop: false, ...more };
}

describe('checkPortClaims', () => {
  it('returns every conflict in a config at once', () => {
    const conflicts = checkPortClaims([
      req('pm1', '/dev/ttyUSB0'),
      req('pm2', '/dev/ttyUSB0'),
      req('m1', '/dev/ttyUSB1', { multidrop: true, busAddress: '1' }),
      req('m2', '/dev/ttyUSB1', { multidrop: true, busAddress: '1' }),
      req('m3', '/dev/ttyUSB1', { multidrop: true, busAddress: '2', serial: { ...DEFAULT_SERIAL, baudRate: 19200 } }),
      req('s1', 'sim'),
      req('s2', 'sim'),
    ]);
    expect(conflicts.map((c) => [c.reason, c.instruments])).toEqual([
      ['not_multidrop', ['pm1', 'pm2']],
      ['same_address', ['m1', 'm2']],
      ['serial_mismatch', ['m1', 'm2', 'm3']],
    ]);
    expect(conflicts[0]!.message).toMatch(/\/dev\/ttyUSB0.*pm1 and pm2/);
    expect(conflicts[2]!.message).toMatch(/m3 19200 8N1/);
  });

  it('accepts multidrop instruments at different addresses on one port', () => {
    expect(
      checkPortClaims([
        req('a', 'sim:bus', { multidrop: true, busAddress: '1' }),
        req('b', 'sim:bus', { multidrop: true, busAddress: '2' }),
      ]),
    ).toEqual([]);
  });
});

describe('PortHub', () => {
  it('gives each "sim" instrument its own simulator', async () => {
    hub = new PortHub({ simPacing: false });
    const a = await hub.acquire(req('a', 'sim', { createSimulator: () => new ScriptedDevice() }));
    const b = await hub.acquire(req('b', 'sim', { createSimulator: () => new ScriptedDevice() }));
    expect(a.transport).not.toBe(b.transport);
    expect(text(await a.link.request({ write: 'x\n', reply: line }))).toBe('ok x');
  });

  it('lets two multidrop instruments share one transport and one queue on a simulated bus', async () => {
    hub = new PortHub({ simPacing: false });
    const devices = { '1': new AddressedDevice('1'), '2': new AddressedDevice('2') };
    const m1 = await hub.acquire(req('m1', 'sim:rs485', { multidrop: true, busAddress: '1', createSimulator: () => devices['1'] }));
    const m2 = await hub.acquire(req('m2', 'sim:rs485', { multidrop: true, busAddress: '2', createSimulator: () => devices['2'] }));
    expect(m1.transport).toBe(m2.transport);
    devices['1'].hold = true;
    const r1 = m1.link.request({ write: '1:read\n', reply: line });
    const r2 = m2.link.request({ write: '2:read\n', reply: line });
    await waitFor(() => devices['1'].lines.length === 1, 1000, 'the first request on the bus');
    await new Promise((r) => setImmediate(r));
    // Both devices hear every byte on the bus, and m2's request waits for m1's exchange.
    expect(devices['2'].lines.map((l) => l.text)).toEqual(['1:read']);
    devices['1'].releaseOne();
    expect(text(await r1)).toBe('1:ok read');
    expect(text(await r2)).toBe('2:ok read');
    expect(hub.ports()).toEqual([{ port: 'sim:rs485', instruments: ['m1', 'm2'], open: true }]);
  });

  it('refuses conflicting claims with port_conflict naming the instruments', async () => {
    hub = new PortHub({ simPacing: false });
    const sim = () => new AddressedDevice('1');
    await hub.acquire(req('pm1', 'sim:x', { createSimulator: sim }));
    await expect(hub.acquire(req('pm2', 'sim:x', { createSimulator: sim }))).rejects.toMatchObject({
      kind: 'port_conflict',
      message: expect.stringMatching(/pm1 and pm2/),
    });
    await hub.acquire(req('m1', 'sim:y', { multidrop: true, busAddress: '1', createSimulator: sim }));
    await expect(
      hub.acquire(req('m2', 'sim:y', { multidrop: true, busAddress: '1', createSimulator: sim })),
    ).rejects.toMatchObject({ kind: 'port_conflict', message: expect.stringMatching(/bus address 1/) });
    await expect(
      hub.acquire(
        req('m3', 'sim:y', { multidrop: true, busAddress: '3', serial: { ...DEFAULT_SERIAL, baudRate: 115200 }, createSimulator: sim }),
      ),
    ).rejects.toMatchObject({ kind: 'port_conflict', message: expect.stringMatching(/same serial settings/) });
    // The refused claims left no trace: the bus still holds m1 only.
    expect(hub.ports().find((p) => p.port === 'sim:y')?.instruments).toEqual(['m1']);
  });

  it('closes a real port when the last lease is released and reopens it at once', async () => {
    pty = await startPtyPair();
    hub = new PortHub();
    const multi = { multidrop: true };
    const m1 = await hub.acquire(req('m1', pty.a, { ...multi, busAddress: '1' }));
    const m2 = await hub.acquire(req('m2', pty.a, { ...multi, busAddress: '2' }));
    expect(m1.transport).toBe(m2.transport);
    const transport = m1.transport;
    await m1.release();
    expect(transport.isOpen).toBe(true);
    await expect(m1.link.request({ write: 'x\n' })).rejects.toMatchObject({ kind: 'disconnected', message: expect.stringMatching(/^m1: /) });
    await m2.release();
    expect(transport.isOpen).toBe(false);
    expect(hub.ports()).toEqual([]);

    const again = await hub.acquire(req('m1', pty.a, { ...multi, busAddress: '1' }));
    expect(again.transport.isOpen).toBe(true);
    // And the bytes really go out on the new port.
    const device = new SerialTransport(pty.b, DEFAULT_SERIAL);
    extra.push(device);
    await device.open();
    let got = '';
    device.onData((c) => (got += c.toString('latin1')));
    await again.link.request({ write: 'hello\n' });
    await waitFor(() => got === 'hello\n', 2000, 'bytes on the reopened port');
  });

  it('shares a real serial bus between multidrop instruments, each answered by its own device', async () => {
    pty = await startPtyPair();
    const server = await serveSimulator({ path: pty.b, simulators: [new AddressedDevice('1'), new AddressedDevice('2')] });
    hub = new PortHub();
    const m1 = await hub.acquire(req('m1', pty.a, { multidrop: true, busAddress: '1', timeoutMs: 3000 }));
    const m2 = await hub.acquire(req('m2', pty.a, { multidrop: true, busAddress: '2' }));
    const replies = await Promise.all([
      m1.link.request({ write: '1:a\n', reply: line }),
      m2.link.request({ write: '2:b\n', reply: line }),
      m1.link.request({ write: '1:c\n', reply: line }),
    ]);
    expect(replies.map(text)).toEqual(['1:ok a', '2:ok b', '1:ok c']);
    await server.close();
  });

  it('refuses a port that does not exist and keeps no claim on it', async () => {
    hub = new PortHub();
    await expect(hub.acquire(req('pm1', '/dev/ttyDOESNOTEXIST'))).rejects.toMatchObject({
      kind: 'port_not_found',
      message: expect.stringMatching(/^pm1: .*\/dev\/ttyDOESNOTEXIST/),
    });
    expect(hub.ports()).toEqual([]);
  });

  it('reopens after an unplug on the next request once the port is back', async () => {
    pty = await startPtyPair();
    hub = new PortHub();
    const lease = await hub.acquire(req('pm1', pty.a, { timeoutMs: 2000 }));
    const serveEcho = async () => {
      const device = new SerialTransport(pty!.b, DEFAULT_SERIAL);
      extra.push(device);
      await device.open();
      device.onData((c) => void device.write(Buffer.from(`ok ${c.toString('latin1')}`)));
    };
    await serveEcho();
    expect(text(await lease.link.request({ write: 'a\n', reply: line }))).toBe('ok a');

    await pty.kill();
    // The OS may notice the loss at this write (EIO) or earlier at a read; either way the request
    // fails 'disconnected', and so do reopen attempts while the path is gone.
    await expect(lease.link.request({ write: 'b\n', reply: line })).rejects.toMatchObject({
      kind: 'disconnected',
      message: expect.stringMatching(/^pm1: /),
    });
    await expect(lease.link.request({ write: 'c\n', reply: line })).rejects.toMatchObject({
      kind: 'disconnected',
      message: expect.stringContaining('does not exist'),
    });

    await pty.restart();
    await serveEcho();
    expect(text(await lease.link.request({ write: 'd\n', reply: line }))).toBe('ok d');
  });

  it('simulated transports can be unplugged from a test', async () => {
    hub = new PortHub({ simPacing: false });
    const lease = await hub.acquire(req('pm1', 'sim', { createSimulator: () => new ScriptedDevice() }));
    (lease.transport as SimTransport).unplug();
    await expect(lease.link.request({ write: 'a\n', reply: line })).rejects.toMatchObject({ kind: 'disconnected' });
    (lease.transport as SimTransport).replug();
    expect(text(await lease.link.request({ write: 'a\n', reply: line }))).toBe('ok a');
  });
});
