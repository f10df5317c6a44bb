/**
 * Checks of `getDeleted`: both window ends inclusive, and a window older than the CRM keeps is
 * refused with `retention-exceeded`, never answered partially.
 *
 * @module
 */
import type { DeletedRecord, DeletedRequest } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS, type CheckScope } from './define-check.js';
import { crmNow, expectSameIds, shiftInstant } from './read-helpers.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function retentionRequirement(capabilities: { deletedRetentionDays: number | null }): string | undefined {
  return capabilities.deletedRetentionDays === null ? 'capabilities.deletedRetentionDays is null (the connector cannot report deletions)' : undefined;
}

async function readAllDeleted(scope: CheckScope, request: DeletedRequest, what: string, maxRecords: number): Promise<DeletedRecord[]> {
  const records: DeletedRecord[] = [];
  let cursor: string | undefined;
  for (let pageNumber = 1; ; pageNumber += 1) {
    const page = await scope.expectOk(scope.connector.getDeleted(request, cursor), `${what} (page ${pageNumber})`);
    records.push(...page.records);
    if (page.nextCursor === undefined) return records;
    if (pageNumber > maxRecords + 3) scope.fail(FAILURE_KINDS.boundBroken, `${what}: the cursor did not end after ${pageNumber} pages`);
    cursor = page.nextCursor;
  }
}

/** Deletions exactly at `start` and exactly at `end` are both reported; those outside are not. */
const deletedWindowInclusive = defineCheck({
  id: 'deleted/window-inclusive',
  group: 'deleted',
  title: 'getDeleted reports deletions exactly at start and exactly at end, and none outside the window',
  requires: retentionRequirement,
  async body(scope) {
    // An hour back keeps every instant in the past and well inside any retention.
    const anchor = shiftInstant(await crmNow(scope), -60 * MINUTE);
    const times = [-1, 0, 1, 2, 3].map((k) => shiftInstant(anchor, k * MINUTE));
    const ids = await scope.fixtures.seed(times.length);
    for (const [i, id] of ids.entries()) await scope.fixtures.deleteDirect(id, times[i]);
    const start = times[1] ?? anchor;
    const end = times[3] ?? anchor;
    const what = `getDeleted [${start}, ${end}]`;
    const records = await readAllDeleted(scope, { object: scope.fixtures.object, start, end }, what, ids.length);
    expectSameIds(scope, records.map((record) => record.id), ids.slice(1, 4), what);
    for (const record of records) {
      const expected = times[ids.indexOf(record.id)];
      if (expected !== undefined && Date.parse(record.deletedAt) !== Date.parse(expected)) {
        scope.fail(FAILURE_KINDS.wrongValue, `${what}: record ${record.id} has deletedAt ${record.deletedAt}, deleted at ${expected}`);
      }
    }
  },
});

/** A start older than the retention fails with `retention-exceeded`. */
const deletedRetentionExceeded = defineCheck({
  id: 'deleted/retention-exceeded',
  group: 'deleted',
  title: "getDeleted with a start older than capabilities.deletedRetentionDays fails with 'retention-exceeded'",
  requires: retentionRequirement,
  async body(scope) {
    const days = scope.connector.capabilities.deletedRetentionDays ?? 0;
    const now = await crmNow(scope);
    const start = shiftInstant(now, -(days + 2) * DAY);
    const end = shiftInstant(now, -60 * MINUTE);
    const error = await scope.expectErr(scope.connector.getDeleted({ object: scope.fixtures.object, start, end }), `getDeleted from ${start} (retention ${days} days)`);
    if (error.kind !== 'retention-exceeded') {
      scope.fail(FAILURE_KINDS.wrongErrorKind, `getDeleted beyond the ${days}-day retention failed with kind '${error.kind}', expected 'retention-exceeded': ${error.message}`);
    }
    if (error.retryable) scope.fail(FAILURE_KINDS.wrongErrorKind, 'a retention-exceeded error must not be retryable');
  },
});

/** Many deletions at one instant, read over small pages, come back once each. */
const deletedPaging = defineCheck({
  id: 'deleted/paging-complete',
  group: 'deleted',
  title: 'getDeleted over small pages returns every deletion exactly once, even when they share one instant',
  requires: retentionRequirement,
  async body(scope) {
    const at = shiftInstant(await crmNow(scope), -60 * MINUTE);
    const ids = await scope.fixtures.seed(60);
    for (const id of ids) await scope.fixtures.deleteDirect(id, at);
    const what = `getDeleted of ${ids.length} deletions at ${at} with pageSize 7`;
    const records = await readAllDeleted(scope, { object: scope.fixtures.object, start: shiftInstant(at, -MINUTE), end: shiftInstant(at, MINUTE), pageSize: 7 }, what, ids.length);
    expectSameIds(scope, records.map((record) => record.id), ids, what);
  },
});

/**
 * The declared retention is what the CRM keeps: a window starting just inside it is answered, one
 * starting just outside it is refused with `retention-exceeded`, and the two numbers agree.
 */
const deletedRetentionMatchesCrm = defineCheck({
  id: 'deleted/retention-matches-crm',
  group: 'deleted',
  title: "capabilities.deletedRetentionDays equals what the CRM keeps: a window just inside it is answered, one just outside is 'retention-exceeded'",
  requires: retentionRequirement,
  async body(scope) {
    const kept = scope.fixtures.deletedRetentionDays ?? scope.skip("fixtures.deletedRetentionDays is not set (how many days the CRM keeps deletions)");
    const declared = scope.connector.capabilities.deletedRetentionDays ?? 0;
    const now = await crmNow(scope);
    const end = shiftInstant(now, -MINUTE);
    const inside = shiftInstant(now, -kept * DAY + 60 * MINUTE);
    const outside = shiftInstant(now, -kept * DAY - 60 * MINUTE);
    await scope.expectOk(scope.connector.getDeleted({ object: scope.fixtures.object, start: inside, end }), `getDeleted from ${inside}, an hour inside the CRM's ${kept}-day retention`);
    const error = await scope.expectErr(scope.connector.getDeleted({ object: scope.fixtures.object, start: outside, end }), `getDeleted from ${outside}, an hour beyond the CRM's ${kept}-day retention`);
    if (error.kind !== 'retention-exceeded') {
      scope.fail(FAILURE_KINDS.wrongErrorKind, `getDeleted from an hour beyond the CRM's ${kept}-day retention failed with kind '${error.kind}', expected 'retention-exceeded': ${error.message}`);
    }
    if (declared !== kept) {
      scope.fail(FAILURE_KINDS.wrongValue, `capabilities.deletedRetentionDays is ${declared}, but the CRM keeps deletions ${kept} days: declare ${kept}, or the orchestrator will ask for windows the CRM no longer has`);
    }
  },
});

/** The getDeleted group, in run order. */
export const deletedChecks = [deletedWindowInclusive, deletedPaging, deletedRetentionExceeded, deletedRetentionMatchesCrm] as const;
