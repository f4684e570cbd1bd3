import { afterEach, describe, expect, it } from 'vitest';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { DEFAULT_SERIAL } from '../../src/transport/serial-settings.js';
import { startPtyPair, waitFor, type PtyPair } from '../helpers/pty.js';

let pty: PtyPair | undefined;
const opened: SerialTransport[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
  await pty?.dispose();
  pty = undefined;
});

function transport(path: string): SerialTransport {
  const t = new SerialTransport(path, DEFAULT_SERIAL);
  opened.push(t);
  return t;
}

function collect(t: SerialTransport): { bytes: () => string } {
  let got = '';
  t.onData((chunk) => (got += chunk.toString('latin1')));
  return { bytes: () => got };
}

describe('SerialTransport', () => {
  it('refuses a path that does not exist with port_not_found naming the path', async () => {
    const t = transport('/dev/does-not-exist-daqd');
    await expect(t.open()).rejects.toMatchObject({ kind: 'port_not_found', message: expect.stringContaining('/dev/does-not-exist-daqd') });
    expect(t.isOpen).toBe(false);
  });

  it('reports a path that is not a serial device as port_error with the OS message', async () => {
    const t = transport('/etc/hostname');
    await expect(t.open()).rejects.toMatchObject({ kind: 'port_error', message: expect.stringContaining('/etc/hostname') });
  });

  it('moves bytes both ways over a pty pair', async () => {
    pty = await startPtyPair();
    const host = transport(pty.a);
    const device = transport(pty.b);
    await host.open();
    await device.open();
    const atDevice = collect(device);
    const atHost = collect(host);
    await host.write(Buffer.from('D?\n'));
    await waitFor(() => atDevice.bytes() === 'D?\n', 2000, 'request at the device end');
    await device.write(Buffer.from('+.75E-9\n'));
    await waitFor(() => atHost.bytes() === '+.75E-9\n', 2000, 'reply at the host end');
  });

  it('reports an unplug once, fails the write with disconnected, and reopens after re-plug', async () => {
    pty = await startPtyPair();
    const host = transport(pty.a);
    const losses: (Error | undefined)[] = [];
    host.onClose((err) => losses.push(err));
    await host.open();

    await pty.kill();
    await expect(host.write(Buffer.from('D?\n'))).rejects.toMatchObject({ kind: 'disconnected' });
    expect(host.isOpen).toBe(false);
    // serialport fires `close` twice after EIO; let any second event arrive before counting.
    await host.close();
    expect(losses).toHaveLength(1);
    expect(losses[0]).toBeInstanceOf(Error);

    await expect(host.open()).rejects.toMatchObject({ kind: 'port_not_found' });

    await pty.restart();
    await host.open();
    const device = transport(pty.b);
    await device.open();
    const atDevice = collect(device);
    await host.write(Buffer.from('W?\n'));
    await waitFor(() => atDevice.bytes() === 'W?\n', 2000, 'request after re-plug');
  });

  it('close() is idempotent and reports a deliberate close without an error', async () => {
    pty = await startPtyPair();
    const host = transport(pty.a);
    const closes: (Error | undefined)[] = [];
    host.onClose((err) => closes.push(err));
    await host.open();
    await host.close();
    await host.close();
    expect(closes).toEqual([undefined]);
    expect(host.isOpen).toBe(false);
    // The port is released: it opens again at once.
    await host.open();
    expect(host.isOpen).toBe(true);
  });
});
