/**
 * A pure SOQL compiler: `QueryRequest` (filter AST, window keyset, order by, ids) -> one SOQL text.
 *
 * Field names come only from the object's description (never from the request text as such), and
 * every literal is written by {@link soqlLiteral}, which escapes strings per SOQL rules and writes
 * dates and date-times as unquoted literals. A hostile value therefore stays one literal: it can
 * never change the query's structure. No installed library compiles a filter tree to SOQL with
 * these guarantees (soql-parser-js composes, but does not escape values), hence this file.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type {
  FieldDescription,
  ObjectDescription,
  OrderBy,
  QueryRequest,
  ResolvedFilterNode,
  ResolvedFilterValue,
} from '@crm-sync/sdk';
import { toCanonicalSalesforceId } from './ids.js';

type ScalarValue = Exclude<ResolvedFilterValue, { kind: 'list' }>;

/** Salesforce caps a SOQL statement at 100,000 characters. */
export const MAX_SOQL_LENGTH = 100_000;

/** Escapes a string for a SOQL single-quoted literal. */
export function escapeSoqlString(value: string): string {
  return value.replace(/[\\'"\n\r\t\b\f]/g, (ch) => {
    switch (ch) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
      default:
        return `\\${ch}`;
    }
  });
}

/** Escapes the LIKE wildcards of a string that must match literally (startsWith/contains). */
function escapeLikeWildcards(value: string): string {
  return escapeSoqlString(value).replace(/[%_]/g, (ch) => `\\${ch}`);
}

/** A UTF-16 surrogate without its pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A canonical instant as a SOQL date-time literal (UTC, milliseconds kept for exact keysets). */
function dateTimeLiteral(value: string): string | undefined {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString();
}

/**
 * Writes one value as a SOQL literal for a field. Dates compare with date fields as `YYYY-MM-DD`
 * and with date-time fields as midnight UTC; date-times compare with date fields by their UTC
 * date (SOQL refuses a date-time literal against a date field and vice versa).
 */
export function soqlLiteral(field: FieldDescription, value: ScalarValue): Result<string, string> {
  switch (value.kind) {
    case 'number':
      return Number.isFinite(value.value) ? ok(String(value.value)) : err(`${value.value} is not a finite number`);
    case 'boolean':
      return ok(value.value ? 'TRUE' : 'FALSE');
    case 'string':
      // A lone surrogate cannot be percent-encoded into the query URL (encodeURIComponent throws).
      if (LONE_SURROGATE.test(value.value)) return err('the value is not valid text (it holds a lone UTF-16 surrogate); fix the source data');
      return ok(`'${escapeSoqlString(value.value)}'`);
    case 'date': {
      if (!DATE.test(value.value) || Number.isNaN(Date.parse(value.value))) return err(`"${value.value}" is not a date (YYYY-MM-DD)`);
      return ok(field.type === 'datetime' ? `${value.value}T00:00:00.000Z` : value.value);
    }
    case 'datetime': {
      const literal = dateTimeLiteral(value.value);
      if (literal === undefined) return err(`"${value.value}" is not an ISO 8601 date-time`);
      return ok(field.type === 'date' ? literal.slice(0, 10) : literal);
    }
  }
}

/** A compile failure: what was wrong and where. */
export interface SoqlCompileError {
  readonly message: string;
}

const COMPARISON: Readonly<Record<string, string>> = { eq: '=', ne: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

class Compiler {
  private readonly fields: ReadonlyMap<string, FieldDescription>;
  constructor(private readonly description: ObjectDescription) {
    this.fields = new Map(description.fields.map((f) => [f.name, f]));
  }

  /** The described field named `name`, or an error naming the object. */
  field(name: string, where: string): Result<FieldDescription, string> {
    const field = this.fields.get(name);
    if (field === undefined) {
      return err(`${where}: field "${name.slice(0, 80)}" does not exist on ${this.description.name}; use a field name from describe('${this.description.name}')`);
    }
    return ok(field);
  }

  filter(node: ResolvedFilterNode, path: string): Result<string, string> {
    if (node.kind === 'group') {
      if (node.items.length === 0) return err(`${path}: an empty group; remove it or add a comparison`);
      const parts: string[] = [];
      for (const [index, item] of node.items.entries()) {
        const compiled = this.filter(item, `${path}.items[${index}]`);
        if (compiled.isErr()) return compiled;
        parts.push(compiled.value);
      }
      const joined = `(${parts.join(node.op === 'and' ? ' AND ' : ' OR ')})`;
      return ok(node.negated ? `(NOT ${joined})` : joined);
    }
    const field = this.field(node.left.name, path);
    if (field.isErr()) return err(field.error);
    const name = field.value.name;
    const right = node.right;
    const need = (what: string): string => `${path}: operator ${node.op} on ${name} needs ${what}`;
    switch (node.op) {
      case 'isEmpty':
        return ok(`${name} = null`);
      case 'isNotEmpty':
        return ok(`${name} != null`);
      case 'in':
      case 'notIn': {
        if (right?.kind !== 'list' || right.items.length === 0) return err(need('a non-empty list'));
        const items: string[] = [];
        for (const item of right.items) {
          const literal = soqlLiteral(field.value, item);
          if (literal.isErr()) return err(`${path}: ${literal.error}`);
          items.push(literal.value);
        }
        return ok(`${name} ${node.op === 'in' ? 'IN' : 'NOT IN'} (${items.join(', ')})`);
      }
      case 'startsWith':
      case 'contains':
      case 'like': {
        if (right?.kind !== 'string') return err(need('a string'));
        if (LONE_SURROGATE.test(right.value)) return err(`${path}: the value for ${name} is not valid text (it holds a lone UTF-16 surrogate); fix the source data`);
        const pattern =
          node.op === 'like' ? escapeSoqlString(right.value) : node.op === 'startsWith' ? `${escapeLikeWildcards(right.value)}%` : `%${escapeLikeWildcards(right.value)}%`;
        return ok(`${name} LIKE '${pattern}'`);
      }
      default: {
        const operator = COMPARISON[node.op];
        if (operator === undefined) return err(`${path}: operator ${node.op} is not supported by Salesforce`);
        if (right === undefined || right.kind === 'list') return err(need('a single value'));
        const literal = soqlLiteral(field.value, right);
        if (literal.isErr()) return err(`${path}: ${literal.error}`);
        return ok(`${name} ${operator} ${literal.value}`);
      }
    }
  }
}

/** Splits ids into chunks of at most `size`. */
export function chunkIds<T>(ids: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size));
  return chunks;
}

/**
 * Compiles a query request to SOQL for `description`. The primary key (`Id`) and the window field
 * are always selected. With a window and no `orderBy`, rows are ordered by `(field, Id)` ascending
 * and `after` becomes the strict keyset `field > at OR (field = at AND Id > id)`.
 */
export function compileSoql(description: ObjectDescription, request: QueryRequest): Result<string, SoqlCompileError> {
  const fail = (message: string): Result<string, SoqlCompileError> => err({ message });
  const compiler = new Compiler(description);
  const selected: string[] = [description.primaryKey];
  const windowField = request.window?.field;
  for (const name of [...request.fields, ...(windowField ? [windowField] : [])]) {
    const field = compiler.field(name, 'fields');
    if (field.isErr()) return fail(field.error);
    if (!selected.includes(field.value.name)) selected.push(field.value.name);
  }
  const where: string[] = [];
  if (request.filter) {
    const compiled = compiler.filter(request.filter, 'filter');
    if (compiled.isErr()) return fail(compiled.error);
    where.push(compiled.value);
  }
  if (request.window) {
    const field = compiler.field(request.window.field, 'window.field');
    if (field.isErr()) return fail(field.error);
    const name = field.value.name;
    const bound = (label: string, value: string): Result<string, string> => {
      const literal = dateTimeLiteral(value);
      return literal === undefined ? err(`window.${label}: "${value}" is not an ISO 8601 date-time`) : ok(literal);
    };
    if (request.window.start !== undefined) {
      const start = bound('start', request.window.start);
      if (start.isErr()) return fail(start.error);
      where.push(`${name} >= ${start.value}`);
    }
    if (request.window.end !== undefined) {
      const end = bound('end', request.window.end);
      if (end.isErr()) return fail(end.error);
      where.push(`${name} < ${end.value}`);
    }
    if (request.window.after !== undefined) {
      const at = bound('after.at', request.window.after.at);
      if (at.isErr()) return fail(at.error);
      const id = toCanonicalSalesforceId(request.window.after.id);
      if (id.isErr()) return fail(`window.after.id: ${id.error}`);
      where.push(`(${name} > ${at.value} OR (${name} = ${at.value} AND Id > '${id.value}'))`);
    }
  }
  if (request.ids !== undefined) {
    if (request.ids.length === 0) return fail('ids: an empty list; omit ids to read every record');
    const literals: string[] = [];
    for (const [index, raw] of request.ids.entries()) {
      const id = toCanonicalSalesforceId(raw);
      if (id.isErr()) return fail(`ids[${index}]: ${id.error}`);
      literals.push(`'${id.value}'`);
    }
    where.push(`Id IN (${literals.join(', ')})`);
  }
  let order: readonly OrderBy[] = request.orderBy ?? [];
  if (order.length === 0 && windowField) order = [{ field: windowField, direction: 'asc' }, { field: 'Id', direction: 'asc' }];
  const orderParts: string[] = [];
  for (const [index, key] of order.entries()) {
    const field = compiler.field(key.field, `orderBy[${index}]`);
    if (field.isErr()) return fail(field.error);
    if (key.direction !== 'asc' && key.direction !== 'desc') return fail(`orderBy[${index}].direction must be "asc" or "desc"`);
    orderParts.push(`${field.value.name} ${key.direction === 'asc' ? 'ASC' : 'DESC'}`);
  }
  let soql = `SELECT ${selected.join(', ')} FROM ${description.name}`;
  if (where.length > 0) soql += ` WHERE ${where.join(' AND ')}`;
  if (orderParts.length > 0) soql += ` ORDER BY ${orderParts.join(', ')}`;
  if (soql.length > MAX_SOQL_LENGTH) {
    return fail(`the query is ${soql.length} characters, over Salesforce's ${MAX_SOQL_LENGTH}; pass fewer ids or fields per query`);
  }
  return ok(soql);
}
