/** FrameMatchers: how a Link recognises that a complete reply has arrived. */
import type { FrameMatcher } from './types.js';

/**
 * A reply that ends with `terminator` (e.g. "\n" or "\r\n"); the frame excludes the terminator.
 * For "\n" a preceding "\r" is stripped too, since many devices end lines with CR LF whatever
 * their manual says.
 */
export function lineReply(terminator: string): FrameMatcher {
  const term = Buffer.from(terminator, 'latin1');
  if (term.length === 0) throw new Error('lineReply: the terminator must not be empty');
  return (received) => {
    const at = received.indexOf(term);
    if (at < 0) return null;
    let end = at;
    if (terminator === '\n' && end > 0 && received[end - 1] === 0x0d) end -= 1;
    return { frame: received.subarray(0, end), consumed: at + term.length };
  };
}

/** Exactly `length` bytes. */
export function fixedLengthReply(length: number): FrameMatcher {
  return (received) =>
    received.length >= length ? { frame: received.subarray(0, length), consumed: length } : null;
}

/**
 * A reply whose total length is known once its header is in: `lengthOf` returns the full frame
 * length, or null while too few bytes have arrived to tell (e.g. Modbus RTU: 3 bytes for a read).
 */
export function lengthPrefixedReply(lengthOf: (received: Buffer) => number | null): FrameMatcher {
  return (received) => {
    const length = lengthOf(received);
    if (length === null || received.length < length) return null;
    return { frame: received.subarray(0, length), consumed: length };
  };
}

/** Decodes a line frame as text (latin1: instruments speak 8-bit ASCII). */
export function frameText(frame: Buffer | undefined): string {
  return frame ? frame.toString('latin1') : '';
}
