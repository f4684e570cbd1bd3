/**
 * A Modbus RTU slave that speaks the wire protocol byte for byte: it cuts frames out of the byte
 * stream, checks the CRC, ignores frames for other slave ids (so several can share one bus),
 * answers exception 02 for unmapped addresses, and echoes writes as the spec says.
 */
import type { DeviceSimulator, DriverConfig } from '../types.js';
import { hasValidCrc, withCrc } from './crc16.js';
import type { ModbusOptions } from './options.js';
import { FC } from './protocol.js';
import { SimRegisters, type Table } from './sim-registers.js';

/** Faults a test can switch on to see how the host copes. */
export type SimFault = 'none' | 'silent' | 'garbage' | 'bad_crc';

/**
 * Bytes further apart than this start a new frame. Real RTU uses 3.5 character times of silence;
 * over a pty or simulated link, writes arrive in bursts, so a generous gap is the robust choice.
 */
const FRAME_GAP_MS = 50;

const READ_TABLES: Record<number, Table> = {
  [FC.readCoils]: 'coil',
  [FC.readDiscreteInputs]: 'discrete',
  [FC.readHoldingRegisters]: 'holding',
  [FC.readInputRegisters]: 'input',
};

export class ModbusRtuSimulator implements DeviceSimulator {
  readonly slaveId: number;
  readonly registers: SimRegisters;
  fault: SimFault = 'none';
  /** Frames addressed to this slave that passed the CRC check (for tests). */
  requestsHandled = 0;
  private buffer = Buffer.alloc(0);
  private lastByteAt = 0;
  private listener: (data: Buffer) => void = () => {};
  private readonly pending = new Set<NodeJS.Immediate>();

  constructor(config: DriverConfig<ModbusOptions>, private readonly now: () => number = Date.now) {
    this.slaveId = config.options.slave_id;
    this.registers = new SimRegisters(config, now);
  }

  onSend(listener: (data: Buffer) => void): void {
    this.listener = listener;
  }

  dispose(): void {
    for (const handle of this.pending) clearImmediate(handle);
    this.pending.clear();
  }

  receive(data: Buffer): void {
    const t = this.now();
    if (t - this.lastByteAt > FRAME_GAP_MS) this.buffer = Buffer.alloc(0);
    this.lastByteAt = t;
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const length = requestLength(this.buffer);
      if (length === undefined || this.buffer.length < length) return;
      const frame = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      // A slave silently drops a corrupted frame and resynchronises on the next silence.
      if (!hasValidCrc(frame)) {
        this.buffer = Buffer.alloc(0);
        return;
      }
      this.handle(frame);
    }
  }

  private handle(frame: Buffer): void {
    const slave = frame[0]!;
    if (slave !== this.slaveId && slave !== 0) return;
    this.requestsHandled++;
    const reply = this.execute(frame);
    // Slave 0 is broadcast: every slave acts, none answers.
    if (slave === 0 || this.fault === 'silent') return;
    this.send(this.applyFault(withCrc(reply)));
  }

  private applyFault(frame: Buffer): Buffer {
    if (this.fault === 'garbage') return Buffer.from([0x7e, 0x13, 0xa5, 0x00, 0xff, 0x42, 0x99]);
    if (this.fault === 'bad_crc') {
      const copy = Buffer.from(frame);
      copy[copy.length - 1] ^= 0xff;
      return copy;
    }
    return frame;
  }

  /** Replies asynchronously, as a device would, never from inside the host's write call. */
  private send(frame: Buffer): void {
    const handle = setImmediate(() => {
      this.pending.delete(handle);
      this.listener(frame);
    });
    this.pending.add(handle);
  }

  /** The reply body (without CRC) for one request. */
  private execute(frame: Buffer): Buffer {
    const fc = frame[1]!;
    const exception = (code: number) => Buffer.from([this.slaveId, fc | 0x80, code]);
    const address = frame.readUInt16BE(2);
    const table = READ_TABLES[fc];
    if (table) {
      const count = frame.readUInt16BE(4);
      const isBits = table === 'coil' || table === 'discrete';
      if (count < 1 || count > (isBits ? 2000 : 125)) return exception(3);
      if (!this.registers.mapped(table, address, count)) return exception(2);
      const values = this.registers.read(table, address, count);
      const data = isBits ? packBits(values) : wordsToBytes(values);
      return Buffer.concat([Buffer.from([this.slaveId, fc, data.length]), data]);
    }
    switch (fc) {
      case FC.writeSingleCoil: {
        const value = frame.readUInt16BE(4);
        if (value !== 0xff00 && value !== 0x0000) return exception(3);
        if (!this.registers.mapped('coil', address, 1)) return exception(2);
        this.registers.write('coil', address, [value ? 1 : 0]);
        return echo(frame, this.slaveId);
      }
      case FC.writeSingleRegister: {
        if (!this.registers.mapped('holding', address, 1)) return exception(2);
        this.registers.write('holding', address, [frame.readUInt16BE(4)]);
        return echo(frame, this.slaveId);
      }
      case FC.writeMultipleRegisters: {
        const count = frame.readUInt16BE(4);
        if (count < 1 || count > 123 || frame[6] !== count * 2) return exception(3);
        if (!this.registers.mapped('holding', address, count)) return exception(2);
        const words = Array.from({ length: count }, (_, i) => frame.readUInt16BE(7 + i * 2));
        this.registers.write('holding', address, words);
        return echo(frame, this.slaveId);
      }
      default:
        return exception(1);
    }
  }
}

/** The length of the request frame at the start of `buf`, or undefined while that is unknown. */
function requestLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const fc = buf[1]!;
  if (fc >= 1 && fc <= 6) return 8;
  if (fc === 15 || fc === 16) return buf.length < 7 ? undefined : 9 + buf[6]!;
  // An unsupported function: the whole burst is the frame if its CRC says so (answered with
  // exception 01); otherwise wait for more bytes or the next silence.
  return hasValidCrc(buf) ? buf.length : undefined;
}

/** A write reply repeats the request's first six bytes. */
function echo(frame: Buffer, slaveId: number): Buffer {
  const body = Buffer.from(frame.subarray(0, 6));
  body[0] = slaveId;
  return body;
}

function wordsToBytes(words: readonly number[]): Buffer {
  const buf = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => buf.writeUInt16BE(w & 0xffff, i * 2));
  return buf;
}

function packBits(bits: readonly number[]): Buffer {
  const buf = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    if (bit) buf[i >> 3]! |= 1 << (i & 7);
  });
  return buf;
}

export function createModbusSimulator(config: DriverConfig<ModbusOptions>): ModbusRtuSimulator {
  return new ModbusRtuSimulator(config);
}
