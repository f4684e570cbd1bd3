/**
 * Modbus RTU CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF). The CRC goes on the wire
 * low byte first, unlike every other 16-bit field in a Modbus frame.
 */
const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    table[n] = crc;
  }
  return table;
}

export function crc16(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) crc = (crc >>> 8) ^ TABLE[(crc ^ byte) & 0xff]!;
  return crc;
}

/** The frame with its CRC appended. */
export function withCrc(body: Buffer): Buffer {
  const frame = Buffer.alloc(body.length + 2);
  body.copy(frame);
  frame.writeUInt16LE(crc16(body), body.length);
  return frame;
}

/** Whether the last two bytes are the CRC of the rest. */
export function hasValidCrc(frame: Buffer): boolean {
  if (frame.length < 4) return false;
  return frame.readUInt16LE(frame.length - 2) === crc16(frame.subarray(0, frame.length - 2));
}
