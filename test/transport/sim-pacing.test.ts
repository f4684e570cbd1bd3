/**
 * The simulated line's pacing (line-clock.ts behind SimTransport): bytes take their line time in
 * each direction and never arrive early, waits due in the same slot keep their order, a failing
 * callback does not stop the others, and a closed line neither hangs a write nor delivers bytes
 * from before the close after a reopen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LineClock } from '../../src/transport/line-clock.js';
import { SimTransport } from '../../src/transport/sim-transport.js';
import type { DeviceSimulator } from '../../src/drivers/types.js';

/** A device that answers every write with `reply` at once (the line time is the transport's). */
function echoDevice(reply: string): DeviceSimulator & { got: string[] } {
  let send: (data: Buffer) => void = () => {};
  const got: string[] = [];
  return {
    got,
    receive(data: Buffer) {
      got.push(data.toString('latin1'));
      send(Buffer.from(reply, 'latin1'));
    },
    onSend(listener: (data: Buffer) => void) {
      send = listener;
    },
    dispose() {},
  };
}

/** 1200 baud 8N1: 120 characters a second. */
const SLOW_LINE = { baudRate: 1200, dataBits: 8, stopBits: 1, parity: 'none', flowControl: 'none' } as const;

const transports: SimTransport[] = [];
afterEach(() => {
  for (const t of transports.splice(0)) t.dispose();
});

describe('LineClock', () => {
  it('runs each callback no earlier than its time, asynchronously, in time order and in order within a slot', async () => {
    const clock = new LineClock();
    const start = performance.now();
    const ran: { name: string; late: number }[] = [];
    const at = (name: string, ms: number) => clock.at(start + ms, () => ran.push({ name, late: performance.now() - (start + ms) }));
    at('c', 12);
    at('a', 3.2);
    at('b1', 7.5);
    at('b2', 7.5);
    at('now', 0);
    expect(ran).toEqual([]); // never inside the caller
    await new Promise<void>((resolve) => clock.at(start + 20, resolve));
    expect(ran.map((r) => r.name)).toEqual(['now', 'a', 'b1', 'b2', 'c']);
    for (const r of ran) expect(r.late, r.name).toBeGreaterThanOrEqual(0);
    expect(clock.pending).toBe(0);
  });

  it('takes waits added by a running callback, and one that throws does not stop the rest', async () => {
    const clock = new LineClock();
    const start = performance.now();
    const ran: string[] = [];
    const rejections: unknown[] = [];
    const onRejection = (err: unknown) => rejections.push(err);
    process.on('unhandledRejection', onRejection);
    try {
      clock.at(start + 2, () => {
        ran.push('first');
        clock.at(performance.now() + 3, () => ran.push('chained'));
      });
      clock.at(start + 2, () => {
        throw new Error('a broken line');
      });
      clock.at(start + 2, () => ran.push('second'));
      await new Promise<void>((resolve) => clock.at(start + 15, resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(ran).toEqual(['first', 'second', 'chained']);
    expect(rejections.map((e) => (e as Error).message)).toEqual(['a broken line']);
  });
});

describe('SimTransport pacing', () => {
  it('a request and its reply each take their line time (10 bits a byte at the baud)', async () => {
    const t = new SimTransport({ serial: SLOW_LINE });
    transports.push(t);
    const device = echoDevice('0123456789\n'); // 11 bytes back
    t.attach(device);
    await t.open();
    const replied = new Promise<number>((resolve) => t.onData(() => resolve(performance.now())));
    const started = performance.now();
    await t.write(Buffer.from('ABCDE\n')); // 6 bytes out
    const written = performance.now();
    const arrived = await replied;
    // 120 chars/s: 6 bytes = 50 ms out, 11 bytes = 91.7 ms back. Never early.
    expect(written - started).toBeGreaterThanOrEqual(50 - 1);
    expect(arrived - written).toBeGreaterThanOrEqual(91.7 - 1);
    expect(device.got).toEqual(['ABCDE\n']);
  });

  it('a close resolves a write still on the line (it then fails disconnected) and drops the reply in flight, even after a reopen', async () => {
    const t = new SimTransport({ serial: SLOW_LINE });
    transports.push(t);
    const device = echoDevice('late reply\n');
    t.attach(device);
    await t.open();
    const data: string[] = [];
    t.onData((chunk) => data.push(chunk.toString('latin1')));

    // A long write, closed under it: answered at once with disconnected, not after its line time.
    const long = t.write(Buffer.alloc(600, 0x41)); // 5 s of line time
    const closedAt = performance.now();
    await t.close();
    await expect(long).rejects.toMatchObject({ kind: 'disconnected' });
    expect(performance.now() - closedAt).toBeLessThan(1000);

    // A reply on its way when the line closes is not delivered to the reopened line.
    await t.open();
    await t.write(Buffer.from('Q\n'));
    await t.close();
    await t.open();
    const probe = new SimTransport({ serial: SLOW_LINE });
    transports.push(probe);
    // Wait past the reply's line time (11 bytes: 92 ms) on a line of its own.
    probe.attach(echoDevice('x'.repeat(20) + '\n'));
    await probe.open();
    const waited = new Promise<void>((resolve) => probe.onData(() => resolve()));
    await probe.write(Buffer.from('P\n'));
    await waited;
    expect(data).toEqual([]);
  });
});
