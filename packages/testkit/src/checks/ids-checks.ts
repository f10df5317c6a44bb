/**
 * Checks of record identification: `query` with `ids` returns exactly the existing records asked
 * for, and ids compare the way the connector's `normalizeId` says the CRM compares them.
 *
 * @module
 */
import { idNormalizer } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS } from './define-check.js';
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

/**
 * Other spellings of `id` a CRM may treat as the same record: letter-case changes, and for an
 * 18-character id its 15-character body and its suffix in the other case (Salesforce). Which of
 * them really are the same record is the connector's `normalizeId`'s call.
 */
function idVariants(id: string): string[] {
  const variants = [id.toUpperCase(), id.toLowerCase()];
  if (id.length === 18) {
    const suffix = id.slice(15);
    variants.push(id.slice(0, 15), id.slice(0, 15) + (suffix === suffix.toLowerCase() ? suffix.toUpperCase() : suffix.toLowerCase()));
  }
  return [...new Set(variants)].filter((variant) => variant !== id);
}

/**
 * The connector's `normalizeId` is idempotent and leaves the ids the connector returns as they
 * are, and every other form of an id it maps to the same canonical id finds that record once in
 * a query by ids (so the orchestrator imports it once and never lists it as not found). Skipped
 * when the connector treats no other spelling as the same id (no `normalizeId`).
 */
const idsNormalized = defineCheck({
  id: 'ids/normalized-forms-find-the-record',
  group: 'ids',
  title: 'ids in another form the connector normalizes to the same id (15/18 characters, letter case) find the record once',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const normalize = idNormalizer(scope.connector, scope.fixtures.object);
    const [id] = await scope.fixtures.seed(1);
    if (id === undefined) return scope.fail(FAILURE_KINDS.missingRecord, 'fixtures.seed(1) returned no id');
    const canonical = normalize(id);
    if (canonical !== id) {
      scope.fail(FAILURE_KINDS.wrongValue, `normalizeId('${id}') is '${canonical}': ids the connector returns must already be canonical`);
    }
    const same = idVariants(id).filter((variant) => normalize(variant) === canonical);
    for (const variant of [...idVariants(id), canonical]) {
      const once = normalize(variant);
      if (normalize(once) !== once) scope.fail(FAILURE_KINDS.wrongValue, `normalizeId is not idempotent: '${variant}' -> '${once}' -> '${normalize(once)}'`);
    }
    if (same.length === 0) return scope.skip(`the connector treats no other spelling of '${id}' as the same id (it has no normalizeId, or compares ids exactly)`);
    for (const variant of same) {
      const alone = await readAllPages(scope, { object: scope.fixtures.object, fields: [description.primaryKey], ids: [variant] }, `query by ids ['${variant}'] (another form of '${id}')`, 1);
      expectSameIds(scope, alone.map((record) => normalize(record.id)), [canonical], `query by another form of an id ('${variant}' for '${id}')`);
      const records = await readAllPages(
        scope,
        { object: scope.fixtures.object, fields: [description.primaryKey], ids: [variant, id] },
        `query by ids ['${variant}', '${id}'] (two forms of one id)`,
        2,
      );
      expectSameIds(scope, records.map((record) => normalize(record.id)), [canonical], `query by two forms of one id ('${variant}', '${id}')`);
    }
  },
});

/** The ids group, in run order. */
export const idsChecks = [idsFoundSubset, idsFullChunk, idsNormalized] as const;
