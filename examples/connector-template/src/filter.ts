/**
 * Compiles the SDK's resolved filter, incremental window and id list into Acme's query language
 * (AQL), the text of a search's `where`:
 *
 * ```text
 * updatedAt gte '2026-01-01T00:00:00.000Z' and (lastName eq 'O\'Brien' or score missing)
 * ```
 *
 * Two rules keep user data from changing the query's structure: every string goes through
 * {@link escapeAcmeString} (Acme's escapes: `\'`, `\\`, `\n`, `\r`, `\t`), and every group is
 * parenthesised, so an OR in the user's filter can never escape the window next to it.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { crmError, type CrmError, type QueryRequest, type ResolvedFilterNode, type ResolvedFilterValue } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './connector-id.js';

/** Acme's comparison operators. */
export type AcmeOperator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'missing' | 'exists' | 'in';

const OPERATORS: Partial<Record<string, AcmeOperator>> = {
  eq: 'eq',
  ne: 'ne',
  lt: 'lt',
  lte: 'lte',
  gt: 'gt',
  gte: 'gte',
  isEmpty: 'missing',
  isNotEmpty: 'exists',
  in: 'in',
};

/** A field name as AQL takes it: letters, digits and `_`, starting with a letter. */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Quotes a string for AQL: backslash, quote and line breaks escaped with a backslash. */
export function escapeAcmeString(value: string): string {
  return `'${value.replace(/[\\'\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\${c}`))}'`;
}

/** One literal: strings (and dates, date-times) quoted, numbers and booleans bare. */
function literal(value: ResolvedFilterValue): string {
  if (value.kind === 'list') return `[${value.items.map(literal).join(', ')}]`;
  if (typeof value.value === 'number' || typeof value.value === 'boolean') return String(value.value);
  return escapeAcmeString(String(value.value));
}

function field(name: string): Result<string, CrmError> {
  return FIELD_NAME.test(name) ? ok(name) : err(crmError('invalid-request', CONNECTOR_ID, `field name '${name}' cannot be used in an Acme filter: Acme field names are letters, digits and _`));
}

/** Compiles a resolved filter node; operators Acme lacks are an `invalid-request` naming the node. */
export function compileAcmeFilter(node: ResolvedFilterNode): Result<string, CrmError> {
  if (node.kind === 'group') {
    if (node.negated) {
      return err(crmError('invalid-request', CONNECTOR_ID, 'a negated filter group (AND NOT) cannot be sent to Acme: rewrite it with the opposite comparisons'));
    }
    const items: string[] = [];
    for (const item of node.items) {
      const compiled = compileAcmeFilter(item);
      if (compiled.isErr()) return compiled;
      items.push(compiled.value);
    }
    // Parenthesised, so the group binds as one term wherever it lands.
    return ok(`(${items.join(` ${node.op} `)})`);
  }
  const op = OPERATORS[node.op];
  if (op === undefined) {
    return err(crmError('invalid-request', CONNECTOR_ID, `filter operator '${node.op}' on field '${node.left.name}' is not supported by Acme: use one of ${Object.keys(OPERATORS).join(', ')}`));
  }
  const name = field(node.left.name);
  if (name.isErr()) return name;
  if (op === 'missing' || op === 'exists') return ok(`${name.value} ${op}`);
  if (node.right === undefined) {
    return err(crmError('invalid-request', CONNECTOR_ID, `filter comparison '${node.left.name} ${node.op}' has no value: give it one, or use isEmpty / isNotEmpty`));
  }
  return ok(`${name.value} ${op} ${literal(node.right)}`);
}

/**
 * The whole `where` of a query: the filter, the window `[start, end)` with its `after` keyset,
 * and the id list, each parenthesised and joined with `and`. `undefined` when there is none.
 */
export function compileAcmeWhere(request: QueryRequest): Result<string | undefined, CrmError> {
  const parts: string[] = [];
  if (request.filter) {
    const filter = compileAcmeFilter(request.filter);
    if (filter.isErr()) return err(filter.error);
    parts.push(filter.value);
  }
  const window = request.window;
  if (window !== undefined) {
    const name = field(window.field);
    if (name.isErr()) return err(name.error);
    if (window.start !== undefined) parts.push(`${name.value} gte ${escapeAcmeString(window.start)}`);
    if (window.end !== undefined) parts.push(`${name.value} lt ${escapeAcmeString(window.end)}`);
    if (window.after !== undefined) {
      // (field, id) > (at, id): the keyset that resumes inside a timestamp tie.
      const at = escapeAcmeString(window.after.at);
      parts.push(`(${name.value} gt ${at} or (${name.value} eq ${at} and id gt ${escapeAcmeString(window.after.id)}))`);
    }
  }
  if (request.ids !== undefined) parts.push(`id in [${request.ids.map(escapeAcmeString).join(', ')}]`);
  if (parts.length === 0) return ok(undefined);
  return ok(parts.join(' and '));
}
