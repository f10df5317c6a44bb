/**
 * A small builder for filter ASTs, so that jobs and tests read like the condition they express:
 *
 * ```ts
 * f.and(f.gte('LastActivityDate', v.date('2012-11-01')), f.isNotEmpty('Email'))
 * ```
 *
 * The builder only builds; it never refuses anything. `validateFilter` / `resolveFilter` check
 * the result against an object's description and a profile, and say what is wrong and where.
 *
 * @module
 */
import { parseInstant } from '../contract/values.js';
import type {
  ComparisonOperator,
  FieldOperand,
  FilterComparison,
  FilterGroup,
  FilterNode,
  FilterOperand,
  FilterValue,
  LogicalOperator,
} from './ast.js';

/**
 * What a comparison accepts on its right-hand side: a {@link FilterValue} or operand, or a plain
 * JavaScript value (number -> number, string -> string, boolean -> boolean, Date -> datetime).
 */
export type FilterValueInput = FilterOperand | number | string | boolean | Date;

/** What a comparison accepts on its left-hand side: a field name, or any operand. */
export type FilterFieldInput = string | FilterOperand;

/** Value helpers: explicit right-hand sides. */
export const v = {
  /** A number. */
  number: (value: number): FilterValue => ({ kind: 'number', value }),
  /** A string (native profile only: the portable profile never compares strings). */
  string: (value: string): FilterValue => ({ kind: 'string', value }),
  /** A boolean (native profile only). */
  boolean: (value: boolean): FilterValue => ({ kind: 'boolean', value }),
  /** A calendar date `YYYY-MM-DD`, e.g. `v.date('2012-11-01')`. */
  date: (value: string): FilterValue => ({ kind: 'date', value }),
  /**
   * A point in time. An ISO text with an offset (or a `Date`) is normalised to a canonical UTC
   * instant; any other text is kept as given so that validation can report it.
   */
  datetime: (value: string | Date): FilterValue => ({
    kind: 'datetime',
    value: value instanceof Date ? toCanonical(value) : (parseInstant(value) ?? value),
  }),
  /** An expression evaluated against job variables before the query, e.g. `v.expr('daysAgo(30)')`. */
  expr: (source: string): FilterValue => ({ kind: 'expression', source }),
  /** A list of values, for `in` / `notIn`. */
  list: (items: readonly FilterValueInput[]): FilterValue => ({ kind: 'list', items: items.map(toFilterValue) }),
} as const;

function toCanonical(date: Date): string {
  // An invalid Date stays visible as text so that validation reports it instead of a throw here.
  return Number.isNaN(date.getTime()) ? String(date) : date.toISOString();
}

/** Turns a plain JavaScript value into a {@link FilterValue}; operands pass through unchanged. */
export function toFilterValue(input: FilterValueInput): FilterValue {
  switch (typeof input) {
    case 'number':
      return { kind: 'number', value: input };
    case 'string':
      return { kind: 'string', value: input };
    case 'boolean':
      return { kind: 'boolean', value: input };
    default:
      if (input instanceof Date) return { kind: 'datetime', value: toCanonical(input) };
      // A field operand on the right is kept so that validation can name it as a violation.
      return input as FilterValue;
  }
}

function toField(input: FilterFieldInput): FilterOperand {
  return typeof input === 'string' ? { kind: 'field', name: input } : input;
}

function compare(op: ComparisonOperator) {
  return (field: FilterFieldInput, value: FilterValueInput): FilterComparison => ({
    kind: 'comparison',
    left: toField(field),
    op,
    right: toRightOperand(value),
  });
}

function toRightOperand(value: FilterValueInput): FilterOperand {
  if (typeof value === 'object' && !(value instanceof Date) && value.kind === 'field') return value;
  return toFilterValue(value);
}

function emptiness(op: 'isEmpty' | 'isNotEmpty') {
  return (field: FilterFieldInput): FilterComparison => ({ kind: 'comparison', left: toField(field), op });
}

function membership(op: 'in' | 'notIn') {
  return (field: FilterFieldInput, values: readonly FilterValueInput[]): FilterComparison => ({
    kind: 'comparison',
    left: toField(field),
    op,
    right: v.list(values),
  });
}

function uniform(op: LogicalOperator) {
  return (...items: FilterNode[]): FilterGroup => ({
    kind: 'group',
    items,
    joins: items.slice(1).map(() => op),
  });
}

/** Filter builder: groups and comparisons. */
export const f = {
  /** A group whose items are all joined by AND. */
  and: uniform('and'),
  /** A group whose items are all joined by OR. */
  or: uniform('or'),
  /**
   * A negated group (`NOT (...)`). Refused by the portable profile (rule 2); allowed in the
   * native profile when the connector declares `negatedGroups`. A comparison is wrapped first.
   */
  not: (node: FilterNode): FilterGroup =>
    node.kind === 'group' ? { ...node, negated: true } : { kind: 'group', items: [node], joins: [], negated: true },
  /**
   * A group with explicit joins (`joins[i]` sits between `items[i]` and `items[i + 1]`), to
   * express the seed's flat condition lists. Mixing AND and OR on one level breaks portable rule 1.
   */
  mixed: (items: readonly FilterNode[], joins: readonly LogicalOperator[]): FilterGroup => ({
    kind: 'group',
    items,
    joins,
  }),
  /** A field reference, for the rare place where an operand is needed explicitly. */
  field: (name: string): FieldOperand => ({ kind: 'field', name }),
  /** `field = value`. */
  eq: compare('eq'),
  /** `field <> value`. */
  ne: compare('ne'),
  /** `field < value`. */
  lt: compare('lt'),
  /** `field <= value`. */
  lte: compare('lte'),
  /** `field > value`. */
  gt: compare('gt'),
  /** `field >= value`. */
  gte: compare('gte'),
  /** `field is empty` (null). */
  isEmpty: emptiness('isEmpty'),
  /** `field is not empty` (not null). */
  isNotEmpty: emptiness('isNotEmpty'),
  /** `field in (values)` (native profile). */
  in: membership('in'),
  /** `field not in (values)` (native profile). */
  notIn: membership('notIn'),
  /** `field starts with text` (native profile). */
  startsWith: compare('startsWith'),
  /** `field contains text` (native profile). */
  contains: compare('contains'),
  /** `field like pattern` with `%` and `_` wildcards (native profile). */
  like: compare('like'),
} as const;
