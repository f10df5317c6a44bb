/**
 * A safe evaluator for the right-hand side of filter comparisons (`daysAgo(30)`,
 * `vars.minScore * 2`, `addDays(date('2012-11-01'), 7)`).
 *
 * Hand-written recursive descent on purpose: the grammar is tiny, it must never reach `eval` or
 * `Function` (job files come from users), errors must point at a character position, and no
 * maintained library in this workspace evaluates a safe arithmetic subset with luxon dates in a
 * job time zone.
 *
 * Grammar:
 * ```
 * expr    := term (('+' | '-') term)*
 * term    := unary (('*' | '/') unary)*
 * unary   := '-' unary | primary
 * primary := number | string | '(' expr ')' | 'vars' '.' name | name '(' [expr (',' expr)*] ')'
 * ```
 * Functions: `now()`, `today()`, `daysAgo(n)`, `hoursAgo(n)`, `date('YYYY-MM-DD')`,
 * `datetime('ISO')`, `addDays(d, n)`, `startOfDay(d)`; calendar arithmetic happens in the job
 * time zone, so a day is a calendar day even across a DST change.
 *
 * @module
 */
import { DateTime } from 'luxon';
import { err, ok, type Result } from 'neverthrow';

/** The value an expression evaluates to. Dates and date-times count as numbers in filters. */
export type ExpressionValue =
  | { readonly kind: 'number'; readonly value: number }
  /** A calendar date `YYYY-MM-DD`. */
  | { readonly kind: 'date'; readonly value: string }
  /** A canonical UTC instant. */
  | { readonly kind: 'datetime'; readonly value: string };

/** The static type of an expression; `unknown` when it depends on a job variable. */
export type ExpressionType = 'number' | 'date' | 'datetime' | 'string' | 'unknown';

/** A parsed expression. Every node keeps the position (0-based character offset) it starts at. */
export type ExpressionNode =
  | { readonly type: 'number'; readonly value: number; readonly pos: number }
  | { readonly type: 'string'; readonly value: string; readonly pos: number }
  | { readonly type: 'variable'; readonly name: string; readonly pos: number }
  | { readonly type: 'negate'; readonly operand: ExpressionNode; readonly pos: number }
  | {
      readonly type: 'binary';
      readonly op: '+' | '-' | '*' | '/';
      readonly left: ExpressionNode;
      readonly right: ExpressionNode;
      readonly pos: number;
    }
  | { readonly type: 'call'; readonly name: string; readonly args: readonly ExpressionNode[]; readonly pos: number };

/** Why an expression could not be parsed or evaluated. */
export interface ExpressionError {
  readonly kind: 'expression';
  /** The expression text. */
  readonly source: string;
  /** 0-based character offset of the problem. */
  readonly position: number;
  /** `[crm-sync] [filter] expression "...": <problem> at position N`. */
  readonly message: string;
}

/** What an expression may refer to. */
export interface ExpressionContext {
  /** Job variables, read as `vars.<name>`: numbers, `YYYY-MM-DD` dates or ISO date-times. */
  readonly variables?: Readonly<Record<string, number | string>>;
  /** IANA time zone for `today()`, `daysAgo()`, `startOfDay()` and dates; default `UTC`. */
  readonly timeZone?: string;
  /** The current time; default the system clock. Fixed per job run so that a run is consistent. */
  readonly now?: Date;
}

function expressionError(source: string, position: number, problem: string): ExpressionError {
  return {
    kind: 'expression',
    source,
    position,
    message: `[crm-sync] [filter] expression "${source}": ${problem} at position ${position}`,
  };
}

/** Thrown inside the parser/evaluator only; converted to an {@link ExpressionError} at the boundary. */
class ExpressionFailure {
  constructor(
    readonly position: number,
    readonly problem: string,
  ) {}
}

type Token =
  | { readonly t: 'num'; readonly value: number; readonly pos: number }
  | { readonly t: 'str'; readonly value: string; readonly pos: number }
  | { readonly t: 'id'; readonly value: string; readonly pos: number }
  | { readonly t: 'sym'; readonly value: string; readonly pos: number }
  | { readonly t: 'end'; readonly pos: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i += 1;
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(source.slice(i));
      if (!match) throw new ExpressionFailure(i, `unexpected "${ch}"`);
      tokens.push({ t: 'num', value: Number(match[0]), pos: i });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      tokens.push({ t: 'id', value: match[0], pos: i });
      i += match[0].length;
    } else if (ch === "'" || ch === '"') {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) throw new ExpressionFailure(i, 'unterminated string (add the closing quote)');
      tokens.push({ t: 'str', value: source.slice(i + 1, end), pos: i });
      i = end + 1;
    } else if ('+-*/(),.'.includes(ch)) {
      tokens.push({ t: 'sym', value: ch, pos: i });
      i += 1;
    } else {
      throw new ExpressionFailure(i, `unexpected "${ch}" (allowed: numbers, + - * / ( ), vars.<name>, functions)`);
    }
  }
  tokens.push({ t: 'end', pos: source.length });
  return tokens;
}

const FUNCTION_ARITY: Readonly<Record<string, number>> = {
  now: 0,
  today: 0,
  daysAgo: 1,
  hoursAgo: 1,
  date: 1,
  datetime: 1,
  addDays: 2,
  startOfDay: 1,
};

class Parser {
  private index = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parse(): ExpressionNode {
    const node = this.expr();
    const next = this.peek();
    if (next.t !== 'end') throw new ExpressionFailure(next.pos, `unexpected ${describe(next)} (expected an operator or the end)`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.t !== 'end') this.index += 1;
    return token;
  }

  private isSym(value: string): boolean {
    const token = this.peek();
    return token.t === 'sym' && token.value === value;
  }

  private expect(value: string): void {
    const token = this.next();
    if (token.t !== 'sym' || token.value !== value) {
      throw new ExpressionFailure(token.pos, `expected "${value}" but found ${describe(token)}`);
    }
  }

  private expr(): ExpressionNode {
    let left = this.term();
    while (this.isSym('+') || this.isSym('-')) {
      const token = this.next() as { value: '+' | '-'; pos: number };
      left = { type: 'binary', op: token.value, left, right: this.term(), pos: token.pos };
    }
    return left;
  }

  private term(): ExpressionNode {
    let left = this.unary();
    while (this.isSym('*') || this.isSym('/')) {
      const token = this.next() as { value: '*' | '/'; pos: number };
      left = { type: 'binary', op: token.value, left, right: this.unary(), pos: token.pos };
    }
    return left;
  }

  private unary(): ExpressionNode {
    if (this.isSym('-')) {
      const token = this.next();
      return { type: 'negate', operand: this.unary(), pos: token.pos };
    }
    return this.primary();
  }

  private primary(): ExpressionNode {
    const token = this.next();
    if (token.t === 'num') return { type: 'number', value: token.value, pos: token.pos };
    if (token.t === 'str') return { type: 'string', value: token.value, pos: token.pos };
    if (token.t === 'sym' && token.value === '(') {
      const inner = this.expr();
      this.expect(')');
      return inner;
    }
    if (token.t === 'id' && token.value === 'vars') {
      this.expect('.');
      const name = this.next();
      if (name.t !== 'id') throw new ExpressionFailure(name.pos, `expected a variable name after "vars." but found ${describe(name)}`);
      return { type: 'variable', name: name.value, pos: token.pos };
    }
    if (token.t === 'id') {
      const arity = FUNCTION_ARITY[token.value];
      if (arity === undefined) {
        throw new ExpressionFailure(
          token.pos,
          `unknown name "${token.value}" (use vars.<name> for job variables, or one of ${Object.keys(FUNCTION_ARITY).join(', ')})`,
        );
      }
      this.expect('(');
      const args: ExpressionNode[] = [];
      if (!this.isSym(')')) {
        args.push(this.expr());
        while (this.isSym(',')) {
          this.next();
          args.push(this.expr());
        }
      }
      this.expect(')');
      if (args.length !== arity) {
        throw new ExpressionFailure(token.pos, `${token.value}() takes ${arity} argument(s), got ${args.length}`);
      }
      return { type: 'call', name: token.value, args, pos: token.pos };
    }
    throw new ExpressionFailure(token.pos, `expected a number, a variable or a function but found ${describe(token)}`);
  }
}

function describe(token: Token): string {
  return token.t === 'end' ? 'the end of the expression' : `"${String(token.value)}"`;
}

/** Parses an expression; the error names the position of the first problem. */
export function parseExpression(source: string): Result<ExpressionNode, ExpressionError> {
  try {
    return ok(new Parser(tokenize(source)).parse());
  } catch (failure) {
    if (failure instanceof ExpressionFailure) return err(expressionError(source, failure.position, failure.problem));
    throw failure;
  }
}

/** The static type of a parsed expression (`unknown` where it depends on a variable). */
export function inferExpressionType(node: ExpressionNode): ExpressionType {
  switch (node.type) {
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'variable':
      return 'unknown';
    case 'negate':
    case 'binary':
      return 'number';
    case 'call':
      switch (node.name) {
        case 'today':
        case 'date':
          return 'date';
        case 'addDays': {
          const first = inferExpressionType(node.args[0]!);
          return first === 'date' || first === 'datetime' ? first : 'unknown';
        }
        default:
          return 'datetime';
      }
  }
}

type Value =
  | { readonly t: 'number'; readonly n: number }
  | { readonly t: 'string'; readonly s: string }
  | { readonly t: 'date' | 'datetime'; readonly d: DateTime };

class Evaluator {
  private readonly zone: string;
  private readonly now: DateTime;
  constructor(private readonly context: ExpressionContext) {
    this.zone = context.timeZone ?? 'UTC';
    this.now = DateTime.fromJSDate(context.now ?? new Date(), { zone: this.zone });
    if (!this.now.isValid) throw new ExpressionFailure(0, `invalid time zone "${this.zone}" (use an IANA name such as Europe/Amsterdam)`);
  }

  eval(node: ExpressionNode): Value {
    switch (node.type) {
      case 'number':
        return { t: 'number', n: node.value };
      case 'string':
        return { t: 'string', s: node.value };
      case 'variable':
        return this.variable(node.name, node.pos);
      case 'negate':
        return { t: 'number', n: -this.number(this.eval(node.operand), node.pos, 'unary "-"') };
      case 'binary': {
        const a = this.number(this.eval(node.left), node.pos, `"${node.op}"`);
        const b = this.number(this.eval(node.right), node.pos, `"${node.op}"`);
        if (node.op === '/' && b === 0) throw new ExpressionFailure(node.pos, 'division by zero');
        const n = node.op === '+' ? a + b : node.op === '-' ? a - b : node.op === '*' ? a * b : a / b;
        return { t: 'number', n };
      }
      case 'call':
        return this.call(node);
    }
  }

  private number(value: Value, pos: number, what: string): number {
    if (value.t !== 'number') {
      throw new ExpressionFailure(pos, `${what} needs numbers, got a ${value.t} (move dates with addDays(d, n))`);
    }
    return value.n;
  }

  private variable(name: string, pos: number): Value {
    const variables = this.context.variables ?? {};
    if (!Object.hasOwn(variables, name)) {
      const known = Object.keys(variables);
      throw new ExpressionFailure(pos, `unknown variable vars.${name} (known: ${known.length ? known.join(', ') : 'none'})`);
    }
    const raw = variables[name]!;
    if (typeof raw === 'number') return { t: 'number', n: raw };
    const parsed = this.parseTemporal(raw);
    if (!parsed) throw new ExpressionFailure(pos, `vars.${name} is "${raw}", which is neither a number nor a date or date-time`);
    return parsed;
  }

  private parseTemporal(text: string): Value | undefined {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
      const d = DateTime.fromISO(text, { zone: this.zone });
      return d.isValid ? { t: 'date', d } : undefined;
    }
    if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
      // Text without an offset is a wall-clock time in the job zone.
      const d = DateTime.fromISO(text, { zone: this.zone, setZone: false });
      return d.isValid ? { t: 'datetime', d: d.setZone(this.zone) } : undefined;
    }
    return undefined;
  }

  private call(node: Extract<ExpressionNode, { type: 'call' }>): Value {
    const args = node.args.map((arg) => this.eval(arg));
    switch (node.name) {
      case 'now':
        return { t: 'datetime', d: this.now };
      case 'today':
        return { t: 'date', d: this.now.startOf('day') };
      case 'daysAgo':
        return { t: 'datetime', d: this.now.minus({ days: this.number(args[0]!, node.pos, 'daysAgo()') }) };
      case 'hoursAgo':
        return { t: 'datetime', d: this.now.minus({ hours: this.number(args[0]!, node.pos, 'hoursAgo()') }) };
      case 'date':
      case 'datetime': {
        const arg = args[0]!;
        const parsed = arg.t === 'string' ? this.parseTemporal(arg.s) : undefined;
        if (!parsed || parsed.t !== node.name) {
          const example = node.name === 'date' ? "date('2012-11-01')" : "datetime('2012-11-01T00:00:00Z')";
          throw new ExpressionFailure(node.pos, `${node.name}() needs a quoted ${node.name === 'date' ? 'YYYY-MM-DD date' : 'ISO date-time'}, e.g. ${example}`);
        }
        return parsed;
      }
      case 'addDays': {
        const base = args[0]!;
        if (base.t !== 'date' && base.t !== 'datetime') throw new ExpressionFailure(node.pos, 'addDays(d, n) needs a date or date-time as d');
        return { t: base.t, d: base.d.plus({ days: this.number(args[1]!, node.pos, 'addDays()') }) };
      }
      default: {
        const base = args[0]!;
        if (base.t !== 'date' && base.t !== 'datetime') throw new ExpressionFailure(node.pos, 'startOfDay(d) needs a date or date-time');
        return { t: 'datetime', d: base.d.startOf('day') };
      }
    }
  }
}

/**
 * Evaluates a parsed expression. The result is a number, a date (`YYYY-MM-DD`) or a date-time
 * (canonical UTC instant); a bare string literal is an error (strings only feed `date()`).
 */
export function evaluateExpressionNode(
  node: ExpressionNode,
  source: string,
  context: ExpressionContext = {},
): Result<ExpressionValue, ExpressionError> {
  try {
    const value = new Evaluator(context).eval(node);
    switch (value.t) {
      case 'number':
        if (!Number.isFinite(value.n)) throw new ExpressionFailure(node.pos, 'the result is not a finite number');
        return ok({ kind: 'number', value: value.n });
      case 'date':
        return ok({ kind: 'date', value: value.d.toISODate()! });
      case 'datetime':
        return ok({ kind: 'datetime', value: value.d.toUTC().toISO()! });
      default:
        throw new ExpressionFailure(node.pos, 'a string is not a value here (wrap it: date(...) or datetime(...))');
    }
  } catch (failure) {
    if (failure instanceof ExpressionFailure) return err(expressionError(source, failure.position, failure.problem));
    throw failure;
  }
}

/** Parses and evaluates an expression in one step. */
export function evaluateExpression(source: string, context: ExpressionContext = {}): Result<ExpressionValue, ExpressionError> {
  return parseExpression(source).andThen((node) => evaluateExpressionNode(node, source, context));
}
