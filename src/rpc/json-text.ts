/**
 * JSON text of answers whose parts are reused from one call to the next (issue 25). daemon.status
 * is ~2.5 kB, and JSON.stringify of it was the largest cost left per request once its aggregate
 * was reused (core/status-memo.ts): ~10 µs, as much as a bare server's whole round trip. Half of
 * it (ports, trouble, the last reload) is the very same objects call after call.
 *
 * A part registered with `reuseJson` has its text made once; a result registered with `composed`
 * is written key by key, each part from that text or JSON.stringify. The text is byte for byte what
 * JSON.stringify of the whole would give. Framings that stringify the plain object themselves
 * (HTTP, MQTT) are unaffected: the objects are ordinary ones.
 *
 * Only for values nobody mutates once made (a part is replaced, never edited): the text is of the
 * value as it was when first registered.
 */

const texts = new WeakMap<object, string>();
const composedResults = new WeakSet<object>();

/** Remember `value`'s JSON text (made now, once per object). Never for an object that is edited later. */
export function reuseJson(value: unknown): void {
  if (typeof value === 'object' && value !== null && !texts.has(value)) {
    const text = JSON.stringify(value);
    if (text !== undefined) texts.set(value, text);
  }
}

/** Mark a plain result object to be written part by part (see responseLine). Returns it. */
export function composed<T extends object>(result: T): T {
  composedResults.add(result);
  return result;
}

/** The JSON text of one value: its remembered text when it has one. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null) {
    const known = texts.get(value);
    if (known !== undefined) return known;
  }
  return JSON.stringify(value);
}

/** `"key":` for the few key names composed results have (each JSON.stringify call costs). */
const keyTexts = new Map<string, string>();
function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = JSON.stringify(key) + ':';
    // Bounded: a result with ever new key names would otherwise grow this for ever.
    if (keyTexts.size < 1000) keyTexts.set(key, text);
  }
  return text;
}

/** JSON text of a composed object: what JSON.stringify gives (keys whose value has no JSON left out). */
function composedText(result: Record<string, unknown>): string {
  let out = '{';
  for (const key of Object.keys(result)) {
    const text = textOf(result[key]);
    if (text === undefined) continue; // undefined, a function, a symbol: JSON.stringify leaves the key out
    out += (out.length > 1 ? ',' : '') + keyText(key) + text;
  }
  return out + '}';
}

/**
 * One response or notification as a JSON line (newline included). Throws when JSON cannot carry
 * it, as JSON.stringify does.
 */
export function responseLine(message: unknown): string {
  const m = message as { jsonrpc?: unknown; id?: unknown; result?: unknown };
  if (typeof m === 'object' && m !== null && typeof m.result === 'object' && m.result !== null && composedResults.has(m.result) && !('error' in m)) {
    const keys = Object.keys(m);
    // Exactly the shape resultResponse builds; anything else goes the ordinary way.
    if (keys.length === 3 && keys[0] === 'jsonrpc' && m.id !== undefined && keys[1] === 'id' && keys[2] === 'result') {
      return `{"jsonrpc":${JSON.stringify(m.jsonrpc)},"id":${JSON.stringify(m.id)},"result":${composedText(m.result as Record<string, unknown>)}}\n`;
    }
  }
  return JSON.stringify(message) + '\n';
}
