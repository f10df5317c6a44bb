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
import { ExpressionFailure, expressionError, parseExpression, type ExpressionError, type ExpressionNode } from './expression-parser.js';


/** The value an expression evaluates to. Dates and date-times count as numbers in filters. */
export type ExpressionValue =
  | { readonly kind: 'number'; readonly value: number }
  /** A calendar date `YYYY-MM-DD`. */
  | { readonly kind: 'date'; readonly value: string }
  /** A canonical UTC instant. */
  | { readonly kind: 'datetime'; readonly value: string };

/** What an expression may refer to. */
export interface ExpressionContext {
  /**
   * Job variables, read as `vars.<name>`: numbers, `YYYY-MM-DD` dates, ISO date-times (a time
   * without offset is in the job zone) or watermark texts `yyyy/MM/dd HH:mm:ss` (UTC).
   */
  readonly variables?: Readonly<Record<string, number | string>>;
  /** IANA time zone for `today()`, `daysAgo()`, `startOfDay()` and dates; default `UTC`. */
  readonly timeZone?: string;
  /** The current time; default the system clock. Fixed per job run so that a run is consistent. */
  readonly now?: Date;
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
    const watermark = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(text);
    if (watermark) {
      // The watermark format `yyyy/MM/dd HH:mm:ss` (UTC) of crmStartImport / crmEndDate.
      const d = DateTime.fromISO(`${watermark[1]}-${watermark[2]}-${watermark[3]}T${watermark[4]}Z`, { zone: this.zone, setZone: false });
      return d.isValid ? { t: 'datetime', d } : undefined;
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
