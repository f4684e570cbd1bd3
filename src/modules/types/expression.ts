/**
 * The arithmetic of `derived` modules: + - * / with the usual precedence, parentheses, unary
 * minus, numbers and `role.reading` references. A hand-written recursive-descent parser, because a
 * config file must never reach eval or new Function: whatever is in the file, the worst it can do
 * is fail to parse.
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := ('-' | '+') unary | primary
 *   primary := number | ident '.' ident | '(' expr ')'
 */

export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'ref'; role: string; reading: string }
  | { kind: 'negate'; operand: Expr }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr };

/** A syntax error with the 1-based column it was found at, for a message a person can act on. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

type Token =
  | { kind: 'number'; value: number; text: string; column: number }
  | { kind: 'ref'; role: string; reading: string; text: string; column: number }
  | { kind: 'op'; text: '+' | '-' | '*' | '/' | '(' | ')'; column: number }
  | { kind: 'end'; text: ''; column: number };

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const MAX_LENGTH = 1000;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    const column = i + 1;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if ('+-*/()'.includes(ch)) {
      tokens.push({ kind: 'op', text: ch as '+', column });
      i += 1;
      continue;
    }
    const rest = source.slice(i);
    const number = NUMBER.exec(rest);
    if (number) {
      const after = rest[number[0].length];
      if (after !== undefined && /[A-Za-z_.]/.test(after)) {
        throw new ExpressionError(`malformed number "${rest.slice(0, number[0].length + 1)}" at column ${column}`, column);
      }
      tokens.push({ kind: 'number', value: Number(number[0]), text: number[0], column });
      i += number[0].length;
      continue;
    }
    const role = IDENT.exec(rest);
    if (role) {
      const afterRole = rest.slice(role[0].length);
      const reading = afterRole.startsWith('.') ? IDENT.exec(afterRole.slice(1)) : null;
      if (!reading) {
        throw new ExpressionError(
          `"${role[0]}" at column ${column} is not a reference: write role.reading, e.g. ${role[0]}.power_w`,
          column,
        );
      }
      const text = `${role[0]}.${reading[0]}`;
      tokens.push({ kind: 'ref', role: role[0], reading: reading[0], text, column });
      i += text.length;
      continue;
    }
    throw new ExpressionError(`unexpected character "${ch}" at column ${column} (allowed: numbers, role.reading, + - * / and parentheses)`, column);
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Expr {
    const expr = this.expr();
    const next = this.peek();
    if (next.kind !== 'end') {
      const hint = next.text === ')' ? ' (no "(" to close)' : ' (missing an operator before it?)';
      throw new ExpressionError(`unexpected "${next.text}" at column ${next.column}${hint}`, next.column);
    }
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private take(): Token {
    return this.tokens[this.pos++]!;
  }

  private isOp(...ops: string[]): boolean {
    const t = this.peek();
    return t.kind === 'op' && ops.includes(t.text);
  }

  private expr(): Expr {
    let left = this.term();
    while (this.isOp('+', '-')) {
      const op = this.take().text as '+' | '-';
      left = { kind: 'binary', op, left, right: this.term() };
    }
    return left;
  }

  private term(): Expr {
    let left = this.unary();
    while (this.isOp('*', '/')) {
      const op = this.take().text as '*' | '/';
      left = { kind: 'binary', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('-')) {
      this.take();
      return { kind: 'negate', operand: this.unary() };
    }
    if (this.isOp('+')) {
      this.take();
      return this.unary();
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.take();
    if (t.kind === 'number') return { kind: 'number', value: t.value };
    if (t.kind === 'ref') return { kind: 'ref', role: t.role, reading: t.reading };
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.expr();
      const close = this.take();
      if (close.kind !== 'op' || close.text !== ')') {
        const found = close.kind === 'end' ? 'the end' : `"${close.text}"`;
        throw new ExpressionError(`expected ")" to close the "(" at column ${t.column}, found ${found} at column ${close.column}`, close.column);
      }
      return inner;
    }
    const found = t.kind === 'end' ? 'the end of the expression' : `"${t.text}"`;
    throw new ExpressionError(`expected a number, a role.reading or "(" at column ${t.column}, found ${found}`, t.column);
  }
}

/** Parses an expression; throws ExpressionError with a column on any syntax error. */
export function parseExpression(source: string): Expr {
  if (source.length > MAX_LENGTH) throw new ExpressionError(`expression is longer than ${MAX_LENGTH} characters`, MAX_LENGTH + 1);
  if (source.trim() === '') throw new ExpressionError('expression is empty', 1);
  return new Parser(tokenize(source)).parse();
}

/** role -> the readings of it the expression uses, in order of first use. */
export function referencesOf(expr: Expr, into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  switch (expr.kind) {
    case 'number':
      break;
    case 'ref': {
      const readings = into.get(expr.role) ?? new Set<string>();
      readings.add(expr.reading);
      into.set(expr.role, readings);
      break;
    }
    case 'negate':
      referencesOf(expr.operand, into);
      break;
    case 'binary':
      referencesOf(expr.left, into);
      referencesOf(expr.right, into);
      break;
  }
  return into;
}

export type Evaluation = { ok: true; value: number } | { ok: false; reason: string };

/**
 * Evaluates with `lookup(role, reading)` giving each input. Division by zero and results that
 * overflow are reported as reasons, not returned as Infinity/NaN: a derived reading that is not a
 * number would poison everything downstream of it.
 */
export function evaluate(expr: Expr, lookup: (role: string, reading: string) => number): Evaluation {
  const failure: { reason?: string } = {};
  const walk = (e: Expr): number => {
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'ref':
        return lookup(e.role, e.reading);
      case 'negate':
        return -walk(e.operand);
      case 'binary': {
        const left = walk(e.left);
        const right = walk(e.right);
        switch (e.op) {
          case '+':
            return left + right;
          case '-':
            return left - right;
          case '*':
            return left * right;
          case '/':
            if (right === 0) {
              failure.reason ??= `division by zero (${describe(e.right)} is 0)`;
              return NaN;
            }
            return left / right;
        }
      }
    }
  };
  const value = walk(expr);
  if (failure.reason) return { ok: false, reason: failure.reason };
  if (!Number.isFinite(value)) return { ok: false, reason: 'the result is not a finite number (overflow)' };
  return { ok: true, value };
}

/** The expression as text again, fully parenthesised where it matters; for messages. */
export function describe(expr: Expr): string {
  switch (expr.kind) {
    case 'number':
      return String(expr.value);
    case 'ref':
      return `${expr.role}.${expr.reading}`;
    case 'negate':
      return `-${wrap(expr.operand)}`;
    case 'binary':
      return `${wrap(expr.left)} ${expr.op} ${wrap(expr.right)}`;
  }
}

function wrap(expr: Expr): string {
  return expr.kind === 'binary' ? `(${describe(expr)})` : describe(expr);
}
