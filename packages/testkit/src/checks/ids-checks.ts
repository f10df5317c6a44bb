/**
 * Checks of record identification: `query` with `ids` returns exactly the existing records asked for.
 *
 * @module
 */
import { defineCheck } from './define-check.js';
import { describeFixtureObject, expectSameIds, readAllPages } from './read-helpers.js';

/** Most ids the full-chunk check asks for, so a CRM allowing 10,000 ids per query stays fast in CI. */
const MAX_IDS_CHECKED = 1000;

/** Asking for some existing ids and some deleted ones returns exactly the existing ones. */
const idsFoundSubset = defineCheck({
  id: 'ids/found-subset-unknown-absent',
  group: 'ids',
  title: 'query by ids returns the existing records asked for and silently omits unknown ids',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const seeded = await scope.fixtures.seed(10);
    // Deleted records give ids that are well-formed for this CRM yet no longer exist.
    const gone = seeded.slice(7);
    for (const id of gone) await scope.fixtures.deleteDirect(id);
    const wanted = [seeded[1], seeded[4], seeded[6]].filter((id): id is string => id !== undefined);
    const records = await readAllPages(
      scope,
      { object: scope.fixtures.object, fields: [description.primaryKey], ids: [...wanted, ...gone] },
      'query by 3 existing and 3 deleted ids',
      wanted.length + gone.length,
    );
    expectSameIds(scope, records.map((record) => record.id), wanted, 'query by ids');
  },
});

/** A query with a full chunk of `maxIdsPerQuery` ids returns all of them. */
const idsFullChunk = defineCheck({
  id: 'ids/max-ids-per-query',
  group: 'ids',
  title: 'query with capabilities.maxIdsPerQuery ids returns every one of them',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const count = Math.min(scope.connector.capabilities.maxIdsPerQuery, MAX_IDS_CHECKED);
    const seeded = await scope.fixtures.seed(count + 5);
    const wanted = seeded.slice(0, count);
    const records = await readAllPages(
      scope,
      { object: scope.fixtures.object, fields: [description.primaryKey], ids: wanted },
      `query by ${count} ids`,
      count,
    );
    expectSameIds(scope, records.map((record) => record.id), wanted, `query by ${count} ids`);
  },
});

/** The ids group, in run order. */
export const idsChecks = [idsFoundSubset, idsFullChunk] as const;
