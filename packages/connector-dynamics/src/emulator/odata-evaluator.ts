/**
 * Evaluates a parsed `$filter` and sorts by `$orderby` over rendered (wire) rows, with SQL-like
 * semantics: comparisons with a null column are false (except `eq null` / `ne null`), text
 * compares case-insensitively, GUIDs and dates compare by value.
 *
 * @module
 */
import type { FieldDescription } from '@crm-sync/sdk';
import type { ODataExpression, ODataLiteral } from './odata-parser.js';

/** A rendered row, keyed by attribute name. */
export type WireRow = Readonly<Record<string, unknown>>;

/** Thrown for a property that is not on the table (Dataverse `0x80060888`). */
export class UnknownPropertyError extends Error {
  override readonly name = 'UnknownPropertyError';
  constructor(readonly property: string) {
    super(`Could not find a property named '${property}'.`);
  }
}

/** Thrown for a comparison of a column with a literal of another type (Dataverse `0x80060888`). */
export class IncompatibleOperandsError extends Error {
  override readonly name = 'IncompatibleOperandsError';
}

/** The Edm type Dataverse gives a column of this type. */
function edmTypeOf(field: FieldDescription): string {
  switch (field.type) {
    case 'id':
    case 'reference':
      return 'Edm.Guid';
    case 'datetime':
      return field.timeSemantics === 'date-only' ? 'Edm.Date' : 'Edm.DateTimeOffset';
    case 'date':
      return 'Edm.Date';
    case 'integer':
    case 'picklist':
      return 'Edm.Int32';
    case 'decimal':
    case 'currency':
    case 'percent':
      return 'Edm.Decimal';
    case 'boolean':
      return 'Edm.Boolean';
    default:
      return 'Edm.String';
  }
}

function edmTypeOfLiteral(literal: ODataLiteral): string | undefined {
  switch (literal.type) {
    case 'null':
      return undefined;
    case 'string':
      return 'Edm.String';
    case 'number':
      return Number.isInteger(literal.value) ? 'Edm.Int32' : 'Edm.Decimal';
    case 'boolean':
      return 'Edm.Boolean';
    case 'guid':
      return 'Edm.Guid';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'date':
      return 'Edm.Date';
  }
}

/** Literal types each column type accepts; Date and DateTimeOffset promote to each other. */
const COMPATIBLE: Readonly<Record<string, readonly string[]>> = {
  'Edm.Guid': ['Edm.Guid'],
  'Edm.DateTimeOffset': ['Edm.DateTimeOffset', 'Edm.Date'],
  'Edm.Date': ['Edm.Date', 'Edm.DateTimeOffset'],
  'Edm.Int32': ['Edm.Int32', 'Edm.Decimal'],
  'Edm.Decimal': ['Edm.Int32', 'Edm.Decimal'],
  'Edm.Boolean': ['Edm.Boolean'],
  // A quoted GUID is tokenised as a GUID; in a text column it is the text it spells.
  'Edm.String': ['Edm.String', 'Edm.Guid'],
};

const OPERATOR_KIND: Readonly<Record<string, string>> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

/**
 * Binds a parsed `$filter` to the table before any row is read, as Dataverse does: an unknown
 * column throws {@link UnknownPropertyError}, a literal of another type than its column (a quoted
 * date-time, a quoted number) throws {@link IncompatibleOperandsError}, even when no row matches.
 */
export function bindFilter(expression: ODataExpression, fields: ReadonlyMap<string, FieldDescription>): void {
  const fieldOf = (name: string): FieldDescription => {
    const field = fields.get(name);
    if (field === undefined) throw new UnknownPropertyError(name);
    return field;
  };
  switch (expression.kind) {
    case 'and':
    case 'or':
      bindFilter(expression.left, fields);
      bindFilter(expression.right, fields);
      return;
    case 'not':
      bindFilter(expression.operand, fields);
      return;
    case 'constant':
      return;
    case 'in':
      fieldOf(expression.property);
      return;
    case 'text-function': {
      const field = fieldOf(expression.property);
      const type = edmTypeOf(field);
      if (type !== 'Edm.String') {
        throw new IncompatibleOperandsError(`No function signature for the function with name '${expression.name}' matches the specified arguments. The function signatures considered are: ${expression.name}(Edm.String Nullable=true, Edm.String Nullable=true); the column '${field.name}' is ${type}.`);
      }
      return;
    }
    case 'compare': {
      const field = fieldOf(expression.property);
      const literal = edmTypeOfLiteral(expression.value);
      const column = edmTypeOf(field);
      if (literal !== undefined && !(COMPATIBLE[column] ?? [column]).includes(literal)) {
        throw new IncompatibleOperandsError(
          `A binary operator with incompatible types was detected. Found operand types '${column}' and '${literal}' for operator kind '${OPERATOR_KIND[expression.op] ?? expression.op}'.`,
        );
      }
      return;
    }
  }
}

type Comparable = number | string | boolean;

function comparableOf(field: FieldDescription, value: unknown): Comparable | null {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'datetime': {
      const ms = Date.parse(String(value));
      return Number.isNaN(ms) ? null : ms;
    }
    case 'date':
      return String(value).slice(0, 10);
    case 'integer':
    case 'decimal':
    case 'currency':
    case 'percent':
    case 'picklist':
      return typeof value === 'number' ? value : Number(value);
    case 'boolean':
      return typeof value === 'boolean' ? value : String(value) === 'true';
    case 'id':
    case 'reference':
      return String(value).toLowerCase();
    default:
      return String(value).toLowerCase();
  }
}

function literalValue(field: FieldDescription, literal: ODataLiteral): Comparable | null {
  switch (literal.type) {
    case 'null':
      return null;
    case 'datetime':
    case 'date':
      return field.type === 'date' ? literal.value.slice(0, 10) : Date.parse(literal.type === 'date' ? `${literal.value}T00:00:00Z` : literal.value);
    default:
      return comparableOf(field, literal.value);
  }
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Evaluates `expression` against `row`. */
export function evaluateFilter(expression: ODataExpression, row: WireRow, fields: ReadonlyMap<string, FieldDescription>): boolean {
  const fieldOf = (name: string): FieldDescription => {
    const field = fields.get(name);
    if (field === undefined) throw new UnknownPropertyError(name);
    return field;
  };
  switch (expression.kind) {
    case 'and':
      return evaluateFilter(expression.left, row, fields) && evaluateFilter(expression.right, row, fields);
    case 'or':
      return evaluateFilter(expression.left, row, fields) || evaluateFilter(expression.right, row, fields);
    case 'not':
      return !evaluateFilter(expression.operand, row, fields);
    case 'constant':
      return expression.value;
    case 'in': {
      const field = fieldOf(expression.property);
      const value = comparableOf(field, row[field.name]);
      if (value === null) return false;
      return expression.values.some((item) => {
        const candidate = comparableOf(field, item);
        return candidate !== null && compare(value, candidate) === 0;
      });
    }
    case 'text-function': {
      const field = fieldOf(expression.property);
      const value = row[field.name];
      if (value === null || value === undefined) return false;
      const text = String(value).toLowerCase();
      const needle = expression.value.toLowerCase();
      return expression.name === 'startswith' ? text.startsWith(needle) : expression.name === 'endswith' ? text.endsWith(needle) : text.includes(needle);
    }
    case 'compare': {
      const field = fieldOf(expression.property);
      const value = comparableOf(field, row[field.name]);
      const literal = literalValue(field, expression.value);
      if (literal === null) {
        if (expression.op === 'eq') return value === null;
        if (expression.op === 'ne') return value !== null;
        return false;
      }
      if (value === null) return false;
      const order = compare(value, literal);
      switch (expression.op) {
        case 'eq':
          return order === 0;
        case 'ne':
          return order !== 0;
        case 'gt':
          return order > 0;
        case 'ge':
          return order >= 0;
        case 'lt':
          return order < 0;
        case 'le':
          return order <= 0;
      }
    }
  }
}

/** One `$orderby` key. */
export interface SortKey {
  readonly property: string;
  readonly descending: boolean;
}

/** Parses `$orderby` (`a asc,b desc`); throws {@link UnknownPropertyError} or `Error`. */
export function parseOrderBy(text: string | undefined, fields: ReadonlyMap<string, FieldDescription>): SortKey[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((part) => {
    const [property, direction, extra] = part.trim().split(/\s+/);
    if (property === undefined || extra !== undefined || (direction !== undefined && direction !== 'asc' && direction !== 'desc')) {
      throw new Error(`Syntax error in $orderby near '${part.trim()}'.`);
    }
    if (!fields.has(property)) throw new UnknownPropertyError(property);
    return { property, descending: direction === 'desc' };
  });
}

/** Compares two rows by the sort keys; nulls sort first ascending, as in SQL Server. */
export function compareRows(a: WireRow, b: WireRow, keys: readonly SortKey[], fields: ReadonlyMap<string, FieldDescription>): number {
  for (const key of keys) {
    const field = fields.get(key.property) as FieldDescription;
    const left = comparableOf(field, a[key.property]);
    const right = comparableOf(field, b[key.property]);
    let order: number;
    if (left === null || right === null) order = left === right ? 0 : left === null ? -1 : 1;
    else order = compare(left, right);
    if (order !== 0) return key.descending ? -order : order;
  }
  return 0;
}
