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
 *
 * A result composed with a `slot` (one per kind of answer: 'daemon.status') also remembers its last text, part by part, with a private copy of each part's
 * content (json-snapshot.ts). A script asking in a loop mostly gets what it got a moment ago: the
 * parts that match their copy keep their text, and when all do, the whole text is the last one.
 * The text is still exactly JSON.stringify's of the result as it is now: nothing is reused on
 * time, only on equal content.
 */
import { keysMatch, matches, snapshotOf, type Snap } from './json-snapshot.js';

const texts = new WeakMap<object, string>();
/**
 * The last results marked composed, each with its slot name ('' for none): a small ring searched by
 * identity, not a WeakMap. A result is written within a few microtasks of being returned, and a
 * WeakMap entry per answer for such short-lived keys cost the garbage collector ~2.5 % of a status
 * request (ephemeron barriers, perf). A result pushed out of the ring before it is written (more
 * than RING answers in between) is simply written by JSON.stringify: the same text, made slower.
 */
const RING = 32;
const ringResults: (object | undefined)[] = new Array<object | undefined>(RING).fill(undefined);
const ringSlots: string[] = new Array<string>(RING).fill('');
const ringFrozen: boolean[] = new Array<boolean>(RING).fill(false);
let ringNext = 0;

/** Where a result marked composed sits in the ring, or -1. */
function ringIndex(result: object): number {
  for (let i = 0; i < RING; i++) if (ringResults[i] === result) return i;
  return -1;
}

/** The last text of a slot's answer, part by part (see the header). */
interface SlotMemory {
  keys: string[];
  snaps: Snap[];
  texts: (string | undefined)[];
  whole: string;
}
const slots = new Map<string, SlotMemory>();
/** Slots remembered at most (the one whose text changed longest ago is forgotten first). */
export const MAX_SLOTS = 256;

const isReused = (o: object): boolean => texts.has(o);

/** Remember `value`'s JSON text (made now, once per object). Never for an object that is edited later. */
export function reuseJson(value: unknown): void {
  if (typeof value === 'object' && value !== null && !texts.has(value)) {
    const text = JSON.stringify(value);
    if (text !== undefined) texts.set(value, text);
  }
}

/**
 * Mark a plain result object to be written part by part (see responseLine), and with a `slot`, to
 * reuse the last text of that slot where the content is the same (see the header). `frozen`: the
 * result is never edited from now on (one answer shared by many requests: answer-batch.ts, a reused
 * instrument.get answer), so its whole text is kept with it once made. Returns it.
 */
export function composed<T extends object>(result: T, slot = '', frozen = false): T {
  ringResults[ringNext] = result;
  ringSlots[ringNext] = slot;
  ringFrozen[ringNext] = frozen;
  ringNext = (ringNext + 1) % RING;
  return result;
}

/** The JSON text of one value: its remembered text when it has one. */
function textOf(value: unknown, key: string): string | undefined {
  if (typeof value === 'object' && value !== null) {
    const known = texts.get(value);
    if (known !== undefined) return known;
    // A part with toJSON is written inside an object of its own key, as JSON.stringify of the whole
    // writes it (toJSON gets that key), and cut out: `{"key":` ... `}`, or `{}` when it has no JSON.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      const text = JSON.stringify({ [key]: value });
      return text === '{}' ? undefined : text.slice(JSON.stringify(key).length + 2, -1);
    }
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
function composedText(result: Record<string, unknown>, slot: string, frozen: boolean): string {
  // A whole result registered with reuseJson, or frozen and written before: its text as made then.
  const known = texts.get(result);
  if (known !== undefined) return known;
  const text = slotText(result, slot);
  if (frozen) texts.set(result, text);
  return text;
}

function slotText(result: Record<string, unknown>, slot: string): string {
  const memory = slot === '' ? undefined : slots.get(slot);
  // Every part matches its copy in the last answer, in the same order: the last answer's text.
  if (memory !== undefined && keysMatch(result, memory.keys, memory.snaps)) return memory.whole;
  const keys = Object.keys(result);
  const snaps = new Array<Snap>(keys.length);
  const partTexts = new Array<string | undefined>(keys.length);
  // Pieces joined once: join makes one flat string, where `+=` would leave a rope of every piece
  // that V8 walks again each time the answer is written (7 % of a status request, perf).
  const pieces: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = result[key];
    // A part that matches its copy in the last answer keeps its text (and its copy).
    const kept = memory !== undefined && memory.keys[i] === key && matches(value, memory.snaps[i]!);
    const text = kept ? memory.texts[i] : textOf(value, key);
    if (slot !== '') {
      snaps[i] = kept ? memory.snaps[i]! : snapshotOf(value, isReused);
      partTexts[i] = text;
    }
    if (text === undefined) continue; // undefined, a function, a symbol: JSON.stringify leaves the key out
    pieces.push(keyText(key) + text);
  }
  const out = '{' + pieces.join(',') + '}';
  if (slot !== '') remember(slot, { keys, snaps, texts: partTexts, whole: out });
  return out;
}

function remember(slot: string, memory: SlotMemory): void {
  slots.delete(slot); // re-inserted last: the Map's order is the order of change
  if (slots.size >= MAX_SLOTS) slots.delete(slots.keys().next().value!);
  slots.set(slot, memory);
}

/**
 * One response or notification as a JSON line (newline included). Throws when JSON cannot carry
 * it, as JSON.stringify does.
 */
export function responseLine(message: unknown): string {
  const m = message as { jsonrpc?: unknown; id?: unknown; result?: unknown };
  const at = typeof m === 'object' && m !== null && typeof m.result === 'object' && m.result !== null ? ringIndex(m.result) : -1;
  if (at >= 0 && !('error' in m)) {
    const keys = Object.keys(m);
    // Exactly the shape resultResponse builds; anything else goes the ordinary way.
    if (keys.length === 3 && keys[0] === 'jsonrpc' && m.id !== undefined && keys[1] === 'id' && keys[2] === 'result') {
      return `{"jsonrpc":${JSON.stringify(m.jsonrpc)},"id":${JSON.stringify(m.id)},"result":${composedText(m.result as Record<string, unknown>, ringSlots[at]!, ringFrozen[at]!)}}\n`;
    }
  }
  return JSON.stringify(message) + '\n';
}
