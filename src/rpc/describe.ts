/**
 * Describing what a client sent, for error messages. The input is hostile by assumption (1 MiB
 * strings and keys, deep nesting, keys with newlines), so everything here is bounded and never
 * throws: a failure while describing bad input must never turn the client's `invalid_params` into
 * an `internal_error` (it once did: JSON.stringify of a 100,000-deep array overflowed the stack).
 */

/** Characters of a client's value quoted back in a message. */
const PREVIEW_CHARS = 60;
/** Issues listed in one invalid_params message (the rest are counted). */
const MAX_ISSUES = 5;
/** Characters of one issue's text (zod repeats unrecognized keys verbatim, and keys may be huge). */
const MAX_ISSUE_CHARS = 400;

const PLAIN_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * JSON-like text of `value`, at most `maxChars` characters ("..." marks a cut). Stops walking as
 * soon as the budget is spent, so its cost and recursion depth are bounded by `maxChars` whatever
 * the value's size or depth.
 */
export function preview(value: unknown, maxChars = PREVIEW_CHARS): string {
  let out = '';
  const emit = (text: string): boolean => {
    out += text;
    return out.length <= maxChars;
  };
  const walk = (v: unknown): boolean => {
    if (typeof v === 'string') return emit(JSON.stringify(v.length > maxChars ? v.slice(0, maxChars) : v));
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return emit(String(v));
    if (Array.isArray(v)) {
      if (!emit('[')) return false;
      for (let i = 0; i < v.length; i++) {
        if ((i > 0 && !emit(',')) || !walk(v[i])) return false;
      }
      return emit(']');
    }
    if (typeof v === 'object') {
      if (!emit('{')) return false;
      let first = true;
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue;
        if ((!first && !emit(',')) || !emit(`${JSON.stringify(key.length > maxChars ? key.slice(0, maxChars) : key)}:`)) return false;
        first = false;
        if (!walk((v as Record<string, unknown>)[key])) return false;
      }
      return emit('}');
    }
    return emit(typeof v);
  };
  try {
    walk(value);
  } catch {
    return '(a value daqd cannot show)';
  }
  return out.length > maxChars ? `${out.slice(0, maxChars - 3)}...` : out;
}

/** "config.params.x" for a path; a key that is not a plain name is quoted (and cut), never raw. */
export function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((key) => (typeof key === 'number' ? String(key) : typeof key === 'string' && PLAIN_KEY.test(key) ? key : preview(String(key), 40)))
    .join('.');
}

function cut(text: string, max: number): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

/** The parts of a zod issue this module reads (zod's own type is wider and version-dependent). */
export interface IssueLike {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  input?: unknown;
}

/**
 * `<method>: <field>: <what is wrong> (got <value>)`, one clause per issue: the message a person
 * reads for invalid_params. Falls back to a generic sentence if describing fails in any way.
 */
export function paramsProblem(method: string, issues: readonly IssueLike[]): string {
  try {
    const clauses = issues.slice(0, MAX_ISSUES).map((issue) => {
      const got = issue.input === undefined || issue.code === 'unrecognized_keys' ? '' : ` (got ${preview(issue.input)})`;
      return cut(`${pathText(issue.path) || 'params'}: ${issue.message}${got}`, MAX_ISSUE_CHARS);
    });
    const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
    return `${method}: ${clauses.join('; ')}${more}`;
  } catch {
    return `${method}: the params do not match the method's schema (see docs/protocol.md)`;
  }
}

/**
 * Where `value` has an own key "__proto__", or undefined. JSON.parse makes it an ordinary key, but
 * any plain-object copy of it (`out[key] = value`) replaces the copy's prototype instead, and zod's
 * records drop it without a word; the socket refuses it outright. `maxDepth` bounds the walk
 * (request lines are already bounded to MAX_NESTING_DEPTH).
 */
export function findProtoKey(value: unknown, maxDepth: number, path: PropertyKey[] = []): PropertyKey[] | undefined {
  if (typeof value !== 'object' || value === null || path.length >= maxDepth) return undefined;
  // Only containers are walked: a 100,000-number array costs no path copies.
  const visit = (child: unknown, key: PropertyKey) =>
    typeof child === 'object' && child !== null ? findProtoKey(child, maxDepth, [...path, key]) : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = visit(value[i], i);
      if (found) return found;
    }
    return undefined;
  }
  if (Object.hasOwn(value, '__proto__')) return [...path, '__proto__'];
  for (const key of Object.keys(value)) {
    const found = visit((value as Record<string, unknown>)[key], key);
    if (found) return found;
  }
  return undefined;
}
