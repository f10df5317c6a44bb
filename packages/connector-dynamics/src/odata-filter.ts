/**
 * Pure compilation of a crm-sync query into a Dataverse Web API collection URL: `$select`,
 * `$filter` (from the resolved filter AST, the window keyset and the id list) and `$orderby`.
 *
 * Every field name is checked against the object's description, every literal is typed by the
 * field it is compared with and escaped for OData, and every query option value is
 * percent-encoded as a whole, so no value can change the structure of the query.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import {
  crmError,
  findField,
  type CrmError,
  type FieldDescription,
  type ObjectDescription,
  type OrderBy,
  type QueryWindow,
  type ResolvedFilterNode,
  type ResolvedFilterValue,
} from '@crm-sync/sdk';
import { CONNECTOR_ID } from './errors.js';

/** A Dataverse GUID, with or without braces is refused: Web API wants the bare form. */
export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Names Dataverse accepts for attributes (logical names, `_x_value` lookups). */
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The namespace of Dataverse query functions. */
const IN_FUNCTION = 'Microsoft.Dynamics.CRM.In';

/**
 * Characters of `$filter` spent on ids in one GET. Dataverse refuses URLs over 32 KB; half of
 * that leaves room for the select list, the user's filter and the window.
 */
const DEFAULT_ID_URL_BUDGET = 16_000;

type SimpleValue = Exclude<ResolvedFilterValue, { kind: 'list' }>;

/** Parts of a collection query, each option already compiled (not yet percent-encoded). */
interface CompiledQueryOptions {
  readonly select: string;
  readonly filter?: string;
  readonly orderBy: string;
}

function invalid(message: string): CrmError {
  return crmError('invalid-request', CONNECTOR_ID, message);
}

/** Checks a field name against the description; the only way a name reaches a URL. */
function requireField(description: ObjectDescription, name: string, where: string): Result<FieldDescription, CrmError> {
  const field = findField(description, name);
  if (field === undefined || !ATTRIBUTE_NAME.test(name)) {
    return err(invalid(`${where}: '${name}' is not a field of '${description.name}'; use a name from describe('${description.name}')`));
  }
  return ok(field);
}

/** A lone UTF-16 surrogate cannot be percent-encoded (encodeURIComponent throws on it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Quotes an OData string literal: single quotes, an embedded quote doubled. */
function quoteODataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function formatInstant(value: string): string | undefined {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString();
}

/** Formats a literal for a comparison with `field`, or says why it cannot be compared. */
export function formatLiteral(field: FieldDescription, value: SimpleValue, where: string): Result<string, CrmError> {
  if (value.kind === 'string' && LONE_SURROGATE.test(value.value)) {
    return err(invalid(`${where}: the value for '${field.name}' is not valid text (it holds a lone UTF-16 surrogate); fix the source data`));
  }
  const mismatch = (): Result<string, CrmError> =>
    err(invalid(`${where}: a ${value.kind} value cannot be compared with field '${field.name}' of type ${field.type}; use a ${field.type} value`));
  switch (field.type) {
    case 'id':
    case 'reference': {
      if (value.kind !== 'string' || !GUID_PATTERN.test(value.value)) {
        return err(invalid(`${where}: '${field.name}' holds GUIDs; ${JSON.stringify(String('value' in value ? value.value : ''))} is not one (expected 8-4-4-4-12 hex digits, no braces)`));
      }
      return ok(value.value.toLowerCase());
    }
    case 'integer':
    case 'decimal':
    case 'currency':
    case 'percent':
    case 'picklist': {
      const number = value.kind === 'number' ? value.value : value.kind === 'string' && field.type === 'picklist' ? Number(value.value) : Number.NaN;
      if (!Number.isFinite(number)) return mismatch();
      if ((field.type === 'integer' || field.type === 'picklist') && !Number.isInteger(number)) return mismatch();
      return ok(numberLiteral(number));
    }
    case 'boolean':
      return value.kind === 'boolean' ? ok(String(value.value)) : mismatch();
    case 'date': {
      if (value.kind === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(value.value)) return ok(value.value);
      if (value.kind === 'datetime' && /^\d{4}-\d{2}-\d{2}T/.test(value.value)) return ok(value.value.slice(0, 10));
      return mismatch();
    }
    case 'datetime': {
      if (value.kind === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(value.value)) return ok(`${value.value}T00:00:00Z`);
      if (value.kind !== 'datetime') return mismatch();
      if (field.timeSemantics === 'floating') {
        // A TimeZoneIndependent value is compared as the wall clock Dataverse renders with a 'Z'.
        const wall = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(value.value)?.[1];
        return wall === undefined ? mismatch() : ok(`${wall}Z`);
      }
      const instant = formatInstant(value.value);
      return instant === undefined ? mismatch() : ok(instant);
    }
    default:
      return value.kind === 'string' ? ok(quoteODataString(value.value)) : mismatch();
  }
}

/** Numbers in plain decimal notation: OData has no literal for NaN/Infinity here. */
function numberLiteral(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return value.toFixed(0);
  return String(value);
}

/** Compiles an `In` function call, which Dataverse takes with a JSON array of strings. */
export function compileIn(field: FieldDescription, values: readonly SimpleValue[], where: string): Result<string, CrmError> {
  const texts: string[] = [];
  for (const value of values) {
    const literal = formatLiteral(field, value, where);
    if (literal.isErr()) return err(literal.error);
    // PropertyValues holds strings: the string value itself, or the literal's text.
    texts.push(value.kind === 'string' && field.type !== 'id' && field.type !== 'reference' ? value.value : literal.value);
  }
  return ok(`${IN_FUNCTION}(PropertyName=${quoteODataString(field.name)},PropertyValues=${JSON.stringify(texts)})`);
}

const COMPARISON_OPERATORS = { eq: 'eq', ne: 'ne', lt: 'lt', lte: 'le', gt: 'gt', gte: 'ge' } as const;

/** Compiles a resolved filter into OData `$filter` text. */
export function compileODataFilter(node: ResolvedFilterNode, description: ObjectDescription, path = 'filter'): Result<string, CrmError> {
  if (node.kind === 'group') {
    const parts: string[] = [];
    for (const [index, item] of node.items.entries()) {
      const compiled = compileODataFilter(item, description, `${path}.items[${index}]`);
      if (compiled.isErr()) return compiled;
      parts.push(`(${compiled.value})`);
    }
    const body = parts.length === 0 ? (node.op === 'and' ? 'true' : 'false') : parts.join(` ${node.op} `);
    return ok(node.negated ? `not (${body})` : body);
  }
  const fieldResult = requireField(description, node.left.name, path);
  if (fieldResult.isErr()) return err(fieldResult.error);
  const field = fieldResult.value;
  const name = field.name;
  if (!field.filterable) return err(invalid(`${path}: field '${name}' cannot be filtered on in Dataverse`));
  switch (node.op) {
    case 'isEmpty':
      return ok(`${name} eq null`);
    case 'isNotEmpty':
      return ok(`${name} ne null`);
    case 'in':
    case 'notIn': {
      const right = node.right;
      if (right === undefined || right.kind !== 'list' || right.items.length === 0) {
        return err(invalid(`${path}: '${node.op}' needs a non-empty list of values`));
      }
      const call = compileIn(field, right.items, path);
      if (call.isErr()) return call;
      return ok(node.op === 'in' ? call.value : `not ${call.value}`);
    }
    case 'startsWith':
    case 'contains': {
      const right = node.right;
      if (right?.kind !== 'string') return err(invalid(`${path}: '${node.op}' needs a string value`));
      if (!['string', 'text', 'email', 'phone', 'url'].includes(field.type)) {
        return err(invalid(`${path}: '${node.op}' only applies to text fields; '${name}' is ${field.type}`));
      }
      const checked = formatLiteral(field, right, path);
      if (checked.isErr()) return err(checked.error);
      return ok(`${node.op === 'startsWith' ? 'startswith' : 'contains'}(${name},${quoteODataString(right.value)})`);
    }
    case 'like':
      return err(invalid(`${path}: 'like' is not supported by the Dataverse Web API; use startsWith or contains`));
    default: {
      const right = node.right;
      if (right === undefined || right.kind === 'list') {
        return err(invalid(`${path}: '${node.op}' needs a single value on the right`));
      }
      const literal = formatLiteral(field, right, path);
      if (literal.isErr()) return err(literal.error);
      return ok(`${name} ${COMPARISON_OPERATORS[node.op]} ${literal.value}`);
    }
  }
}

/** Compiles the window `[start, end)` and its `(field, id)` keyset. */
function compileWindow(window: QueryWindow, description: ObjectDescription): Result<string[], CrmError> {
  const fieldResult = requireField(description, window.field, 'window.field');
  if (fieldResult.isErr()) return err(fieldResult.error);
  const field = fieldResult.value;
  const parts: string[] = [];
  const instant = (text: string, where: string): Result<string, CrmError> =>
    formatLiteral(field, { kind: 'datetime', value: text }, where);
  if (window.start !== undefined) {
    const start = instant(window.start, 'window.start');
    if (start.isErr()) return err(start.error);
    parts.push(`${field.name} ge ${start.value}`);
  }
  if (window.end !== undefined) {
    const end = instant(window.end, 'window.end');
    if (end.isErr()) return err(end.error);
    parts.push(`${field.name} lt ${end.value}`);
  }
  if (window.after !== undefined) {
    const at = instant(window.after.at, 'window.after.at');
    if (at.isErr()) return err(at.error);
    if (!GUID_PATTERN.test(window.after.id)) {
      return err(invalid(`window.after.id: '${window.after.id}' is not a Dataverse GUID`));
    }
    const id = window.after.id.toLowerCase();
    parts.push(`${field.name} gt ${at.value} or (${field.name} eq ${at.value} and ${description.primaryKey} gt ${id})`);
  }
  return ok(parts);
}

/** Splits ids into chunks whose `In` list stays within `budget` URL characters. */
export function chunkIdsForUrl(ids: readonly string[], budget = DEFAULT_ID_URL_BUDGET): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const id of ids) {
    const cost = encodeURIComponent(`"${id}",`).length;
    if (current.length > 0 && used + cost > budget) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(id);
    used += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What {@link compileQueryOptions} needs from the request. */
interface QueryShape {
  readonly fields: readonly string[];
  readonly filter?: ResolvedFilterNode;
  readonly orderBy?: readonly OrderBy[];
  readonly window?: QueryWindow;
  /** One chunk of ids (see {@link chunkIdsForUrl}). */
  readonly ids?: readonly string[];
}

/** Compiles `$select`, `$filter` and `$orderby` for one collection query. */
export function compileQueryOptions(description: ObjectDescription, shape: QueryShape): Result<CompiledQueryOptions, CrmError> {
  const primaryKey = description.primaryKey;
  const select = new Set<string>();
  for (const name of shape.fields) {
    const field = requireField(description, name, 'fields');
    if (field.isErr()) return err(field.error);
    select.add(name);
  }
  select.add(primaryKey);
  if (shape.window) select.add(shape.window.field);

  const conditions: string[] = [];
  if (shape.filter) {
    const filter = compileODataFilter(shape.filter, description);
    if (filter.isErr()) return err(filter.error);
    conditions.push(filter.value);
  }
  if (shape.window) {
    const window = compileWindow(shape.window, description);
    if (window.isErr()) return err(window.error);
    conditions.push(...window.value);
  }
  if (shape.ids !== undefined) {
    const keyField = requireField(description, primaryKey, 'ids');
    if (keyField.isErr()) return err(keyField.error);
    const values = shape.ids.map((id) => ({ kind: 'string' as const, value: id }));
    const call = compileIn(keyField.value, values, 'ids');
    if (call.isErr()) return err(call.error);
    conditions.push(call.value);
  }

  const order: string[] = [];
  const ordered = new Set<string>();
  const sortKeys: readonly OrderBy[] =
    shape.orderBy && shape.orderBy.length > 0 ? shape.orderBy : shape.window ? [{ field: shape.window.field, direction: 'asc' }] : [];
  for (const [index, key] of sortKeys.entries()) {
    const field = requireField(description, key.field, `orderBy[${index}]`);
    if (field.isErr()) return err(field.error);
    if (!field.value.sortable) return err(invalid(`orderBy[${index}]: field '${key.field}' cannot be sorted on in Dataverse`));
    if (key.direction !== 'asc' && key.direction !== 'desc') {
      return err(invalid(`orderBy[${index}]: direction must be 'asc' or 'desc', not '${String(key.direction)}'`));
    }
    order.push(`${key.field} ${key.direction}`);
    ordered.add(key.field);
  }
  // The primary key last makes paging deterministic when sort values tie.
  if (!ordered.has(primaryKey)) order.push(`${primaryKey} asc`);

  const filter = conditions.length === 0 ? undefined : conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(' and ');
  return ok({ select: [...select].join(','), ...(filter !== undefined ? { filter } : {}), orderBy: order.join(',') });
}

/** Builds `entityset?$select=...&$filter=...&$orderby=...`, each value percent-encoded whole. */
export function collectionPath(entitySetName: string, options: CompiledQueryOptions): string {
  const query = [`$select=${encodeURIComponent(options.select)}`];
  if (options.filter !== undefined) query.push(`$filter=${encodeURIComponent(options.filter)}`);
  query.push(`$orderby=${encodeURIComponent(options.orderBy)}`);
  return `${entitySetName}?${query.join('&')}`;
}
