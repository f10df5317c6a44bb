/**
 * SOQL for the emulator: parsed with `@jetstreamapp/soql-parser-js`, then checked and evaluated
 * over the records of an `InMemoryCrm`. Supported: plain field lists, one object, WHERE with
 * AND/OR/NOT and parentheses, `= != < <= > >= LIKE IN NOT IN`, null, string/number/boolean/date/
 * date-time literals, ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT and OFFSET. Anything else is
 * refused the way Salesforce refuses it (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`).
 *
 * The parser yields WHERE as a linked list with parenthesis counts; the tree is rebuilt here by a
 * small precedence parser (NOT > AND > OR), because the library has no evaluator.
 *
 * @module
 */
import { parseQuery, type Condition, type FieldType as SoqlFieldType, type Query, type WhereClause } from '@jetstreamapp/soql-parser-js';
import type { FieldDescription, FieldValue, FieldValues, ObjectDescription } from '@crm-sync/sdk';

/** A Salesforce error answer: HTTP status plus the `[{errorCode, message}]` body. */
export class SalesforceFault extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }
}

/** A compiled query: which object, which fields, and how to filter, sort and cut. */
interface CompiledSoql {
  readonly object: string;
  readonly fields: readonly string[];
  readonly matches: (values: FieldValues) => boolean;
  readonly compare: ((a: FieldValues, b: FieldValues) => number) | undefined;
  readonly limit?: number;
  readonly offset?: number;
}

type Literal = string | number | boolean | null;

type Token = { kind: '(' } | { kind: ')' } | { kind: 'op'; op: 'AND' | 'OR' | 'NOT' } | { kind: 'cond'; cond: Condition };

type Predicate = (values: FieldValues) => boolean;

function malformed(message: string): SalesforceFault {
  return new SalesforceFault(400, 'MALFORMED_QUERY', message);
}

/** Undoes SOQL string escapes inside a quoted literal. */
function unquote(text: string): string {
  const inner = text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text;
  return inner.replace(/\\(.)/gs, (_m, ch: string) => ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' })[ch] ?? ch);
}

function literalOf(raw: string, type: SoqlFieldType | string | undefined): Literal {
  switch (type) {
    case 'STRING':
      return unquote(raw);
    case 'INTEGER':
    case 'DECIMAL':
    case 'DECIMAL_WITH_CURRENCY_PREFIX':
    case 'INTEGER_WITH_CURRENCY_PREFIX':
      return Number(raw.replace(/^[A-Z]{3}/, ''));
    case 'BOOLEAN':
      return raw.toUpperCase() === 'TRUE';
    case 'NULL':
      return null;
    case 'DATE':
      return raw;
    case 'DATETIME': {
      const ms = Date.parse(raw);
      if (Number.isNaN(ms)) throw malformed(`line 1:0 invalid date-time literal: ${raw}`);
      return new Date(ms).toISOString();
    }
    default:
      throw malformed(`line 1:0 unsupported literal ${raw} (${String(type)})`);
  }
}

function tokens(where: WhereClause | undefined, out: Token[] = []): Token[] {
  if (!where) return out;
  const left = where.left as (Condition & { openParen?: number; closeParen?: number }) | null | undefined;
  if (left) {
    for (let i = 0; i < (left.openParen ?? 0); i++) out.push({ kind: '(' });
    if ('field' in left || 'fn' in left) out.push({ kind: 'cond', cond: left });
    for (let i = 0; i < (left.closeParen ?? 0); i++) out.push({ kind: ')' });
  }
  const operator = (where as { operator?: string }).operator;
  if (operator) out.push({ kind: 'op', op: operator as 'AND' | 'OR' | 'NOT' });
  if ('right' in where && where.right) tokens(where.right as WhereClause, out);
  return out;
}

function likeToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charAt(i);
    if (ch === '\\' && i + 1 < pattern.length) source += pattern.charAt(++i).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (ch === '%') source += '.*';
    else if (ch === '_') source += '.';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}

/** Orders two non-null values of a field: ids binary, text case-insensitive, others natural. */
function compareValues(field: FieldDescription, a: Exclude<FieldValue, null>, b: Exclude<FieldValue, null>): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const textA = String(a);
  const textB = String(b);
  if (field.type === 'id' || field.type === 'reference' || field.type === 'date' || field.type === 'datetime') return textA < textB ? -1 : textA > textB ? 1 : 0;
  const lowerA = textA.toLowerCase();
  const lowerB = textB.toLowerCase();
  return lowerA < lowerB ? -1 : lowerA > lowerB ? 1 : 0;
}

class WhereCompiler {
  private position = 0;
  constructor(
    private readonly list: Token[],
    private readonly fields: ReadonlyMap<string, FieldDescription>,
    private readonly object: string,
  ) {}

  compile(): Predicate {
    const predicate = this.or();
    if (this.position !== this.list.length) throw malformed('line 1:0 unexpected token in WHERE');
    return predicate;
  }

  private or(): Predicate {
    const parts = [this.and()];
    while (this.peekOp('OR')) {
      this.position++;
      parts.push(this.and());
    }
    return parts.length === 1 ? parts[0]! : (values) => parts.some((p) => p(values));
  }

  private and(): Predicate {
    const parts = [this.not()];
    while (this.peekOp('AND')) {
      this.position++;
      parts.push(this.not());
    }
    return parts.length === 1 ? parts[0]! : (values) => parts.every((p) => p(values));
  }

  private not(): Predicate {
    if (this.peekOp('NOT')) {
      this.position++;
      const inner = this.not();
      return (values) => !inner(values);
    }
    return this.primary();
  }

  private primary(): Predicate {
    const token = this.list[this.position++];
    if (!token) throw malformed('line 1:0 unexpected end of WHERE');
    if (token.kind === '(') {
      const inner = this.or();
      if (this.list[this.position++]?.kind !== ')') throw malformed('line 1:0 missing closing parenthesis');
      return inner;
    }
    if (token.kind !== 'cond') throw malformed('line 1:0 unexpected token in WHERE');
    return this.condition(token.cond);
  }

  private peekOp(op: string): boolean {
    const token = this.list[this.position];
    return token?.kind === 'op' && token.op === op;
  }

  private condition(cond: Condition): Predicate {
    const c = cond as Condition & { field?: string; operator?: string; value?: string | string[]; literalType?: string | string[]; fn?: unknown };
    if (c.fn || !c.field) throw malformed('line 1:0 functions are not supported by the emulator');
    const field = this.fields.get(c.field);
    if (!field) throw new SalesforceFault(400, 'INVALID_FIELD', `\n${c.field}\n^\nERROR at Row:1:Column:1\nNo such column '${c.field}' on entity '${this.object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`);
    const name = field.name;
    const literalType = (i: number): string | undefined => (Array.isArray(c.literalType) ? c.literalType[i] : c.literalType);
    const operator = (c.operator ?? '').toUpperCase();
    if (operator === 'IN' || operator === 'NOT IN') {
      const raw = Array.isArray(c.value) ? c.value : [c.value ?? ''];
      const items = raw.map((v, i) => literalOf(v, literalType(i)));
      const test = (values: FieldValues): boolean => {
        const value = values[name] ?? null;
        return items.some((item) => (value === null ? item === null : item !== null && compareValues(field, value, item) === 0));
      };
      return operator === 'IN' ? test : (values) => !test(values);
    }
    if (Array.isArray(c.value)) throw malformed(`line 1:0 operator ${operator} does not take a list`);
    const literal = literalOf(c.value ?? '', literalType(0));
    if (operator === 'LIKE') {
      if (typeof literal !== 'string') throw new SalesforceFault(400, 'INVALID_QUERY_FILTER_OPERATOR', `LIKE needs a string on ${name}`);
      const regexp = likeToRegExp(literal);
      return (values) => {
        const value = values[name];
        return value !== null && value !== undefined && regexp.test(String(value));
      };
    }
    const check = (values: FieldValues): number | undefined => {
      const value = values[name] ?? null;
      if (value === null || literal === null) return value === literal ? 0 : undefined;
      return compareValues(field, value, literal);
    };
    switch (operator) {
      case '=':
        return (values) => check(values) === 0;
      case '!=':
      case '<>':
        return (values) => check(values) !== 0;
      case '<':
        return (values) => (check(values) ?? 0) < 0;
      case '<=':
        return (values) => {
          const r = check(values);
          return r !== undefined && r <= 0;
        };
      case '>':
        return (values) => (check(values) ?? 0) > 0;
      case '>=':
        return (values) => {
          const r = check(values);
          return r !== undefined && r >= 0;
        };
      default:
        throw malformed(`line 1:0 operator ${operator} is not supported by the emulator`);
    }
  }
}

/** Parses and checks `soql` against the object descriptions. Throws a {@link SalesforceFault}. */
export function compileEmulatorSoql(soql: string, describe: (object: string) => ObjectDescription | undefined): CompiledSoql {
  let query: Query;
  try {
    query = parseQuery(soql) as Query;
  } catch (error) {
    throw malformed(`${soql.slice(0, 200)}\n^\nERROR at Row:1:Column:1\n${error instanceof Error ? error.message.split('\n')[0] : 'unexpected token'}`);
  }
  const description = describe(query.sObject ?? '');
  if (!description) {
    throw new SalesforceFault(400, 'INVALID_TYPE', `sObject type '${query.sObject ?? ''}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`);
  }
  const q = query as Query & { groupBy?: unknown; having?: unknown; withDataCategory?: unknown; for?: unknown; update?: unknown };
  if (q.groupBy || q.having || q.withDataCategory || q.for || q.update) throw malformed('line 1:0 the emulator supports SELECT ... FROM ... WHERE ... ORDER BY ... LIMIT ... OFFSET only');
  const fields = new Map(description.fields.map((f) => [f.name, f]));
  const selected: string[] = [];
  for (const item of query.fields ?? []) {
    if (item.type !== 'Field') throw malformed('line 1:0 only plain fields are supported in SELECT by the emulator');
    const field = fields.get(item.field);
    if (!field) throw new SalesforceFault(400, 'INVALID_FIELD', `No such column '${item.field}' on entity '${description.name}'.`);
    selected.push(field.name);
  }
  const matches = query.where ? new WhereCompiler(tokens(query.where), fields, description.name).compile() : () => true;
  let compare: CompiledSoql['compare'];
  const orderBy = query.orderBy ? (Array.isArray(query.orderBy) ? query.orderBy : [query.orderBy]) : [];
  if (orderBy.length > 0) {
    const keys = orderBy.map((key) => {
      const k = key as { field?: string; order?: string; nulls?: string; fn?: unknown };
      const field = k.field ? fields.get(k.field) : undefined;
      if (!field) throw new SalesforceFault(400, 'INVALID_FIELD', `No such column '${k.field ?? '?'}' on entity '${description.name}'.`);
      const descending = k.order === 'DESC';
      const nullsFirst = k.nulls ? k.nulls === 'FIRST' : !descending;
      return { field, descending, nullsFirst };
    });
    compare = (a, b) => {
      for (const key of keys) {
        const x = a[key.field.name] ?? null;
        const y = b[key.field.name] ?? null;
        if (x === null && y === null) continue;
        if (x === null) return key.nullsFirst ? -1 : 1;
        if (y === null) return key.nullsFirst ? 1 : -1;
        const r = compareValues(key.field, x, y);
        if (r !== 0) return key.descending ? -r : r;
      }
      return 0;
    };
  }
  return {
    object: description.name,
    fields: selected,
    matches,
    compare,
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    ...(query.offset !== undefined ? { offset: query.offset } : {}),
  };
}
