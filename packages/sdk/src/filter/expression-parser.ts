/**
 * The parser of filter expressions: text to a positioned AST, by hand-written recursive descent
 * (see `expression.ts` for why), never `eval`/`Function`.
 *
 * Grammar:
 * ```
 * expr    := term (('+' | '-') term)*
 * term    := unary (('*' | '/') unary)*
 * unary   := '-' unary | primary
 * primary := number | string | '(' expr ')' | 'vars' '.' name | name '(' [expr (',' expr)*] ')'
 * ```
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';

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


/** @internal Builds the error for a position. */
export function expressionError(source: string, position: number, problem: string): ExpressionError {
  return {
    kind: 'expression',
    source,
    position,
    message: `[crm-sync] [filter] expression "${source}": ${problem} at position ${position}`,
  };
}

/* Converted to an ExpressionError at the module boundary; never escapes a public function. */
/** @internal Thrown inside the parser and evaluator only. */
export class ExpressionFailure {
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
