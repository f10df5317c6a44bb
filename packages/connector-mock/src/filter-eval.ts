/**
 * Evaluates a resolved filter and an order by against stored values, with CRM semantics: a
 * comparison with a null field is false, `isEmpty` is true for null and `''`, text compares
 * case-insensitively (as Salesforce and Dataverse do), and a date literal compared with an
 * instant field means midnight UTC of that day.
 *
 * @module
 */
import { parseInstant, type FieldDescription, type FieldValue, type FieldValues, type OrderBy, type ResolvedFilterNode, type ResolvedFilterValue } from '@crm-sync/sdk';

/** A compiled filter. */
export type RecordPredicate = (values: FieldValues) => boolean;

type ScalarFilterValue = Exclude<ResolvedFilterValue, { kind: 'list' }>;

/** Every field name a filter refers to, for validation before evaluation. */
export function filterFieldNames(node: ResolvedFilterNode, into: Set<string> = new Set()): Set<string> {
  if (node.kind === 'comparison') into.add(node.left.name);
  else for (const item of node.items) filterFieldNames(item, into);
  return into;
}

/** Orders two non-null values; `undefined` when their types cannot be compared. */
function compareScalars(left: Exclude<FieldValue, null>, right: Exclude<FieldValue, null>): number | undefined {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  if (typeof left === 'string' && typeof right === 'string') {
    const a = left.toLowerCase();
    const b = right.toLowerCase();
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof left === 'boolean' && typeof right === 'boolean') return Number(left) - Number(right);
  return undefined;
}

/** Orders two stored values for sorting: null first, then by value (numbers, strings, booleans within their type), mixed types by type name. */
export function compareForSort(left: FieldValue | undefined, right: FieldValue | undefined): number {
  const a = left ?? null;
  const b = right ?? null;
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return compareScalars(a, b) ?? (typeof a < typeof b ? -1 : typeof a > typeof b ? 1 : 0);
}

/** Builds a comparator for `orderBy` (nulls first ascending, last descending). */
export function compileOrderBy(orderBy: readonly OrderBy[]): (a: FieldValues, b: FieldValues) => number {
  return (a, b) => {
    for (const key of orderBy) {
      const order = compareForSort(a[key.field], b[key.field]);
      if (order !== 0) return key.direction === 'desc' ? -order : order;
    }
    return 0;
  };
}

/** The literal as the field's stored representation, so that plain comparison is meaningful. */
function literalFor(field: FieldDescription | undefined, value: ScalarFilterValue): Exclude<FieldValue, null> {
  const semantics = field?.timeSemantics ?? (field?.type === 'date' ? 'date-only' : field?.type === 'datetime' ? 'instant' : undefined);
  if (value.kind === 'date') {
    if (semantics === 'instant') return `${value.value}T00:00:00.000Z`;
    if (semantics === 'floating') return `${value.value}T00:00:00.000`;
    return value.value;
  }
  if (value.kind === 'datetime') {
    const instant = parseInstant(value.value) ?? value.value;
    if (semantics === 'date-only') return instant.slice(0, 10);
    if (semantics === 'floating') return instant.slice(0, 23);
    return instant;
  }
  return value.value;
}

function likeToRegExp(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '%') source += '[\\s\\S]*';
    else if (char === '_') source += '[\\s\\S]';
    else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'i');
}

function compileComparison(node: Extract<ResolvedFilterNode, { kind: 'comparison' }>, fields: ReadonlyMap<string, FieldDescription>): RecordPredicate {
  const name = node.left.name;
  const field = fields.get(name);
  const read = (values: FieldValues): FieldValue => values[name] ?? null;
  if (node.op === 'isEmpty') return (values) => { const v = read(values); return v === null || v === ''; };
  if (node.op === 'isNotEmpty') return (values) => { const v = read(values); return v !== null && v !== ''; };
  const right = node.right;
  if (right === undefined) return () => false;
  if (node.op === 'in' || node.op === 'notIn') {
    const items = (right.kind === 'list' ? right.items : [right]).map((item) => literalFor(field, item));
    const member = (v: Exclude<FieldValue, null>): boolean => items.some((item) => compareScalars(v, item) === 0);
    return node.op === 'in'
      ? (values) => { const v = read(values); return v !== null && member(v); }
      : (values) => { const v = read(values); return v !== null && !member(v); };
  }
  if (right.kind === 'list') return () => false;
  const literal = literalFor(field, right);
  if (node.op === 'startsWith' || node.op === 'contains' || node.op === 'like') {
    const text = String(literal).toLowerCase();
    if (node.op === 'like') {
      const pattern = likeToRegExp(String(literal));
      return (values) => { const v = read(values); return typeof v === 'string' && pattern.test(v); };
    }
    return node.op === 'startsWith'
      ? (values) => { const v = read(values); return typeof v === 'string' && v.toLowerCase().startsWith(text); }
      : (values) => { const v = read(values); return typeof v === 'string' && v.toLowerCase().includes(text); };
  }
  const test: (order: number) => boolean =
    node.op === 'eq' ? (o) => o === 0
    : node.op === 'ne' ? (o) => o !== 0
    : node.op === 'lt' ? (o) => o < 0
    : node.op === 'lte' ? (o) => o <= 0
    : node.op === 'gt' ? (o) => o > 0
    : (o) => o >= 0;
  return (values) => {
    const v = read(values);
    if (v === null) return false;
    const order = compareScalars(v, literal);
    return order !== undefined && test(order);
  };
}

/** Compiles a resolved filter into a predicate over stored values. Field names must have been validated. */
export function compileFilter(node: ResolvedFilterNode, fields: ReadonlyMap<string, FieldDescription>): RecordPredicate {
  if (node.kind === 'comparison') return compileComparison(node, fields);
  const parts = node.items.map((item) => compileFilter(item, fields));
  const combined: RecordPredicate =
    node.op === 'and' ? (values) => parts.every((part) => part(values)) : (values) => parts.some((part) => part(values));
  return node.negated ? (values) => !combined(values) : combined;
}
