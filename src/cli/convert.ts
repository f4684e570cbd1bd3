/**
 * Words typed on the daqctl command line -> typed values, before anything is sent. daqd itself
 * never converts (a string where a boolean is declared is refused: issue #15), so this is the one
 * place where "off" becomes false - and only with the parameter's declared type in hand
 * (`instrument.get` -> `parameters`). A word that fits no reading of the declared type is a usage
 * error (exit 2) that lists what is accepted.
 */
import { FALSE_WORDS, NUMERIC_TEXT, TRUE_WORDS } from '../drivers/common/params.js';
import type { ParameterView, Value } from '../client/types.js';
import { UsageError } from './format.js';

/** What conversion needs to know about a parameter. */
export type ParamType = Pick<ParameterView, 'name' | 'type'> & Partial<Pick<ParameterView, 'unit' | 'min' | 'max' | 'values'>>;

/**
 * Common instrument keys `instrument.set` accepts besides the driver's parameters: the poll
 * interval and the connection settings (which reconnect the instrument). Their types are those of
 * src/config/schema.ts (instrumentCommonShape); daqd checks the values.
 */
const COMMON_KEYS: readonly ParamType[] = [
  { name: 'poll_interval_ms', type: 'integer', unit: 'ms', min: 10 },
  { name: 'timeout_ms', type: 'integer', unit: 'ms', min: 10 },
  { name: 'port', type: 'string' },
  { name: 'enabled', type: 'boolean' },
  { name: 'baud_rate', type: 'integer' },
  { name: 'data_bits', type: 'enum', values: [5, 6, 7, 8] },
  { name: 'parity', type: 'enum', values: ['none', 'even', 'odd', 'mark', 'space'] },
  { name: 'stop_bits', type: 'enum', values: [1, 1.5, 2] },
  { name: 'flow_control', type: 'enum', values: ['none', 'rtscts', 'xonxoff'] },
];

/** "key=value" -> [key, value text]. */
export function splitAssignment(word: string): [string, string] {
  const eq = word.indexOf('=');
  if (eq <= 0) throw new UsageError(`expected key=value, got "${word}"`);
  return [word.slice(0, eq), word.slice(eq + 1)];
}

/**
 * A word whose type is not known (a new instrument's --param, --set, module settings): only the
 * unmistakable literals are converted - true, false, numeric text - and a double-quoted word is
 * the string inside the quotes ('"123"' stays the string "123"). Everything else is the string as
 * typed; daqd then checks it against the declaration and says what to give instead.
 */
export function literalValue(text: string): Value {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text;
    }
  }
  if (NUMERIC_TEXT.test(text.trim())) return Number(text.trim());
  return text;
}

/** "k=v" words with literal conversion (see literalValue). */
export function literalAssignments(words: readonly string[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const word of words) {
    const [key, text] = splitAssignment(word);
    out[key] = literalValue(text);
  }
  return out;
}

/**
 * One word for a parameter of a known type:
 * - boolean: true/false, on/off, yes/no, 1/0 (any letter case). Not open/closed: whether open is
 *   true depends on the parameter.
 * - number / integer: numeric text (range and integer checks are daqd's, with its message).
 * - enum: a declared value, any letter case, sent in the declared spelling.
 * - string: the word as typed.
 */
export function convertWord(param: ParamType, text: string, instrumentId: string): Value {
  const who = `${instrumentId}: ${param.name}`;
  switch (param.type) {
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      const why = word === 'open' || word === 'closed' ? ' ("open"/"closed" are not accepted: what they mean depends on the parameter)' : '';
      throw new UsageError(`${who} is true or false: give ${acceptedBooleans()} (got "${text}")${why}`);
    }
    case 'number':
    case 'integer': {
      if (NUMERIC_TEXT.test(text.trim())) return Number(text.trim());
      throw new UsageError(`${who} is ${param.type === 'integer' ? 'an integer' : 'a number'}${rangeText(param)}: give digits, e.g. ${param.name}=${example(param)} (got "${text}")`);
    }
    case 'enum': {
      const values = param.values ?? [];
      const exact = values.find((v) => String(v) === text);
      if (exact !== undefined) return exact;
      const byCase = values.filter((v) => String(v).toLowerCase() === text.toLowerCase());
      if (byCase.length === 1) return byCase[0]!;
      throw new UsageError(`${who} is one of ${values.map(String).join(', ')} (got "${text}")`);
    }
    case 'string':
      return text;
  }
}

/**
 * `daqctl set ID k=v ...` words -> the params of instrument.set. `parameters` are the instrument's
 * declared parameters (instrument.get); a name not among them is sent as a literal (daqd answers
 * with the names it knows). Without `parameters` (a daqd from before issue #15), literals only.
 */
export function convertSetWords(instrumentId: string, words: readonly string[], parameters?: readonly ParamType[]): Record<string, Value> {
  const byName = new Map<string, ParamType>([...COMMON_KEYS, ...(parameters ?? [])].map((p) => [p.name, p]));
  const out: Record<string, Value> = {};
  for (const word of words) {
    const [key, text] = splitAssignment(word);
    const param = parameters ? byName.get(key) : undefined;
    out[key] = param ? convertWord(param, text, instrumentId) : literalValue(text);
  }
  return out;
}

function acceptedBooleans(): string {
  return TRUE_WORDS.map((t, i) => `${t}/${FALSE_WORDS[i]}`).join(', ');
}

function rangeText(p: ParamType): string {
  const unit = p.unit ? ` ${p.unit}` : '';
  if (p.min !== undefined && p.max !== undefined) return ` between ${p.min} and ${p.max}${unit}`;
  if (p.min !== undefined) return ` of at least ${p.min}${unit}`;
  if (p.max !== undefined) return ` of at most ${p.max}${unit}`;
  return unit ? ` (${p.unit})` : '';
}

function example(p: ParamType): number {
  return p.min ?? (p.max !== undefined && p.max < 0 ? p.max : 0);
}
