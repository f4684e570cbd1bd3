import { afterEach, describe, expect, it } from 'vitest';
import { QueuedLink, lineReply } from '../../src/transport/link.js';
import { SimTransport } from '../../src/transport/sim-transport.js';
import { DEFAULT_SERIAL } from '../../src/transport/serial-settings.js';
import { waitFor } from '../helpers/pty.js';
import { ScriptedDevice } from './scripted-device.js';

const transports: SimTransport[] = [];
afterEach(() => transports.splice(0).forEach((t) => t.dispose()));

async function setup(options: { pacing?: boolean; timeoutMs?: number; baud?: number } = {}) {
  const device = new ScriptedDevice();
  const transport = new SimTransport({
    pacing: options.pacing ?? false,
    serial: { ...DEFAULT_SERIAL, baudRate: options.baud ?? 9600 },
  });
  transports.push(transport);
  transport.attach(device);
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: 960, timeoutMs: options.timeoutMs ?? 500 });
  return { device, transport, link };
}

const text = (b: Buffer | undefined) => b?.toString('latin1');
const line = lineReply('\n');

describe('QueuedLink', () => {
  it('runs exchanges in FIFO order, one on the wire at a time', async () => {
    const { device, link } = await setup();
    device.hold = true;
    const replies = ['A', 'B', 'C'].map((cmd) => link.request({ write: `${cmd}\n`, reply: line, label: cmd }));
    await waitFor(() => device.lines.length === 1, 1000, 'the first request');
    // The device has not answered: the second request must not be on the wire yet.
    await new Promise((r) => setImmediate(r));
    expect(device.lines.map((l) => l.text)).toEqual(['A']);
    device.releaseOne();
    await waitFor(() => device.lines.length === 2, 1000, 'the second request');
    expect(device.lines.map((l) => l.text)).toEqual(['A', 'B']);
    device.releaseOne();
    await waitFor(() => device.lines.length === 3, 1000, 'the third request');
    device.releaseOne();
    expect((await Promise.all(replies)).map(text)).toEqual(['ok A', 'ok B', 'ok C']);
  });

  it('times out an unanswered exchange with a timeout error naming it, then carries on', async () => {
    const { device, link } = await setup({ timeoutMs: 100 });
    device.answer = (l) => (l === 'D?' ? undefined : `ok ${l}`);
    const started = performance.now();
    const err = await link.request({ write: 'D?\n', reply: line, label: 'D?' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/D\?.*100 ms/) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(text(await link.request({ write: 'W?\n', reply: line }))).toBe('ok W?');
  });

  it('honours a per-exchange timeout', async () => {
    const { device, link } = await setup({ timeoutMs: 5000 });
    device.answer = () => undefined;
    await expect(link.request({ write: 'X\n', reply: line, timeoutMs: 50 })).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('does not take a late reply to a timed-out request as the next reply', async () => {
    const { device, link } = await setup({ timeoutMs: 80 });
    device.answer = (l) => (l === 'slow' ? undefined : `ok ${l}`);
    await expect(link.request({ write: 'slow\n', reply: line })).rejects.toMatchObject({ kind: 'timeout' });
    device.emit('late reply to slow\n');
    await waitFor(() => link.discardedBytes === 19, 1000, 'the late reply to reach the host');
    expect(text(await link.request({ write: 'next\n', reply: line }))).toBe('ok next');
  });

  it('flushes bytes left over after a frame before the next write', async () => {
    const { device, link } = await setup();
    device.answer = (l) => (l === 'one' ? 'first\nJUNK' : `ok ${l}`);
    expect(text(await link.request({ write: 'one\n', reply: line }))).toBe('first');
    expect(text(await link.request({ write: 'two\n', reply: line }))).toBe('ok two');
    expect(link.discardedBytes).toBe(5); // "JUNK\n"
  });

  it('resolves a command without reply once written and keeps settleMs of quiet after it', async () => {
    const { device, link } = await setup();
    device.answer = (l) => (l.startsWith('W') && l !== 'W?' ? undefined : `ok ${l}`);
    const set = link.request({ write: 'W0800\n', settleMs: 60 });
    const read = link.request({ write: 'W?\n', reply: line });
    expect(await set).toBeUndefined();
    expect(text(await read)).toBe('ok W?');
    const [w, q] = device.lines;
    expect(q!.at - w!.at).toBeGreaterThanOrEqual(58);
  });

  it('fails the in-flight and queued exchanges with disconnected when the transport is lost', async () => {
    const { device, link, transport } = await setup();
    device.hold = true;
    const first = link.request({ write: 'a\n', reply: line });
    const second = link.request({ write: 'b\n', reply: line });
    await waitFor(() => device.lines.length === 1, 1000, 'the first request');
    transport.unplug();
    await expect(first).rejects.toMatchObject({ kind: 'disconnected' });
    await expect(second).rejects.toMatchObject({ kind: 'disconnected' });
    // While the device is gone the link's reopen attempt fails, still as 'disconnected'...
    await expect(link.request({ write: 'c\n', reply: line })).rejects.toMatchObject({
      kind: 'disconnected',
      message: expect.stringContaining('cannot reopen'),
    });
    // ...and once it is back the next request reopens the transport.
    transport.replug();
    device.hold = false;
    expect(text(await link.request({ write: 'd\n', reply: line }))).toBe('ok d');
  });

  it('puts urgent exchanges ahead of queued ordinary ones, behind the one on the wire, in their own order', async () => {
    const { device, link } = await setup();
    device.hold = true;
    const order: string[] = [];
    const ask = (cmd: string, urgent = false) =>
      link.request({ write: `${cmd}\n`, reply: line, label: cmd, urgent }).then((r) => (order.push(cmd), text(r)));
    const onWire = ask('A');
    await waitFor(() => device.lines.length === 1, 1000, 'the first request on the wire');
    const queued = [ask('B'), ask('C')];
    const stops = [ask('STOP1', true), ask('STOP2', true)];
    const late = ask('D');
    const safe = ask('SAFE', true);
    expect(link.queued).toBe(6);
    for (let i = 1; i <= 7; i++) {
      device.releaseOne();
      await waitFor(() => device.lines.length === Math.min(i + 1, 7) && device.held.length === (i < 7 ? 1 : 0), 1000, `request ${i + 1}`);
    }
    device.releaseOne();
    await Promise.all([onWire, ...queued, ...stops, late, safe]);
    // A (already on the wire) is not overtaken; the urgent ones go next, first come first served.
    expect(device.lines.map((l) => l.text)).toEqual(['A', 'STOP1', 'STOP2', 'SAFE', 'B', 'C', 'D']);
    expect(order).toEqual(['A', 'STOP1', 'STOP2', 'SAFE', 'B', 'C', 'D']);
  });

  it('an urgent exchange on an idle link goes out at once, and ordinary ones keep FIFO order after it', async () => {
    const { device, link } = await setup();
    expect(text(await link.request({ write: 'S\n', reply: line, urgent: true }))).toBe('ok S');
    const replies = await Promise.all(['x', 'y'].map((c) => link.request({ write: `${c}\n`, reply: line })));
    expect(replies.map(text)).toEqual(['ok x', 'ok y']);
    expect(device.lines.map((l) => l.text)).toEqual(['S', 'x', 'y']);
  });

  it('interjects a write while an exchange waits for its reply; that exchange keeps waiting and gets its reply', async () => {
    const { device, link } = await setup();
    // A device that answers a move only when it stops, and stops on "st".
    device.answer = (l) => (l === 'st' ? undefined : l === 'move' ? undefined : `ok ${l}`);
    const move = link.request({ write: 'move\n', reply: line, label: 'move', timeoutMs: 5000 });
    const next = link.request({ write: 'after\n', reply: line });
    await waitFor(() => device.lines.length === 1, 1000, 'the move on the wire');
    expect(await link.request({ write: 'st\n', interject: true })).toBeUndefined();
    expect(device.lines.map((l) => l.text)).toEqual(['move', 'st']);
    device.emit('stopped at 7\n'); // the device answers the interrupted move
    expect(text(await move)).toBe('stopped at 7');
    expect(text(await next)).toBe('ok after');
    expect(device.lines.map((l) => l.text)).toEqual(['move', 'st', 'after']);
  });

  it('refuses an interjected exchange that expects a reply, and sends nothing', async () => {
    const { device, link } = await setup();
    await expect(link.request({ write: 'st\n', reply: line, interject: true })).rejects.toMatchObject({
      kind: 'invalid_request',
      message: expect.stringContaining('must not expect a reply'),
    });
    expect(text(await link.request({ write: 'q\n', reply: line }))).toBe('ok q');
    expect(device.lines.map((l) => l.text)).toEqual(['q']);
  });

  it('fails queued urgent exchanges on a loss like the others, and orders new ones correctly afterwards', async () => {
    const { device, link, transport } = await setup();
    device.hold = true;
    const first = link.request({ write: 'a\n', reply: line });
    await waitFor(() => device.lines.length === 1, 1000, 'the first request');
    const urgent = link.request({ write: 'u\n', reply: line, urgent: true });
    transport.unplug();
    await expect(first).rejects.toMatchObject({ kind: 'disconnected' });
    await expect(urgent).rejects.toMatchObject({ kind: 'disconnected' });
    await expect(link.request({ write: 'x\n', interject: true })).rejects.toMatchObject({ kind: 'disconnected' });
    transport.replug();
    device.hold = false;
    device.lines.length = 0;
    const plain = link.request({ write: 'p\n', reply: line });
    const queued = link.request({ write: 'q\n', reply: line });
    const stop = link.request({ write: 's\n', reply: line, urgent: true });
    await Promise.all([plain, queued, stop]);
    expect(device.lines.map((l) => l.text)).toEqual(['p', 's', 'q']);
  });

  it('paces simulated bytes at the line rate', async () => {
    // 1200 baud 8N1 = 120 bytes/s: 12 bytes out + 15 back take about 225 ms of line time.
    const { device, link } = await setup({ pacing: true, baud: 1200 });
    device.answer = () => 'abcdefghijklmn';
    const started = performance.now();
    await link.request({ write: '0123456789A\n', reply: line });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(215);
    expect(took).toBeLessThan(1500); // loose: only catches runaway pacing on a loaded machine
  });
});

describe('QueuedLink: an exchange whose signal fired while it was queued', () => {
  it('is never written and fails with kind aborted; the one on the wire runs on', async () => {
    const { QueuedLink } = await import('../../src/transport/link.js');
    const { lineReply } = await import('../../src/transport/framing.js');
    const written: string[] = [];
    let onData: (b: Buffer) => void = () => {};
    const transport = {
      description: 'test',
      isOpen: true,
      open: async () => {},
      write: async (b: Buffer) => {
        written.push(b.toString('latin1'));
      },
      onData: (l: (b: Buffer) => void) => (onData = l),
      onClose: () => {},
      close: async () => {},
    };
    const link = new QueuedLink(transport, { lineRate: 1000 });
    const controller = new AbortController();
    const first = link.request({ write: 'Q?\n', reply: lineReply('\n') });
    const move = link.request({ write: 'PA5\n', signal: controller.signal });
    controller.abort();
    onData(Buffer.from('ok\n'));
    expect((await first)?.toString()).toBe('ok');
    const err = await move.then(() => undefined, (e: unknown) => e as { kind: string });
    expect(err?.kind).toBe('aborted');
    expect(written).toEqual(['Q?\n']);
  });
});
