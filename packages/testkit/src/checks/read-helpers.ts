/**
 * Reading helpers shared by the checks: follow cursors to the end while checking page bounds,
 * find the change field, and compare id lists.
 *
 * @module
 */
import { findField, type CrmRecord, type ObjectDescription, type QueryRequest } from '@crm-sync/sdk';
import { FAILURE_KINDS, type CheckScope } from './define-check.js';

/** Consecutive empty pages with a cursor tolerated before the read counts as endless. */
const MAX_EMPTY_PAGES_IN_A_ROW = 3;

/**
 * Follows `nextCursor` until the last page and returns every record in order. Fails the check
 * when a page exceeds `min(pageSize, maxPageSize)` or the cursor never ends.
 */
export async function readAllPages(scope: CheckScope, request: QueryRequest, what: string, maxRecords: number): Promise<CrmRecord[]> {
  const capabilities = scope.connector.capabilities;
  const pageBound = Math.min(request.pageSize ?? capabilities.defaultPageSize, capabilities.maxPageSize);
  // A correct connector needs at most ceil(maxRecords / 1) pages; anything beyond is a loop.
  const maxPages = maxRecords + MAX_EMPTY_PAGES_IN_A_ROW + 2;
  const records: CrmRecord[] = [];
  let cursor: string | undefined;
  let emptyInARow = 0;
  for (let pageNumber = 1; ; pageNumber += 1) {
    const page = await scope.expectOk(scope.connector.query(request, cursor), `${what} (page ${pageNumber})`);
    if (page.records.length > pageBound) {
      scope.fail(FAILURE_KINDS.boundBroken, `${what}: page ${pageNumber} holds ${page.records.length} records, more than min(pageSize, maxPageSize) = ${pageBound}`);
    }
    records.push(...page.records);
    if (page.nextCursor === undefined) return records;
    emptyInARow = page.records.length === 0 ? emptyInARow + 1 : 0;
    if (emptyInARow > MAX_EMPTY_PAGES_IN_A_ROW || pageNumber >= maxPages) {
      scope.fail(FAILURE_KINDS.boundBroken, `${what}: the cursor did not end after ${pageNumber} pages (${records.length} records read, at most ${maxRecords} expected)`);
    }
    cursor = page.nextCursor;
  }
}

/** Describes the fixture object, failing the check when `describe` fails. */
export async function describeFixtureObject(scope: CheckScope): Promise<ObjectDescription> {
  return scope.expectOk(scope.connector.describe(scope.fixtures.object), `describe('${scope.fixtures.object}')`);
}

/**
 * The change field windows run on: the fixture's choice, else the first of
 * `capabilities.changeFields` the object has. Skips the check when there is none.
 */
export function resolveChangeField(scope: CheckScope, description: ObjectDescription): string {
  const candidates = scope.fixtures.changeField ? [scope.fixtures.changeField] : scope.connector.capabilities.changeFields;
  const found = candidates.find((name) => findField(description, name) !== undefined);
  if (found === undefined) {
    return scope.skip(`object ${description.name} has none of the change fields [${candidates.join(', ')}]; set fixtures.changeField`);
  }
  return found;
}

/**
 * Compares the ids read with the ids expected: fails with `duplicate-record`, `missing-record`
 * or `unexpected-record`, naming a few offending ids.
 */
export function expectSameIds(scope: CheckScope, read: readonly string[], expected: readonly string[], what: string): void {
  const seen = new Set<string>();
  const duplicates = read.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
  if (duplicates.length > 0) {
    scope.fail(FAILURE_KINDS.duplicateRecord, `${what}: ${duplicates.length} record(s) returned twice, e.g. ${sample(duplicates)}`);
  }
  const wanted = new Set(expected);
  const missing = expected.filter((id) => !seen.has(id));
  if (missing.length > 0) {
    scope.fail(FAILURE_KINDS.missingRecord, `${what}: ${missing.length} of ${expected.length} expected record(s) missing, e.g. ${sample(missing)}`);
  }
  const extra = read.filter((id) => !wanted.has(id));
  if (extra.length > 0) {
    scope.fail(FAILURE_KINDS.unexpectedRecord, `${what}: ${extra.length} record(s) returned that the request excludes, e.g. ${sample(extra)}`);
  }
}

/** The first few items, for messages. */
export function sample(items: readonly string[]): string {
  return items.slice(0, 3).join(', ') + (items.length > 3 ? ', ...' : '');
}

/**
 * The CRM's current time: `serverTime()` when the connector offers it, else the local clock.
 * Checks place seeded timestamps relative to it, so a CRM with a controlled clock works too.
 */
export async function crmNow(scope: CheckScope): Promise<string> {
  if (scope.connector.capabilities.serverTime && scope.connector.serverTime) {
    return scope.expectOk(scope.connector.serverTime(), 'serverTime()');
  }
  return new Date().toISOString();
}

/** Adds milliseconds to an instant. */
export function shiftInstant(at: string, ms: number): string {
  return new Date(Date.parse(at) + ms).toISOString();
}
