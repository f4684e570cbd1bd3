/**
 * IEEE 488.2 definite-length arbitrary block responses (`#<n><len><data>`, 488.2 section 8.7.9):
 * `#`, one digit n (1-9) saying how many length digits follow, the length in bytes, then exactly
 * that many bytes of binary data (which may contain the terminator byte), then the message
 * terminator. How a scope sends a waveform (`CURV?`, `:WAV:DATA?`) or a meter a buffer of readings
 * (`FORM REAL,64; TRAC:DATA?`).
 *
 * The FrameMatcher counts bytes, never looks for the terminator inside the data, and keeps waiting
 * until the whole block and its terminator have arrived, however the bytes are split (TCP
 * segments, serial reads). A reply that is not a block (an instrument's error text) is taken as a
 * line. `#0` (indefinite length, ended by END/EOI on GPIB) cannot be framed on a byte stream: the
 * data may hold the terminator and no EOI line exists; it is refused with a clear error.
 */
import { DaqError } from '../../errors.js';
import { lineReply } from '../../transport/framing.js';
import type { FrameMatcher } from '../../transport/types.js';

/** Larger blocks are refused (the link buffers the whole reply in memory). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

const HASH = 0x23;
const CR = 0x0d;

export const BLOCK_FORMATS = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'real32', 'real64', 'text'] as const;
export type BlockFormat = (typeof BLOCK_FORMATS)[number];
export const BLOCK_REDUCERS = ['mean', 'min', 'max', 'first', 'last', 'sum', 'rms', 'count'] as const;
export type BlockReducer = (typeof BLOCK_REDUCERS)[number];
export type ByteOrder = 'big' | 'little';

const SAMPLE_SIZE: Record<Exclude<BlockFormat, 'text'>, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  real32: 4,
  real64: 8,
};

/**
 * A reply that is a definite-length block followed by `terminator`; a reply that is not a block
 * (no `#` before the first terminator) is a line. The frame is everything before the terminator
 * (a header such as `:CURV ` before the `#` included); decode it with decodeBlock.
 */
export function blockReply(terminator: string, maxBytes = MAX_BLOCK_BYTES): FrameMatcher {
  const term = Buffer.from(terminator, 'latin1');
  const line = lineReply(terminator);
  return (rx) => {
    const hash = rx.indexOf(HASH);
    const end = rx.indexOf(term);
    if (hash < 0 || (end >= 0 && end < hash)) return end >= 0 ? line(rx) : null;
    if (rx.length < hash + 2) return null;
    const n = rx[hash + 1]! - 0x30;
    // `#0` or something that is not a block header: up to the first terminator; decodeBlock says why.
    if (n < 1 || n > 9) return line(rx);
    const dataAt = hash + 2 + n;
    if (rx.length < dataAt) return null;
    let length = 0;
    for (let i = hash + 2; i < dataAt; i++) {
      const d = rx[i]! - 0x30;
      if (d < 0 || d > 9) return line(rx);
      length = length * 10 + d;
    }
    // Too large to buffer: hand back the header alone (decodeBlock refuses it); the rest is
    // dropped as stale bytes.
    if (length > maxBytes) return { frame: rx.subarray(0, dataAt), consumed: rx.length };
    const dataEnd = dataAt + length;
    if (rx.length < dataEnd) return null;
    // The terminator after the data (CR LF accepted for "\n", as for lines).
    let at = dataEnd;
    if (terminator === '\n' && rx[at] === CR) at++;
    if (rx.length < at + term.length) {
      // Part of the terminator may still be on its way: wait, unless what came is something else.
      const partial = rx.subarray(at);
      return term.subarray(0, partial.length).equals(partial) ? null : { frame: rx.subarray(0, dataEnd), consumed: dataEnd };
    }
    if (rx.subarray(at, at + term.length).equals(term)) return { frame: rx.subarray(0, dataEnd), consumed: at + term.length };
    return { frame: rx.subarray(0, dataEnd), consumed: dataEnd };
  };
}

/** The data of a block frame; throws protocol_error (with what arrived) when it is not one. */
export function decodeBlock(frame: Buffer, what: { instrumentId: string; exchange: string }, maxBytes = MAX_BLOCK_BYTES): Buffer {
  const fail = (why: string) =>
    new DaqError('protocol_error', `${what.instrumentId}: reply to ${what.exchange} is not an IEEE 488.2 block: ${why}`, {
      details: { exchange: what.exchange, reply: preview(frame) },
    });
  const hash = frame.indexOf(HASH);
  if (hash < 0) throw fail(`expected #<n><length><data>, got ${JSON.stringify(preview(frame))}`);
  const n = frame[hash + 1] === undefined ? -1 : frame[hash + 1]! - 0x30;
  if (n === 0) {
    throw fail(
      'it is an indefinite-length block (#0), whose end only GPIB\'s EOI line marks; set the instrument to definite-length blocks (most do by default over LAN)',
    );
  }
  if (n < 1 || n > 9) throw fail(`"#" must be followed by a digit 1-9, got ${JSON.stringify(preview(frame.subarray(hash, hash + 4)))}`);
  const digits = frame.subarray(hash + 2, hash + 2 + n).toString('latin1');
  if (digits.length < n || !/^\d+$/.test(digits)) throw fail(`the length field ${JSON.stringify(digits)} is not ${n} digits`);
  const length = Number(digits);
  if (length > maxBytes) throw fail(`it announces ${length} bytes, more than daqd accepts (${maxBytes})`);
  const data = frame.subarray(hash + 2 + n);
  if (data.length !== length) throw fail(`it announces ${length} bytes of data but ${data.length} came`);
  return data;
}

function preview(buf: Buffer): string {
  const text = buf.subarray(0, 40).toString('latin1');
  return buf.length > 40 ? `${text}...` : text;
}

/** The samples of a block's data in `format` (big-endian is IEEE 488.2's "normal" byte order). */
export function decodeSamples(data: Buffer, format: Exclude<BlockFormat, 'text'>, order: ByteOrder): number[] {
  const size = SAMPLE_SIZE[format];
  if (data.length % size !== 0) {
    throw new DaqError('protocol_error', `a block of ${data.length} bytes is not a whole number of ${format} samples (${size} bytes each)`);
  }
  const le = order === 'little';
  const out = new Array<number>(data.length / size);
  for (let i = 0, at = 0; at < data.length; i++, at += size) {
    switch (format) {
      case 'int8':
        out[i] = data.readInt8(at);
        break;
      case 'uint8':
        out[i] = data.readUInt8(at);
        break;
      case 'int16':
        out[i] = le ? data.readInt16LE(at) : data.readInt16BE(at);
        break;
      case 'uint16':
        out[i] = le ? data.readUInt16LE(at) : data.readUInt16BE(at);
        break;
      case 'int32':
        out[i] = le ? data.readInt32LE(at) : data.readInt32BE(at);
        break;
      case 'uint32':
        out[i] = le ? data.readUInt32LE(at) : data.readUInt32BE(at);
        break;
      case 'real32':
        out[i] = le ? data.readFloatLE(at) : data.readFloatBE(at);
        break;
      case 'real64':
        out[i] = le ? data.readDoubleLE(at) : data.readDoubleBE(at);
        break;
    }
  }
  return out;
}

/** Samples to the one number a reading carries. */
export function reduceSamples(samples: readonly number[], reduce: BlockReducer): number {
  if (reduce === 'count') return samples.length;
  if (samples.length === 0) throw new DaqError('protocol_error', 'the block holds no samples');
  switch (reduce) {
    case 'first':
      return samples[0]!;
    case 'last':
      return samples[samples.length - 1]!;
    case 'min':
      return samples.reduce((a, b) => (b < a ? b : a));
    case 'max':
      return samples.reduce((a, b) => (b > a ? b : a));
    case 'sum':
      return samples.reduce((a, b) => a + b, 0);
    case 'mean':
      return samples.reduce((a, b) => a + b, 0) / samples.length;
    case 'rms':
      return Math.sqrt(samples.reduce((a, b) => a + b * b, 0) / samples.length);
  }
}

/** `data` as a definite-length block (`#<n><len><data>`), for simulators and tests. */
export function encodeBlock(data: Buffer): Buffer {
  const len = String(data.length);
  if (len.length > 9) throw new Error('block too large for a definite-length header');
  return Buffer.concat([Buffer.from(`#${len.length}${len}`, 'latin1'), data]);
}

/** Samples as block data in `format` and byte order. */
export function encodeSamples(samples: readonly number[], format: Exclude<BlockFormat, 'text'>, order: ByteOrder): Buffer {
  const size = SAMPLE_SIZE[format];
  const buf = Buffer.alloc(samples.length * size);
  const le = order === 'little';
  samples.forEach((v, i) => {
    const at = i * size;
    switch (format) {
      case 'int8':
        buf.writeInt8(clampInt(v, -128, 127), at);
        break;
      case 'uint8':
        buf.writeUInt8(clampInt(v, 0, 255), at);
        break;
      case 'int16':
        if (le) buf.writeInt16LE(clampInt(v, -32768, 32767), at);
        else buf.writeInt16BE(clampInt(v, -32768, 32767), at);
        break;
      case 'uint16':
        if (le) buf.writeUInt16LE(clampInt(v, 0, 65535), at);
        else buf.writeUInt16BE(clampInt(v, 0, 65535), at);
        break;
      case 'int32':
        if (le) buf.writeInt32LE(clampInt(v, -(2 ** 31), 2 ** 31 - 1), at);
        else buf.writeInt32BE(clampInt(v, -(2 ** 31), 2 ** 31 - 1), at);
        break;
      case 'uint32':
        if (le) buf.writeUInt32LE(clampInt(v, 0, 2 ** 32 - 1), at);
        else buf.writeUInt32BE(clampInt(v, 0, 2 ** 32 - 1), at);
        break;
      case 'real32':
        if (le) buf.writeFloatLE(v, at);
        else buf.writeFloatBE(v, at);
        break;
      case 'real64':
        if (le) buf.writeDoubleLE(v, at);
        else buf.writeDoubleBE(v, at);
        break;
    }
  });
  return buf;
}

function clampInt(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(v)));
}
