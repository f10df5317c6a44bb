/**
 * Compiles the SDK's resolved filter, incremental window and id list into Acme's JSON condition.
 *
 * Acme takes conditions as JSON, not as a query string, so a hostile value (`' OR 1=1`) stays a
 * value: there is no text to escape. A CRM with a query language needs an escaping function here
 * instead (see `escapeSoqlString` in the Salesforce connector).
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { crmError, type CrmError, type QueryRequest, type ResolvedFilterNode, type ResolvedFilterValue } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './connector-id.js';

/** Acme's comparison operators. */
export type AcmeOperator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'missing' | 'exists' | 'in';

/** A scalar in an Acme condition. */
export type AcmeScalar = string | number | boolean;

/** Acme's JSON condition: `{ and: [...] }`, `{ or: [...] }` or one comparison. */
export type AcmeCondition =
  | { readonly and: readonly AcmeCondition[] }
  | { readonly or: readonly AcmeCondition[] }
  | { readonly field: string; readonly op: AcmeOperator; readonly value?: AcmeScalar | readonly AcmeScalar[] };

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

function scalar(value: ResolvedFilterValue): AcmeScalar | readonly AcmeScalar[] {
  if (value.kind === 'list') return value.items.map((item) => item.value);
  return value.value;
}

/** Compiles a resolved filter node; operators Acme lacks are an `invalid-request` naming the node. */
export function compileAcmeFilter(node: ResolvedFilterNode): Result<AcmeCondition, CrmError> {
  if (node.kind === 'group') {
    if (node.negated) {
      return err(crmError('invalid-request', CONNECTOR_ID, 'a negated filter group (AND NOT) cannot be sent to Acme: rewrite it with the opposite comparisons'));
    }
    const items: AcmeCondition[] = [];
    for (const item of node.items) {
      const compiled = compileAcmeFilter(item);
      if (compiled.isErr()) return compiled;
      items.push(compiled.value);
    }
    return ok(node.op === 'and' ? { and: items } : { or: items });
  }
  const op = OPERATORS[node.op];
  if (op === undefined) {
    return err(crmError('invalid-request', CONNECTOR_ID, `filter operator '${node.op}' on field '${node.left.name}' is not supported by Acme: use one of ${Object.keys(OPERATORS).join(', ')}`));
  }
  if (op === 'missing' || op === 'exists') return ok({ field: node.left.name, op });
  if (node.right === undefined) {
    return err(crmError('invalid-request', CONNECTOR_ID, `filter comparison '${node.left.name} ${node.op}' has no value: give it one, or use isEmpty / isNotEmpty`));
  }
  return ok({ field: node.left.name, op, value: scalar(node.right) });
}

/**
 * The whole `where` of a query: the filter, the window `[start, end)` with its `after` keyset,
 * and the id list, joined with `and`. `undefined` when the request has none of them.
 */
export function compileAcmeWhere(request: QueryRequest): Result<AcmeCondition | undefined, CrmError> {
  const parts: AcmeCondition[] = [];
  if (request.filter) {
    const filter = compileAcmeFilter(request.filter);
    if (filter.isErr()) return err(filter.error);
    parts.push(filter.value);
  }
  const window = request.window;
  if (window?.start !== undefined) parts.push({ field: window.field, op: 'gte', value: window.start });
  if (window?.end !== undefined) parts.push({ field: window.field, op: 'lt', value: window.end });
  if (window?.after !== undefined) {
    // (field, id) > (at, id): the keyset that resumes inside a timestamp tie.
    parts.push({
      or: [
        { field: window.field, op: 'gt', value: window.after.at },
        { and: [{ field: window.field, op: 'eq', value: window.after.at }, { field: 'id', op: 'gt', value: window.after.id }] },
      ],
    });
  }
  if (request.ids !== undefined) parts.push({ field: 'id', op: 'in', value: [...request.ids] });
  if (parts.length === 0) return ok(undefined);
  return ok(parts.length === 1 ? parts[0] : { and: parts });
}
