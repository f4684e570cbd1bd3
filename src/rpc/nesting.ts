/**
 * The nesting bound for request lines. JSON.parse itself copes with any depth, but everything after
 * it that walks the value recursively (zod, error messages, JSON.stringify, structured clones) may
 * overflow the stack on a 100,000-deep `[[[[...`: the frame must be refused before it is parsed.
 * No request daqd understands nests deeper than about 8 levels.
 */
export const MAX_NESTING_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when the JSON text nests arrays/objects deeper than `max` levels (a top-level object is level
 * 1). Brackets inside strings do not count. One pass over the characters, no allocation. For valid
 * JSON the count is exactly its nesting depth; for invalid JSON the answer does not matter, since
 * JSON.parse refuses it anyway.
 */
export function nestingExceeds(text: string, max = MAX_NESTING_DEPTH): boolean {
  // Each level needs at least one character: short lines (nearly every request) skip the scan.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++; // the escaped character (\" in particular) is not a delimiter
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
