/**
 * Register values: how many 16-bit words each type takes, and the conversion between words on
 * the wire and engineering values (with word order and scale).
 */
export type ValueType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'bool';
export type WordOrder = 'big' | 'little';

export function registerWidth(type: ValueType): number {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/** Raw integer range of a type, or undefined for float32 and bool. */
export function typeRange(type: ValueType): { min: number; max: number } | undefined {
  switch (type) {
    case 'int16': return { min: -0x8000, max: 0x7fff };
    case 'uint16': return { min: 0, max: 0xffff };
    case 'int32': return { min: -0x80000000, max: 0x7fffffff };
    case 'uint32': return { min: 0, max: 0xffffffff };
    default: return undefined;
  }
}

/** Rounds away binary noise from scaling (235 x 0.1 = 23.500000000000004) without losing real digits. */
function tidy(n: number, digits: number): number {
  return Number(n.toPrecision(digits));
}

/** Words (in wire order) to the raw number they hold. */
export function wordsToRaw(words: readonly number[], type: ValueType, order: WordOrder): number {
  const buf = Buffer.alloc(4);
  if (registerWidth(type) === 2) {
    const [first, second] = order === 'big' ? [words[0]!, words[1]!] : [words[1]!, words[0]!];
    buf.writeUInt16BE(first, 0);
    buf.writeUInt16BE(second, 2);
  } else {
    buf.writeUInt16BE(words[0]!, 0);
  }
  switch (type) {
    case 'int16': return buf.readInt16BE(0);
    case 'uint16': return buf.readUInt16BE(0);
    case 'int32': return buf.readInt32BE(0);
    case 'uint32': return buf.readUInt32BE(0);
    // float32 carries about 7 significant digits; more would be noise from widening to a double.
    case 'float32': return tidy(buf.readFloatBE(0), 7);
    case 'bool': return words[0] ? 1 : 0;
  }
}

/** The raw number to words in wire order. `raw` must already fit the type (see rawFromValue). */
export function rawToWords(raw: number, type: ValueType, order: WordOrder): number[] {
  const buf = Buffer.alloc(4);
  switch (type) {
    case 'int16': buf.writeInt16BE(raw, 0); return [buf.readUInt16BE(0)];
    case 'uint16': case 'bool': buf.writeUInt16BE(raw, 0); return [buf.readUInt16BE(0)];
    case 'int32': buf.writeInt32BE(raw, 0); break;
    case 'uint32': buf.writeUInt32BE(raw, 0); break;
    case 'float32': buf.writeFloatBE(raw, 0); break;
  }
  const high = buf.readUInt16BE(0);
  const low = buf.readUInt16BE(2);
  return order === 'big' ? [high, low] : [low, high];
}

export function valueFromRaw(raw: number, type: ValueType, scale: number): number {
  if (scale === 1) return raw;
  return tidy(raw * scale, type === 'float32' ? 7 : 12);
}

/**
 * The raw value to send for an engineering value, or a reason it cannot be represented
 * (integer types round to the nearest step of `scale`).
 */
export function rawFromValue(value: number, type: ValueType, scale: number): { raw: number } | { error: string } {
  if (!Number.isFinite(value)) return { error: `${value} is not a finite number` };
  const exact = value / scale;
  if (type === 'float32') {
    if (Math.abs(exact) > 3.4028234663852886e38) return { error: `${value} is too large for a float32 register` };
    return { raw: exact };
  }
  const raw = Math.round(tidy(exact, 12));
  const range = typeRange(type)!;
  if (raw < range.min || raw > range.max) {
    return { error: `${value} needs raw value ${raw}, outside the ${type} range ${range.min}..${range.max}` };
  }
  return { raw };
}
