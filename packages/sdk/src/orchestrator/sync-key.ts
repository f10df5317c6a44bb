/**
 * Looks records up by their sync key (an external-id field holding the local key), to settle
 * inserts whose answer was lost: a record found by its key is in the CRM, one not found is not.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { RecordPage } from '../contract/requests.js';
import type { ResolvedFilterNode } from '../filter/ast.js';
import type { RunContext } from './context.js';
import type { RunError } from './types.js';

/** A filter matching any of `keys` in `field`: `in` when the connector compiles it, else an OR of `eq`. */
function syncKeyFilter(field: string, keys: readonly string[], supportsIn: boolean): ResolvedFilterNode {
  const left = { kind: 'field', name: field } as const;
  if (supportsIn) {
    return { kind: 'comparison', left, op: 'in', right: { kind: 'list', items: keys.map((value) => ({ kind: 'string', value })) } };
  }
  return { kind: 'group', op: 'or', items: keys.map((value) => ({ kind: 'comparison', left, op: 'eq', right: { kind: 'string', value } })) };
}

/** Finds the CRM ids of records by sync key, in chunks of the connector's ids-per-query. */
export async function findBySyncKey(
  context: RunContext,
  object: string,
  field: string,
  keys: readonly string[],
): Promise<Result<Map<string, string>, RunError>> {
  const { connector } = context.deps;
  const found = new Map<string, string>();
  const chunkSize = Math.max(1, connector.capabilities.maxIdsPerQuery);
  const supportsIn = connector.capabilities.filterOperators.includes('in');
  for (let offset = 0; offset < keys.length; offset += chunkSize) {
    const chunk = keys.slice(offset, offset + chunkSize);
    const request = { object, fields: [field], filter: syncKeyFilter(field, chunk, supportsIn), pageSize: connector.capabilities.maxPageSize };
    let cursor: string | undefined;
    do {
      const current = cursor;
      const page: Result<RecordPage, RunError> = await context.call(`sync key lookup ${field}`, () => connector.query(request, current));
      if (page.isErr()) return err(page.error);
      for (const record of page.value.records) {
        const key = record.values[field];
        if (typeof key === 'string') found.set(key, record.id);
      }
      cursor = page.value.nextCursor;
    } while (cursor !== undefined);
  }
  return ok(found);
}
