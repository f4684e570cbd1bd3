/**
 * The scpi driver over TCP (issue #24), on loopback only: IEEE 488.2 definite-length blocks framed
 * however the bytes are split (a raw net server writing a block in pieces, each piece confirmed at
 * the client before the next is sent), *IDN? check, *OPC? synchronisation, a configurable
 * terminator, against the simulator served on a TCP port.
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { TcpTransport } from '../../src/transport/tcp-transport.js';
import { QueuedLink } from '../../src/transport/link.js';
import type { ByteTransport } from '../../src/transport/types.js';
import { driver as scpiDriver } from '../../src/drivers/scpi/index.js';
import { scpiOptionsSchema } from '../../src/drivers/scpi/options.js';
import { ScpiSimulator } from '../../src/drivers/scpi/simulator.js';
import { blockReply, decodeBlock, decodeSamples, encodeBlock, encodeSamples, reduceSamples } from '../../src/drivers/scpi/block.js';
import { serveSimulatorTcp } from '../../src/sim/serve-tcp.js';
import { validateConfig } from '../../src/config/validate.js';
import { failure } from '../helpers/errors.js';
import { waitFor } from '../helpers/pty.js';

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const at = { instrumentId: 'scope', exchange: 'CURV?' };

describe('blockReply / decodeBlock', () => {
  const data = Buffer.from([0x00, 0x0a, 0x0d, 0x23, 0x31, 0xff, 0x0a, 0x0a]); // holds "\n", "\r", "#1"
  const wire = Buffer.concat([encodeBlock(data), Buffer.from('\n')]);

  it('frames a block split at every possible byte boundary, never stopping at a "\\n" inside the data', () => {
    const match = blockReply('\n');
    for (let cut = 0; cut <= wire.length; cut++) {
      // Fed as the link feeds it: the bytes so far, growing.
      expect(match(wire.subarray(0, cut)), `first ${cut} bytes`).toBeNull();
      if (cut === wire.length - 1) break;
    }
    const m = match(wire)!;
    expect(m.consumed).toBe(wire.length);
    expect(decodeBlock(m.frame, at)).toEqual(data);
    // Bytes after the terminator are left for the link (stale).
    expect(match(Buffer.concat([wire, Buffer.from('junk')]))!.consumed).toBe(wire.length);
  });

  it('takes CR LF after a block, a custom terminator, a header before the #, and a non-block reply as a line', () => {
    const crlf = blockReply('\n')(Buffer.concat([encodeBlock(data), Buffer.from('\r\n')]))!;
    expect(crlf.consumed).toBe(encodeBlock(data).length + 2);
    const custom = blockReply('\r')(Buffer.concat([encodeBlock(data), Buffer.from('\r')]))!;
    expect(decodeBlock(custom.frame, at)).toEqual(data);
    const headed = blockReply('\n')(Buffer.concat([Buffer.from(':CURV '), encodeBlock(data), Buffer.from('\n')]))!;
    expect(decodeBlock(headed.frame, at)).toEqual(data);
    const text = blockReply('\n')(Buffer.from('-113,"Undefined header"\n'))!;
    expect(text.frame.toString()).toBe('-113,"Undefined header"');
    expect(() => decodeBlock(text.frame, at)).toThrow(/scope: reply to CURV\? is not an IEEE 488\.2 block: expected #<n><length><data>/);
  });

  it('refuses #0 (indefinite length) and malformed headers with the reason', () => {
    const indefinite = blockReply('\n')(Buffer.from('#0abc\n'))!;
    expect(() => decodeBlock(indefinite.frame, at)).toThrow(/indefinite-length block \(#0\).*definite-length/);
    const bad = blockReply('\n')(Buffer.from('#3ab\n'))!;
    expect(() => decodeBlock(bad.frame, at)).toThrow(/the length field "ab" is not 3 digits/);
    expect(() => decodeBlock(Buffer.from('#15abc'), at)).toThrow(/announces 5 bytes of data but 3 came/);
    // A length beyond the cap is refused without buffering it.
    const huge = blockReply('\n', 1000)(Buffer.from('#42000xx'))!;
    expect(() => decodeBlock(huge.frame, at, 1000)).toThrow(/announces 2000 bytes, more than daqd accepts/);
  });

  it('decodes samples in each format and byte order, and reduces them', () => {
    const values = [1.5, -2.25, 3];
    for (const format of ['real32', 'real64', 'int16', 'int32'] as const) {
      for (const order of ['big', 'little'] as const) {
        const decoded = decodeSamples(encodeSamples(values, format, order), format, order);
        expect(decoded, `${format} ${order}`).toEqual(format.startsWith('int') ? [2, -2, 3] : values);
      }
    }
    expect(() => decodeSamples(Buffer.alloc(5), 'real32', 'big')).toThrow(/not a whole number of real32 samples/);
    expect(reduceSamples(values, 'mean')).toBeCloseTo(0.75);
    expect([reduceSamples(values, 'min'), reduceSamples(values, 'max'), reduceSamples(values, 'first'), reduceSamples(values, 'last'), reduceSamples(values, 'count')]).toEqual([-2.25, 3, 1.5, 3, 3]);
    expect(reduceSamples([3, 4], 'rms')).toBeCloseTo(Math.sqrt(12.5));
  });
});

/** Delegates to a TcpTransport and counts the bytes that reached the client, for split-delivery checks. */
class CountingTransport implements ByteTransport {
  received = 0;
  chunks = 0;
  constructor(readonly inner: TcpTransport) {}
  get description() {
    return this.inner.description;
  }
  get isOpen() {
    return this.inner.isOpen;
  }
  open() {
    return this.inner.open();
  }
  write(data: Buffer) {
    return this.inner.write(data);
  }
  close() {
    return this.inner.close();
  }
  onClose(listener: (err?: Error) => void) {
    this.inner.onClose(listener);
  }
  onData(listener: (chunk: Buffer) => void) {
    this.inner.onData((chunk) => {
      this.received += chunk.length;
      this.chunks++;
      listener(chunk);
    });
  }
}

describe('a binary block split across TCP segments', () => {
  it('is read whole by the scpi driver, each piece confirmed at the client before the next is written', async () => {
    const samples = Array.from({ length: 600 }, (_, i) => Math.sin(i / 10)); // 2400 bytes of real32
    const block = encodeBlock(encodeSamples(samples, 'real32', 'big'));
    const wire = Buffer.concat([block, Buffer.from('\n')]);
    // The data holds "\n" and "#" bytes: a framer that looked for either would stop early.
    expect(block.indexOf(0x0a, 6)).toBeGreaterThan(0);
    expect(block.indexOf(0x23, 6)).toBeGreaterThan(0);
    // Cut inside the header, inside the data, and between the data and the terminator.
    const cuts = [1, 2, 4, 7, 900, 1800, wire.length - 1];
    const pieces = cuts.map((c, i) => wire.subarray(i === 0 ? 0 : cuts[i - 1]!, c)).concat([wire.subarray(cuts[cuts.length - 1]!)]);
    let client: Socket | undefined;
    const server = createServer((socket) => {
      client = socket;
      socket.setNoDelay(true);
      socket.on('error', () => {});
      socket.on('data', (d) => {
        if (d.toString() === '*IDN?\n') socket.write('TEKTRONIX,MSO54,C012345,CF:91.1CT FV:1.0\n');
      });
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    cleanup.push(() => new Promise<void>((resolve) => (client?.destroy(), server.close(() => resolve()))));
    const port = (server.address() as { port: number }).port;

    const transport = new CountingTransport(new TcpTransport({ host: '127.0.0.1', port }));
    const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 5000 });
    cleanup.push(() => transport.close());
    await transport.open();
    const options = scpiOptionsSchema.parse({
      idn_contains: 'MSO54',
      check_errors: false,
      channels: { wave_mean: { query: 'CURV?', type: 'block', block_format: 'real32', reduce: 'mean', unit: 'V' } },
    });
    const scope = scpiDriver.create({ link, config: { id: 'scope', params: {}, options }, log });
    await scope.init();

    const before = transport.received;
    let done = false;
    const poll = scope.poll().finally(() => (done = true));
    await waitFor(() => client !== undefined, 2000, 'the connection');
    let sent = 0;
    for (const piece of pieces) {
      expect(done, `the poll must still wait after ${sent} of ${wire.length} bytes`).toBe(false);
      client!.write(piece);
      sent += piece.length;
      await waitFor(() => transport.received - before >= sent, 2000, `${sent} bytes at the client`);
    }
    const readings = await poll;
    expect(transport.chunks).toBeGreaterThanOrEqual(pieces.length + 1); // IDN reply + one chunk per piece at least
    const mean = samples.reduce((a, b) => a + Math.fround(b), 0) / samples.length;
    expect(readings.wave_mean).toBeCloseTo(mean, 6);
    expect(link.discardedBytes).toBe(0);
  });
});

describe('scpi over TCP against its simulator', () => {
  const config = {
    terminator: '\r\n',
    idn_contains: '34465A',
    sim: { idn: 'Keysight Technologies,34465A,MY12345678,A.03.01', points: 50, values: { trace: 2.5, label: 'DCV' } },
    channels: {
      volts: { query: 'MEAS:VOLT:DC?', unit: 'V' },
      trace: { query: 'TRAC:DATA?', type: 'block', block_format: 'real64', byte_order: 'little', reduce: 'mean', unit: 'V' },
      npts: { query: 'TRAC:DATA?', type: 'block', block_format: 'real64', byte_order: 'little', reduce: 'count' },
      label: { query: 'CONF:LABEL?', type: 'block', block_format: 'text' },
    },
    controls: {
      range: { command: 'VOLT:RANG {value}', query: 'VOLT:RANG?', opc: true, opc_timeout_ms: 2000, min: 0.1, max: 1000 },
      slow: { command: 'SLOW {value}', opc: true, opc_timeout_ms: 100 },
    },
  };

  async function rig() {
    const options = scpiOptionsSchema.parse(config);
    const sim = new ScpiSimulator(options);
    cleanup.push(() => sim.dispose());
    const server = await serveSimulatorTcp({ simulators: [sim] });
    cleanup.push(() => server.close());
    const transport = new TcpTransport({ host: server.host, port: server.port });
    const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs: 1000 });
    cleanup.push(() => transport.close());
    await transport.open();
    const dmm = scpiDriver.create({ link, config: { id: 'dmm', params: {}, options }, log });
    return { sim, server, dmm, link };
  }

  it('checks *IDN?, polls numbers and blocks (binary, little-endian, text) with a CR LF terminator', async () => {
    const { sim, dmm } = await rig();
    await dmm.init();
    const r = await dmm.poll();
    expect(r.volts).toEqual(expect.any(Number));
    expect(r.trace as number).toBeCloseTo(2.5, 1);
    expect(r.npts).toBe(50);
    expect(r.label).toBe('DCV');
    expect(sim.received.slice(0, 2)).toEqual(['*IDN?', 'SYST:ERR?']);
    expect(scpiDriver.readings(scpiOptionsSchema.parse(config)).map((d) => [d.name, d.type])).toEqual([
      ['volts', 'number'],
      ['trace', 'number'],
      ['npts', 'number'],
      ['label', 'string'],
    ]);
  });

  it('refuses the wrong instrument at init', async () => {
    const options = scpiOptionsSchema.parse({ ...config, idn_contains: 'DSOX1204G' });
    const { link } = await rig();
    const wrong = scpiDriver.create({ link, config: { id: 'dmm', params: {}, options }, log });
    const err = await failure(wrong.init());
    expect(err.kind).toBe('protocol_error');
    expect(err.message).toMatch(/\*IDN\? answered "Keysight Technologies,34465A.*which does not contain "DSOX1204G"/);
  });

  it('waits for *OPC? after a control that declares opc, before errors and read-back', async () => {
    const { sim, dmm } = await rig();
    await dmm.init();
    sim.control.opcDelayMs = 150;
    sim.received.splice(0);
    const started = performance.now();
    expect(await dmm.setParam('range', 10)).toBe(10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(sim.received).toEqual(['VOLT:RANG 10', '*OPC?', 'SYST:ERR?', 'VOLT:RANG?']);
  });

  it('an operation that does not complete within opc_timeout_ms is a timeout naming *OPC?', async () => {
    const { sim, dmm } = await rig();
    await dmm.init();
    sim.control.opcDelayMs = 1000;
    const err = await failure(dmm.setParam('slow', 1));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/no reply to \*OPC\? from tcp:\/\/127\.0\.0\.1:\d+ within 100 ms/);
  });

  it('validates block options', () => {
    const table = (ch: Record<string, unknown>) => ({ instruments: { s: { driver: 'scpi', port: 'tcp://127.0.0.1:5025', channels: { c: ch } } } });
    expect(validateConfig(table({ query: 'CURV?', type: 'block', block_format: 'int16', byte_order: 'little', reduce: 'max' })).issues).toEqual([]);
    expect(validateConfig(table({ query: 'X?', reduce: 'max' })).issues.map((i) => i.message).join()).toMatch(/are for type = "block" channels/);
    expect(validateConfig(table({ query: 'X?', type: 'block', block_format: 'float' })).issues.map((i) => i.message).join()).toMatch(/real32/);
  });
});
