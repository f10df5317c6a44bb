/**
 * Checks of plain `query`: paging without loss or duplicates, and order by.
 *
 * @module
 */
import type { CrmRecord, RecordPage } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS } from './define-check.js';
import { describeFixtureObject, expectSameIds, readAllPages, sample } from './read-helpers.js';

/** Largest `maxPageSize` the cap check exercises; beyond it the check would seed too much for CI. */
const MAX_PAGE_SIZE_CHECKED = 2000;

/** Following cursors over many small pages yields every record exactly once. */
const queryPagingComplete = defineCheck({
  id: 'query/paging-complete',
  group: 'query',
  title: 'following cursors over many small pages returns every record exactly once',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const seeded = await scope.fixtures.seed(scope.scale.pagingRecords);
    const pageSize = Math.min(scope.scale.pageSize, scope.connector.capabilities.maxPageSize);
    const records = await readAllPages(
      scope,
      { object: scope.fixtures.object, fields: [description.primaryKey], pageSize },
      `query of ${seeded.length} records with pageSize ${pageSize}`,
      seeded.length,
    );
    expectSameIds(scope, records.map((record) => record.id), seeded, `paged query over ${seeded.length} records`);
  },
});

/** Asking for more than `maxPageSize` records per page gets pages of at most `maxPageSize`, and all records. */
const queryPageSizeCapped = defineCheck({
  id: 'query/page-size-capped',
  group: 'query',
  title: 'a pageSize above capabilities.maxPageSize is capped, and every record is still returned',
  requires: (capabilities) =>
    capabilities.maxPageSize > MAX_PAGE_SIZE_CHECKED ? `capabilities.maxPageSize ${capabilities.maxPageSize} is above ${MAX_PAGE_SIZE_CHECKED}: seeding past it is too slow for CI` : undefined,
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const maxPageSize = scope.connector.capabilities.maxPageSize;
    const seeded = await scope.fixtures.seed(maxPageSize + 3);
    const what = `query with pageSize ${maxPageSize * 2} over ${seeded.length} records`;
    // readAllPages bounds each page by min(pageSize, maxPageSize) = maxPageSize.
    const records = await readAllPages(scope, { object: scope.fixtures.object, fields: [description.primaryKey], pageSize: maxPageSize * 2 }, what, seeded.length);
    expectSameIds(scope, records.map((record) => record.id), seeded, what);
  },
});

/**
 * Records inserted and deleted while a paged read is under way never make an untouched record
 * vanish or repeat (offset paging fails this: a deletion before the offset shifts every later record).
 */
const queryPagingStableUnderWrites = defineCheck({
  id: 'query/paging-stable-under-writes',
  group: 'query',
  title: 'inserts and deletions during a paged read never skip or repeat an untouched record',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const total = 100;
    const pageSize = Math.min(10, scope.connector.capabilities.maxPageSize);
    const seeded = await scope.fixtures.seed(total);
    const request = { object: scope.fixtures.object, fields: [description.primaryKey], pageSize };
    const first = await scope.expectOk(scope.connector.query(request), 'first page');
    if (first.nextCursor === undefined) return scope.fail(FAILURE_KINDS.boundBroken, `${total} records with pageSize ${pageSize} came back in one page`);
    // Remove half of what was already read, and add new records, before reading on.
    const removed = first.records.slice(0, Math.ceil(first.records.length / 2)).map((record) => record.id);
    for (const id of removed) await scope.fixtures.deleteDirect(id);
    const added = await scope.fixtures.seed(10, { values: (i) => scope.fixtures.newRecord(total + i) });
    const rest: CrmRecord[] = [];
    let cursor: string | undefined = first.nextCursor;
    for (let pageNumber = 2; cursor !== undefined; pageNumber += 1) {
      if (pageNumber > total + 20) scope.fail(FAILURE_KINDS.boundBroken, `the cursor did not end after ${pageNumber} pages`);
      const page: RecordPage = await scope.expectOk(scope.connector.query(request, cursor), `page ${pageNumber} after concurrent writes`);
      rest.push(...page.records);
      cursor = page.nextCursor;
    }
    const read = [...first.records, ...rest].map((record) => record.id);
    const untouched = seeded.filter((id) => !removed.includes(id));
    const readOptional = new Set([...removed, ...added]);
    const readUntouched = read.filter((id) => !readOptional.has(id));
    expectSameIds(scope, readUntouched, untouched, 'paged read with inserts and deletions mid-read');
    const repeated = [...readOptional].filter((id) => read.indexOf(id) !== read.lastIndexOf(id));
    if (repeated.length > 0) scope.fail(FAILURE_KINDS.duplicateRecord, `records written mid-read came back twice: ${sample(repeated)}`);
  },
});

/** Record ids match `capabilities.idPattern`, so the orchestrator can validate ids from upstream. */
const queryIdsMatchPattern = defineCheck({
  id: 'query/ids-match-id-pattern',
  group: 'query',
  title: 'every record id read matches capabilities.idPattern',
  requires: (capabilities) => (capabilities.idPattern === undefined ? 'capabilities.idPattern is not declared' : undefined),
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const pattern = new RegExp(`^(?:${scope.connector.capabilities.idPattern ?? ''})$`);
    const seeded = await scope.fixtures.seed(5);
    const records = await readAllPages(scope, { object: scope.fixtures.object, fields: [description.primaryKey] }, 'query of 5 records', seeded.length);
    const odd = records.map((record) => record.id).filter((id) => !pattern.test(id));
    if (odd.length > 0) scope.fail(FAILURE_KINDS.wrongShape, `ids ${sample(odd)} do not match capabilities.idPattern ${pattern.source}`);
  },
});

/** A field the object does not have is an error, never silently dropped or passed through. */
const queryUnknownFieldRefused = defineCheck({
  id: 'query/unknown-field-refused',
  group: 'query',
  title: "a query naming a field the object does not have fails with 'invalid-request' (or 'not-found')",
  async body(scope) {
    const what = "query with field 'CrmSyncNoSuchField'";
    const error = await scope.expectErr(scope.connector.query({ object: scope.fixtures.object, fields: ['CrmSyncNoSuchField'] }), what);
    if (error.kind !== 'invalid-request' && error.kind !== 'not-found') {
      scope.fail(FAILURE_KINDS.wrongErrorKind, `${what} failed with kind '${error.kind}', expected 'invalid-request' or 'not-found': ${error.message}`);
    }
  },
});

function orderByCheck(direction: 'asc' | 'desc') {
  return defineCheck({
    id: `query/order-by-${direction}`,
    group: 'query',
    title: `orderBy ${direction} on a numeric field returns records in that order across pages`,
    requires: (capabilities) => (capabilities.orderBy ? undefined : 'capabilities.orderBy is false'),
    async body(scope) {
      const field = scope.fixtures.numericField ?? scope.skip('fixtures.numericField is not set');
      const count = 30;
      // 7 is coprime with 30, so the values are a permutation of 0..29 in a scrambled order.
      const valueOf = (i: number): number => (i * 7) % count;
      const seeded = await scope.fixtures.seed(count, { values: (i) => ({ ...scope.fixtures.newRecord(i), [field]: valueOf(i) }) });
      const records = await readAllPages(
        scope,
        { object: scope.fixtures.object, fields: [field], orderBy: [{ field, direction }], pageSize: 7 },
        `query ordered by ${field} ${direction}`,
        count,
      );
      expectSameIds(scope, records.map((record) => record.id), seeded, `ordered query`);
      const values = records.map((record) => Number(record.values[field]));
      const sign = direction === 'asc' ? 1 : -1;
      for (let i = 1; i < values.length; i += 1) {
        if (sign * ((values[i] ?? 0) - (values[i - 1] ?? 0)) < 0) {
          scope.fail(FAILURE_KINDS.wrongOrder, `orderBy ${field} ${direction}: record ${i} has ${values[i]} after ${values[i - 1]} (read order: ${values.join(', ')})`);
        }
      }
    },
  });
}

/** The query group (paging, ids, unknown fields, order by; filters live in filter-checks), in run order. */
export const queryChecks = [
  queryPagingComplete,
  queryPageSizeCapped,
  queryPagingStableUnderWrites,
  queryIdsMatchPattern,
  queryUnknownFieldRefused,
  orderByCheck('asc'),
  orderByCheck('desc'),
] as const;
