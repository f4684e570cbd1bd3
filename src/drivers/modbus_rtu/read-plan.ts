/**
 * Groups readings into as few read requests as possible. Only points that touch or overlap are
 * merged: reading across a gap could hit an address the device does not map, which fails the
 * whole request with exception 2.
 */
import { FC, type ReadFunctionCode } from './protocol.js';
import type { PointSpec } from './options.js';
import { registerWidth } from './values.js';

export interface ReadBlock {
  fc: ReadFunctionCode;
  address: number;
  count: number;
  points: PointSpec[];
}

/** Per-request limits from the Modbus spec. */
const MAX_REGISTERS = 125;
const MAX_BITS = 2000;

export function readFunctionCode(fn: PointSpec['function']): ReadFunctionCode {
  switch (fn) {
    case 'coil': return FC.readCoils;
    case 'discrete': return FC.readDiscreteInputs;
    case 'holding': return FC.readHoldingRegisters;
    case 'input': return FC.readInputRegisters;
  }
}

export function pointWidth(point: PointSpec): number {
  return point.type === 'bool' ? 1 : registerWidth(point.type);
}

export function planReads(points: readonly PointSpec[]): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  const sorted = [...points].sort(
    (a, b) => readFunctionCode(a.function) - readFunctionCode(b.function) || a.address - b.address,
  );
  for (const point of sorted) {
    const fc = readFunctionCode(point.function);
    const end = point.address + pointWidth(point);
    const last = blocks.at(-1);
    const limit = fc === FC.readCoils || fc === FC.readDiscreteInputs ? MAX_BITS : MAX_REGISTERS;
    if (last && last.fc === fc && point.address <= last.address + last.count && end - last.address <= limit) {
      last.count = Math.max(last.count, end - last.address);
      last.points.push(point);
    } else {
      blocks.push({ fc, address: point.address, count: end - point.address, points: [point] });
    }
  }
  return blocks;
}
