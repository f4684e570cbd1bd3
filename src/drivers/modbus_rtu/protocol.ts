/**
 * The master (host) side of Modbus RTU: request frames, how long the reply to each one is, and
 * what the reply says. Pure functions over bytes; the driver adds the instrument context to errors.
 */
import type { FrameMatcher } from '../../transport/types.js';
import { hasValidCrc, withCrc } from './crc16.js';

export const FC = {
  readCoils: 1,
  readDiscreteInputs: 2,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleCoils: 15,
  writeMultipleRegisters: 16,
} as const;

export type ReadFunctionCode = 1 | 2 | 3 | 4;

/** The exception codes of the Modbus application protocol spec, in the spec's words. */
const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge (request accepted, still processing)',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export function exceptionName(code: number): string {
  return EXCEPTION_NAMES[code] ?? `unknown exception code ${code}`;
}

export function functionName(fc: number): string {
  switch (fc) {
    case FC.readCoils: return 'read coils';
    case FC.readDiscreteInputs: return 'read discrete inputs';
    case FC.readHoldingRegisters: return 'read holding registers';
    case FC.readInputRegisters: return 'read input registers';
    case FC.writeSingleCoil: return 'write single coil';
    case FC.writeSingleRegister: return 'write single register';
    case FC.writeMultipleCoils: return 'write multiple coils';
    case FC.writeMultipleRegisters: return 'write multiple registers';
    default: return `function ${fc}`;
  }
}

export type MasterRequest =
  | { op: 'read'; slave: number; fc: ReadFunctionCode; address: number; count: number }
  | { op: 'writeCoil'; slave: number; address: number; value: boolean }
  | { op: 'writeRegister'; slave: number; address: number; value: number }
  | { op: 'writeRegisters'; slave: number; address: number; values: number[] };

export function requestFunctionCode(req: MasterRequest): number {
  switch (req.op) {
    case 'read': return req.fc;
    case 'writeCoil': return FC.writeSingleCoil;
    case 'writeRegister': return FC.writeSingleRegister;
    case 'writeRegisters': return FC.writeMultipleRegisters;
  }
}

/** Bytes of data a read reply carries: 2 per register, or the bits packed 8 to a byte. */
export function readByteCount(fc: ReadFunctionCode, count: number): number {
  return fc === FC.readCoils || fc === FC.readDiscreteInputs ? Math.ceil(count / 8) : count * 2;
}

export function encodeRequest(req: MasterRequest): Buffer {
  const fc = requestFunctionCode(req);
  switch (req.op) {
    case 'read':
      return withCrc(header6(req.slave, fc, req.address, req.count));
    case 'writeCoil':
      return withCrc(header6(req.slave, fc, req.address, req.value ? 0xff00 : 0x0000));
    case 'writeRegister':
      return withCrc(header6(req.slave, fc, req.address, req.value));
    case 'writeRegisters': {
      const body = Buffer.alloc(7 + req.values.length * 2);
      header6(req.slave, fc, req.address, req.values.length).copy(body);
      body.writeUInt8(req.values.length * 2, 6);
      req.values.forEach((word, i) => body.writeUInt16BE(word, 7 + i * 2));
      return withCrc(body);
    }
  }
}

function header6(slave: number, fc: number, a: number, b: number): Buffer {
  const buf = Buffer.alloc(6);
  buf.writeUInt8(slave, 0);
  buf.writeUInt8(fc, 1);
  buf.writeUInt16BE(a, 2);
  buf.writeUInt16BE(b, 4);
  return buf;
}

/**
 * Knows where the reply to `req` ends, so the link can return as soon as the last byte is in
 * (RTU has no terminator; the 3.5-character silence is useless over a pty or USB adapter). Bytes
 * that cannot start that reply are handed back at once, so garbage fails fast as a protocol
 * error instead of waiting out the timeout.
 */
export function replyMatcher(req: MasterRequest): FrameMatcher {
  const fc = requestFunctionCode(req);
  const whole = (received: Buffer, length: number) =>
    received.length >= length ? { frame: received.subarray(0, length), consumed: length } : null;
  const garbage = (received: Buffer) => ({ frame: received, consumed: received.length });
  return (received) => {
    if (received.length < 2) return null;
    if (received[0] !== req.slave) return garbage(received);
    if (received[1] === (fc | 0x80)) return whole(received, 5);
    if (received[1] !== fc) return garbage(received);
    if (req.op !== 'read') return whole(received, 8);
    if (received.length < 3) return null;
    const expected = readByteCount(req.fc, req.count);
    if (received[2] !== expected) return garbage(received);
    return whole(received, 3 + expected + 2);
  };
}

export type ReplyResult =
  | { ok: true; words: number[]; bits: boolean[] }
  | { ok: false; problem: 'exception'; code: number; name: string }
  | { ok: false; problem: 'garbage'; reason: string };

export function hex(bytes: Buffer, max = 16): string {
  const shown = [...bytes.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} ... (${bytes.length} bytes)` : shown;
}

/** Checks a reply frame (as cut by replyMatcher) against its request and extracts the data. */
export function decodeReply(req: MasterRequest, frame: Buffer): ReplyResult {
  const fc = requestFunctionCode(req);
  const garbage = (reason: string): ReplyResult => ({ ok: false, problem: 'garbage', reason: `${reason} (received: ${hex(frame)})` });
  if (frame.length < 5) return garbage(`reply too short`);
  if (frame[0] !== req.slave) return garbage(`reply from slave ${frame[0]} instead of ${req.slave}`);
  if (frame[1] !== fc && frame[1] !== (fc | 0x80)) return garbage(`reply has function code ${frame[1]} instead of ${fc}`);
  if (!hasValidCrc(frame)) return garbage('CRC mismatch');
  if (frame[1] === (fc | 0x80)) {
    const code = frame[2]!;
    return { ok: false, problem: 'exception', code, name: exceptionName(code) };
  }
  switch (req.op) {
    case 'read': {
      const byteCount = readByteCount(req.fc, req.count);
      if (frame[2] !== byteCount || frame.length !== 5 + byteCount) return garbage(`reply carries ${frame[2]} data bytes instead of ${byteCount}`);
      const data = frame.subarray(3, 3 + byteCount);
      if (req.fc === FC.readCoils || req.fc === FC.readDiscreteInputs) {
        const bits = Array.from({ length: req.count }, (_, i) => ((data[i >> 3]! >> (i & 7)) & 1) === 1);
        return { ok: true, words: [], bits };
      }
      const words = Array.from({ length: req.count }, (_, i) => data.readUInt16BE(i * 2));
      return { ok: true, words, bits: [] };
    }
    case 'writeCoil':
    case 'writeRegister': {
      // A successful single write echoes the request exactly.
      const sent = encodeRequest(req);
      if (frame.length !== 8 || !frame.equals(sent)) return garbage('write reply does not echo the request');
      return { ok: true, words: [], bits: [] };
    }
    case 'writeRegisters': {
      if (frame.length !== 8 || frame.readUInt16BE(2) !== req.address || frame.readUInt16BE(4) !== req.values.length) {
        return garbage('write reply does not confirm the address and count sent');
      }
      return { ok: true, words: [], bits: [] };
    }
  }
}
