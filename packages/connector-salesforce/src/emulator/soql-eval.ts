/**
 * SOQL for the emulator: parsed with `@jetstreamapp/soql-parser-js`, then checked and evaluated
 * over the records of an `InMemoryCrm`. Supported: plain field lists, one object, WHERE with
 * AND/OR/NOT and parentheses, `= != < <= > >= LIKE IN NOT IN`, null, string/number/boolean/date/
 * date-time literals, ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT and OFFSET. Anything else is
 * refused the way Salesforce refuses it (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`), with
 * Salesforce's message layout: the query line, a caret under the offending token,
 * `ERROR at Row:1:Column:N`, then the reason. As on Salesforce, a date or date-time literal in
 * quotes is `INVALID_FIELD`, and AND mixed with OR at one level without parentheses is
 * `MALFORMED_QUERY` (`unexpected token: 'OR'`). `SELECT COUNT() FROM ...` answers the count.
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
  /** `SELECT COUNT()`: the answer carries `totalSize` and no records. */
  readonly count: boolean;
}

type Literal = string | number | boolean | null;

type Token = { kind: '(' } | { kind: ')' } | { kind: 'op'; op: 'AND' | 'OR' | 'NOT' } | { kind: 'cond'; cond: Condition };

type Predicate = (values: FieldValues) => boolean;

/** Builds Salesforce's SOQL error answers for one query text. */
class SoqlErrors {
  /** The query with string literals blanked out, so keywords inside strings are never found. */
  readonly masked: string;
  constructor(readonly soql: string) {
    this.masked = soql.replace(/'(?:\\.|[^'\\])*'/gs, (literal) => `'${' '.repeat(Math.max(0, literal.length - 2))}'`);
  }

  /** An error in Salesforce's layout: the line, a caret, `ERROR at Row:R:Column:C`, the reason. */
  fault(status: number, errorCode: string, offset: number, reason: string): SalesforceFault {
    const at = Math.max(0, Math.min(offset, this.soql.length));
    const before = this.soql.slice(0, at).split('\n');
    const row = before.length;
    const column = before[before.length - 1]!.length + 1;
    const line = this.soql.split('\n')[row - 1] ?? '';
    return new SalesforceFault(status, errorCode, `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${reason}`);
  }

  malformed(offset: number, reason: string): SalesforceFault {
    return this.fault(400, 'MALFORMED_QUERY', offset, reason);
  }

  /** Offset of the first whole-word, case-insensitive `word` outside string literals, from `from`; 0 when absent. */
  find(word: string, from = 0): number {
    const pattern = new RegExp(`(?<![A-Za-z0-9_.])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`, 'i');
    const match = pattern.exec(this.masked.slice(from));
    return match ? from + match.index : 0;
  }

  /** Offset of the WHERE keyword (0 when absent). */
  where(): number {
    return this.find('WHERE');
  }

  /** Offsets and spelling of the AND/OR/NOT operators of the WHERE clause, in order (`NOT IN` excluded). */
  operators(): { offset: number; text: string }[] {
    const start = this.where();
    const out: { offset: number; text: string }[] = [];
    const pattern = /(?<![A-Za-z0-9_])(AND|OR|NOT)(?![A-Za-z0-9_])(?!\s+IN(?![A-Za-z0-9_]))/gi;
    pattern.lastIndex = start;
    for (let m = pattern.exec(this.masked); m; m = pattern.exec(this.masked)) out.push({ offset: m.index, text: this.soql.slice(m.index, m.index + m[1]!.length) });
    return out;
  }
}

const NO_SUCH_COLUMN = (field: string, object: string): string =>
  `No such column '${field}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`;

/** Undoes SOQL string escapes inside a quoted literal. */
function unquote(text: string): string {
  const inner = text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text;
  return inner.replace(/\\(.)/gs, (_m, ch: string) => ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' })[ch] ?? ch);
}

function literalOf(raw: string, type: SoqlFieldType | string | undefined, errors: SoqlErrors): Literal {
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
      if (Number.isNaN(ms)) throw errors.malformed(errors.soql.indexOf(raw), `line 1:${errors.soql.indexOf(raw)} invalid datetime: ${raw}`);
      return new Date(ms).toISOString();
    }
    default:
      throw errors.malformed(Math.max(0, errors.soql.indexOf(raw)), `unexpected token: '${raw}' (this literal is not supported by the crm-sync emulator)`);
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
  /** Where each AND/OR/NOT of the WHERE clause stands in the text, in order. */
  private readonly operatorOffsets: { offset: number; text: string }[];
  /** Where the next condition's search starts in the text. */
  private cursor: number;
  constructor(
    private readonly list: Token[],
    private readonly fields: ReadonlyMap<string, FieldDescription>,
    private readonly object: string,
    private readonly errors: SoqlErrors,
  ) {
    this.operatorOffsets = errors.operators();
    this.cursor = errors.where();
  }

  compile(): Predicate {
    const predicate = this.level();
    if (this.position !== this.list.length) throw this.errors.malformed(this.cursor, 'unexpected token in WHERE');
    return predicate;
  }

  /** The text position of the operator token at list index `index`. */
  private operatorAt(index: number): { offset: number; text: string } | undefined {
    const ordinal = this.list.slice(0, index).filter((token) => token.kind === 'op').length;
    return this.operatorOffsets[ordinal];
  }

  /**
   * One parenthesis level: operands joined by AND or by OR, never both. Salesforce has no
   * precedence between them: `a AND b OR c` is refused with `unexpected token: 'OR'`.
   */
  private level(): Predicate {
    const parts = [this.not()];
    let joiner: 'AND' | 'OR' | undefined;
    for (let token = this.list[this.position]; token?.kind === 'op' && token.op !== 'NOT'; token = this.list[this.position]) {
      if (joiner !== undefined && token.op !== joiner) {
        const at = this.operatorAt(this.position);
        throw this.errors.malformed(at?.offset ?? this.cursor, `unexpected token: '${at?.text ?? token.op}'`);
      }
      joiner = token.op;
      this.position++;
      parts.push(this.not());
    }
    if (parts.length === 1) return parts[0]!;
    return joiner === 'OR' ? (values) => parts.some((p) => p(values)) : (values) => parts.every((p) => p(values));
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
    if (!token) throw this.errors.malformed(this.errors.soql.length, "unexpected token: '<EOF>'");
    if (token.kind === '(') {
      const inner = this.level();
      if (this.list[this.position++]?.kind !== ')') throw this.errors.malformed(this.cursor, "missing ')'");
      return inner;
    }
    if (token.kind !== 'cond') throw this.errors.malformed(this.cursor, 'unexpected token in WHERE');
    return this.condition(token.cond);
  }

  private peekOp(op: string): boolean {
    const token = this.list[this.position];
    return token?.kind === 'op' && token.op === op;
  }

  /**
   * Salesforce refuses a date or date-time literal in quotes, and a date literal against a
   * date-time field (or the reverse): `INVALID_FIELD`, "... should not be enclosed in quotes".
   */
  private checkTemporal(field: FieldDescription, literalType: string | undefined, raw: string, fieldOffset: number): void {
    if (field.type !== 'date' && field.type !== 'datetime') return;
    if (literalType === 'NULL') return;
    if (literalType?.startsWith('DATE_') === true) {
      const at = this.errors.soql.indexOf(raw, fieldOffset);
      throw this.errors.malformed(at >= 0 ? at : fieldOffset, `relative date literals (${raw}) are not supported by the crm-sync emulator; use a date or date-time literal`);
    }
    const wanted = field.type === 'date' ? 'DATE' : 'DATETIME';
    if (literalType === wanted) return;
    const at = this.errors.soql.indexOf(raw, fieldOffset);
    throw this.errors.fault(
      400,
      'INVALID_FIELD',
      at >= 0 ? at : fieldOffset,
      `value of filter criterion for field '${field.name}' must be of type ${field.type === 'date' ? 'date' : 'dateTime'} and should not be enclosed in quotes`,
    );
  }

  private condition(cond: Condition): Predicate {
    const c = cond as Condition & { field?: string; operator?: string; value?: string | string[]; literalType?: string | string[]; fn?: unknown };
    if (c.fn || !c.field) throw this.errors.malformed(this.cursor, 'functions in WHERE are not supported by the crm-sync emulator');
    const fieldOffset = this.errors.find(c.field, this.cursor);
    this.cursor = Math.max(this.cursor, fieldOffset);
    const field = this.fields.get(c.field);
    if (!field) throw this.errors.fault(400, 'INVALID_FIELD', fieldOffset, NO_SUCH_COLUMN(c.field, this.object));
    const name = field.name;
    const literalType = (i: number): string | undefined => (Array.isArray(c.literalType) ? c.literalType[i] : c.literalType);
    const operator = (c.operator ?? '').toUpperCase();
    if (operator === 'IN' || operator === 'NOT IN') {
      const raw = Array.isArray(c.value) ? c.value : [c.value ?? ''];
      raw.forEach((v, i) => this.checkTemporal(field, literalType(i), v, fieldOffset));
      const items = raw.map((v, i) => literalOf(v, literalType(i), this.errors));
      const test = (values: FieldValues): boolean => {
        const value = values[name] ?? null;
        return items.some((item) => (value === null ? item === null : item !== null && compareValues(field, value, item) === 0));
      };
      return operator === 'IN' ? test : (values) => !test(values);
    }
    if (Array.isArray(c.value)) throw this.errors.malformed(fieldOffset, `unexpected token: '(' (operator ${operator} does not take a list)`);
    this.checkTemporal(field, literalType(0), c.value ?? '', fieldOffset);
    const literal = literalOf(c.value ?? '', literalType(0), this.errors);
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
        throw this.errors.malformed(fieldOffset, `operator ${operator} is not supported by the crm-sync emulator`);
    }
  }
}

/** Parses and checks `soql` against the object descriptions. Throws a {@link SalesforceFault}. */
export function compileEmulatorSoql(soql: string, describe: (object: string) => ObjectDescription | undefined): CompiledSoql {
  const errors = new SoqlErrors(soql);
  let query: Query;
  try {
    query = parseQuery(soql) as Query;
  } catch (error) {
    const text = error instanceof Error ? error.message.split('\n')[0]! : 'unexpected token';
    const found = /found --> '(.*?)' <--/.exec(text)?.[1];
    if (found !== undefined) throw errors.malformed(errors.find(found, 0), `unexpected token: '${found}'`);
    throw errors.malformed(0, text);
  }
  const description = describe(query.sObject ?? '');
  if (!description) {
    throw errors.fault(
      400,
      'INVALID_TYPE',
      errors.find(query.sObject ?? '', errors.find('FROM')),
      `sObject type '${query.sObject ?? ''}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const q = query as Query & { groupBy?: unknown; having?: unknown; withDataCategory?: unknown; for?: unknown; update?: unknown };
  if (q.groupBy || q.having || q.withDataCategory || q.for || q.update) {
    throw errors.malformed(errors.find('FROM'), 'the crm-sync emulator supports SELECT ... FROM ... WHERE ... ORDER BY ... LIMIT ... OFFSET only (no GROUP BY, HAVING, WITH, FOR)');
  }
  const fields = new Map(description.fields.map((f) => [f.name, f]));
  const selected: string[] = [];
  const items = query.fields ?? [];
  const first = items[0] as { type?: string; functionName?: string; parameters?: unknown[] } | undefined;
  const count = items.length === 1 && first?.type === 'FieldFunctionExpression' && first.functionName?.toUpperCase() === 'COUNT' && (first.parameters ?? []).length === 0;
  if (!count) {
    let from = 0;
    for (const item of items) {
      if (item.type !== 'Field') throw errors.malformed(errors.find('SELECT') + 7, 'the crm-sync emulator supports plain fields and COUNT() in SELECT only (no relationship paths, subqueries or functions)');
      const at = errors.find(item.field, from);
      from = at;
      const field = fields.get(item.field);
      if (!field) throw errors.fault(400, 'INVALID_FIELD', at, NO_SUCH_COLUMN(item.field, description.name));
      selected.push(field.name);
    }
  }
  const matches = query.where ? new WhereCompiler(tokens(query.where), fields, description.name, errors).compile() : () => true;
  let compare: CompiledSoql['compare'];
  const orderBy = query.orderBy ? (Array.isArray(query.orderBy) ? query.orderBy : [query.orderBy]) : [];
  if (orderBy.length > 0) {
    const keys = orderBy.map((key) => {
      const k = key as { field?: string; order?: string; nulls?: string; fn?: unknown };
      const field = k.field ? fields.get(k.field) : undefined;
      if (!field) throw errors.fault(400, 'INVALID_FIELD', errors.find(k.field ?? '', errors.find('ORDER')), NO_SUCH_COLUMN(k.field ?? '?', description.name));
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
    count,
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    ...(query.offset !== undefined ? { offset: query.offset } : {}),
  };
}
