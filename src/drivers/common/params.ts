/**
 * Parameter validation shared by every driver, the config check and the socket: a value is
 * accepted only if it already has the declared type. Nothing is converted - the value that passes
 * is exactly the value the driver receives (issue #15: `shutter = "off"` passed as a string and a
 * driver comparing with `=== false` left the shutter open). A refusal says what was meant where
 * that is clear ("use shutter = false"), in the syntax of where the value came from: TOML for the
 * config file, JSON for the socket. Converting words typed on a command line is daqctl's job
 * (src/cli/convert.ts), done with the declared type before anything is sent.
 */
import { DaqError } from '../../errors.js';
import type { ParamDecl, ParamValue } from '../types.js';

/** Where a value was written: decides the syntax of the hint in a refusal. */
export type ValueSyntax = 'json' | 'toml';

/**
 * Returns `value` itself when it is valid, or throws DaqError 'invalid_params' (wrong type),
 * 'out_of_range' (outside min/max, or not one of the enum values) or 'not_settable' (read-only).
 * `instrumentId` prefixes the message ("pm1: wavelength_nm must be ..."); `syntax` (default json)
 * is the syntax of the hint appended after "; ".
 */
export function validateParamValue(decl: ParamDecl, value: unknown, instrumentId?: string, syntax: ValueSyntax = 'json'): ParamValue {
  const name = `${instrumentId ? `${instrumentId}: ` : ''}${decl.name}`;
  if (decl.settable === 'never') {
    throw new DaqError('not_settable', `${name} is read-only and cannot be set`, { details: { param: decl.name } });
  }
  const problem = checkValue(decl, value);
  if (problem === undefined) return value as ParamValue;
  const hint = hintFor(decl, value, problem, syntax);
  const details: Record<string, unknown> = { param: decl.name, value: jsonSafe(value) };
  if (problem.suggestion !== undefined) details.suggestion = problem.suggestion;
  throw new DaqError(problem.kind, `${name} must be ${problem.expected} (got ${show(value)})${hint ? `; ${hint}` : ''}`, { details });
}

/**
 * Validates a whole params table (config or a multi-set request): unknown names are refused with the
 * list of known ones. Collects every problem; throws one DaqError listing them all. The result
 * holds the given values themselves.
 */
export function validateParams(
  decls: readonly ParamDecl[],
  params: Record<string, unknown>,
  instrumentId?: string,
  syntax: ValueSyntax = 'json',
): Record<string, ParamValue> {
  const byName = new Map(decls.map((d) => [d.name, d]));
  const out: Record<string, ParamValue> = {};
  const problems: DaqError[] = [];
  for (const [name, value] of Object.entries(params)) {
    const decl = byName.get(name);
    if (!decl) {
      const known = decls.map((d) => d.name).join(', ') || '(none)';
      problems.push(
        new DaqError('invalid_params', `${instrumentId ? `${instrumentId}: ` : ''}unknown parameter "${name}" (known: ${known})`, {
          details: { param: name },
        }),
      );
      continue;
    }
    try {
      out[name] = validateParamValue(decl, value, instrumentId, syntax);
    } catch (err) {
      problems.push(err as DaqError);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    const kind = problems.every((p) => p.kind === problems[0]!.kind) ? problems[0]!.kind : 'invalid_params';
    throw new DaqError(kind, problems.map((p) => p.message).join('; '), {
      details: { problems: problems.map((p) => p.toJSON()) },
    });
  }
  return out;
}

/**
 * The words a person may mean true or false by. Only used to suggest a value in a refusal (and by
 * daqctl to convert command-line words): a value is never converted with them.
 * "open"/"closed" are deliberately absent: whether open is true depends on the parameter.
 */
export const TRUE_WORDS: readonly string[] = ['true', 'on', 'yes', '1'];
export const FALSE_WORDS: readonly string[] = ['false', 'off', 'no', '0'];

/**
 * Numeric text as a person (or a device) writes it: optional sign, digits with an optional
 * fraction, exponent: `820`, `-1.5e-3`, `.5`, `5.`. The one pattern for it (device replies, typed
 * CLI values, MQTT /set payloads, exported CSV cells). Linear on any input: the earlier
 * `\d+\.?\d*` let the engine hand digits back and forth between two runs, quadratic on a long run
 * of digits ending in a letter (40 kB took seconds, with the event loop and the interlocks stopped).
 */
export const NUMERIC_TEXT = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

interface Problem {
  kind: 'invalid_params' | 'out_of_range';
  /** What the value must be: "true or false", "an integer between 400 and 1100 nm". */
  expected: string;
  /** A valid value the given one most likely meant ("800" -> 800, "SLOW" -> "slow"), if any. */
  suggestion?: ParamValue;
  /** The suggestion differs from the value only in letter case (an enum spelling). */
  caseOnly?: boolean;
}

/** undefined when `value` is valid for `decl` as it is. */
function checkValue(decl: ParamDecl, value: unknown): Problem | undefined {
  switch (decl.type) {
    case 'number':
    case 'integer': {
      const expected = `${decl.type === 'integer' ? 'an integer' : 'a number'}${rangeText(decl)}`;
      if (typeof value !== 'number' || !Number.isFinite(value) || (decl.type === 'integer' && !Number.isInteger(value))) {
        return { kind: 'invalid_params', expected, suggestion: validSuggestion(decl, numberMeant(value)) };
      }
      if ((decl.min !== undefined && value < decl.min) || (decl.max !== undefined && value > decl.max)) {
        return { kind: 'out_of_range', expected };
      }
      return undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return undefined;
      return { kind: 'invalid_params', expected: 'true or false', suggestion: booleanMeant(value) };
    case 'string':
      if (typeof value === 'string') return undefined;
      return {
        kind: 'invalid_params',
        expected: 'a string',
        suggestion: typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined,
      };
    case 'enum': {
      const allowed = decl.values ?? [];
      if (allowed.some((v) => v === value)) return undefined;
      const expected = `one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      // The same value in the other type ("3" for 3, or 3 for "3") is a type error; the same
      // type but not an allowed value (including another letter case) is out of range.
      const sameType = allowed.some((v) => typeof v === typeof value);
      const kind = sameType ? 'out_of_range' : 'invalid_params';
      if (typeof value !== 'string' && typeof value !== 'number') return { kind: 'invalid_params', expected };
      const asText = String(value);
      const exact = allowed.find((v) => String(v) === asText);
      if (exact !== undefined) return { kind, expected, suggestion: exact };
      const byCase = allowed.filter((v) => typeof v === 'string' && v.toLowerCase() === asText.toLowerCase());
      if (byCase.length === 1) return { kind, expected, suggestion: byCase[0], caseOnly: true };
      return { kind, expected };
    }
  }
}

/** The number a string most likely meant ("800" -> 800), for a hint; undefined if it is not numeric text. */
export function numberMeant(value: unknown): number | undefined {
  if (typeof value !== 'string' || !NUMERIC_TEXT.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** The boolean a word or 0/1 most likely meant ("off" -> false), for a hint; undefined if unclear. */
export function booleanMeant(value: unknown): boolean | undefined {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : typeof value === 'number' ? String(value) : undefined;
  if (text === undefined) return undefined;
  if (TRUE_WORDS.includes(text)) return true;
  if (FALSE_WORDS.includes(text)) return false;
  return undefined;
}

/** A suggested number only if it would itself be accepted (never point at another refusal). */
function validSuggestion(decl: ParamDecl, n: number | undefined): number | undefined {
  if (n === undefined || !Number.isFinite(n)) return undefined;
  if (decl.type === 'integer' && !Number.isInteger(n)) return undefined;
  if ((decl.min !== undefined && n < decl.min) || (decl.max !== undefined && n > decl.max)) return undefined;
  return n;
}

/** Where a refusal's hint comes from: the params check here, and the config schema check (validate.ts). */
export interface HintInput {
  /** The key the value was given for (a TOML hint writes `key = value`); absent for an array item. */
  key?: string;
  value: unknown;
  /** The declared type, as far as the hint cares. */
  expects: 'boolean' | 'number' | 'other';
  /** A valid value the given one most likely meant. */
  suggestion?: ParamValue;
  /** The suggestion differs from the value only in letter case. */
  caseOnly?: boolean;
}

/**
 * What to write instead, in the syntax the value came in: toml `use shutter = false`, json
 * `give true or false, not "off"`; undefined when there is nothing useful to add.
 */
export function valueHint(h: HintInput, syntax: ValueSyntax): string | undefined {
  const { key, suggestion } = h;
  if (h.caseOnly && suggestion !== undefined) {
    const use = syntax === 'toml' && key !== undefined ? ` use ${tomlAssignment(key, suggestion)}` : '';
    return `did you mean ${JSON.stringify(suggestion)}?${use} (values are case-sensitive)`;
  }
  if (syntax === 'toml') {
    if (suggestion !== undefined) return key !== undefined ? `use ${tomlAssignment(key, suggestion)}` : `write ${tomlValue(suggestion)}`;
    if (h.expects === 'boolean') return key !== undefined ? `use ${tomlAssignment(key, true)} or ${tomlAssignment(key, false)}` : 'write true or false';
    if (h.expects === 'number' && typeof h.value === 'string') return 'numbers are written without quotes';
    return undefined;
  }
  if (h.expects === 'boolean') return `give true or false, not ${show(h.value)}`;
  if (suggestion !== undefined) return `give ${JSON.stringify(suggestion)}, not ${show(h.value)}`;
  if (h.expects === 'number' && typeof h.value === 'string') return 'give a JSON number, not a string';
  return undefined;
}

function hintFor(decl: ParamDecl, value: unknown, problem: Problem, syntax: ValueSyntax): string | undefined {
  // A number out of range: the message already says what is allowed.
  if (problem.kind === 'out_of_range' && problem.suggestion === undefined) return undefined;
  const expects = decl.type === 'boolean' ? 'boolean' : decl.type === 'number' || decl.type === 'integer' ? 'number' : 'other';
  return valueHint({ key: decl.name, value, expects, suggestion: problem.suggestion, caseOnly: problem.caseOnly }, syntax);
}

/** `name = value` as TOML: a bare key when it can be one, values in TOML literal syntax. */
export function tomlAssignment(name: string, value: ParamValue): string {
  const key = /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
  return `${key} = ${tomlValue(value)}`;
}

function tomlValue(value: ParamValue): string {
  // JSON string escapes (\", \\, \n, \uXXXX) are valid in TOML basic strings; numbers and
  // booleans print the same in both.
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function rangeText(decl: ParamDecl): string {
  const unit = decl.unit ? ` ${decl.unit}` : '';
  if (decl.min !== undefined && decl.max !== undefined) return ` between ${decl.min} and ${decl.max}${unit}`;
  if (decl.min !== undefined) return ` of at least ${decl.min}${unit}`;
  if (decl.max !== undefined) return ` of at most ${decl.max}${unit}`;
  return unit ? ` (${decl.unit})` : '';
}

/** A value as it appears in a message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function jsonSafe(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value === undefined || typeof value === 'function' ? String(value) : value;
}
