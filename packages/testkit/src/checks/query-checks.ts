/**
 * Checks of plain `query`: paging without loss or duplicates, and order by.
 *
 * @module
 */
import { defineCheck, FAILURE_KINDS } from './define-check.js';
import { describeFixtureObject, expectSameIds, readAllPages } from './read-helpers.js';

/** Following cursors over many small pages yields every record exactly once. */
export const queryPagingComplete = defineCheck({
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

/** The query group (paging and order by), in run order. */
export const queryChecks = [queryPagingComplete, orderByCheck('asc'), orderByCheck('desc')] as const;
