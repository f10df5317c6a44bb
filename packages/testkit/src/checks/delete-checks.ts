/**
 * Checks of `delete`: one outcome per id in input order, already-deleted ids count as deleted, so
 * a retried batch is harmless.
 *
 * @module
 */
import type { WriteOutcome } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS, type CheckScope } from './define-check.js';
import { describeFixtureObject } from './read-helpers.js';
import { expectOkOutcome, expectOutcomeCount, readAllIds } from './write-helpers.js';

function expectDeletedInOrder(scope: CheckScope, outcomes: readonly WriteOutcome[], ids: readonly string[], what: string): void {
  expectOutcomeCount(scope, outcomes, ids.length, what);
  ids.forEach((id, i) => {
    const outcomeId = expectOkOutcome(scope, outcomes, i, ['deleted'], what);
    if (outcomeId !== id) scope.fail(FAILURE_KINDS.wrongOrder, `${what}: outcome ${i} is for ${outcomeId}, but input ${i} is ${id}`);
  });
}

/** A batch that includes an already-deleted id deletes the rest and reports every id as deleted, in order. */
const deleteIncludingDeleted = defineCheck({
  id: 'delete/already-deleted-ok-in-order',
  group: 'delete',
  title: "delete of a batch including an already-deleted id reports each id 'deleted', in input order",
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const seeded = await scope.fixtures.seed(5);
    const [a, b, c, d, keep] = seeded;
    if (a === undefined || b === undefined || c === undefined || d === undefined || keep === undefined) {
      return scope.fail(FAILURE_KINDS.threw, 'fixtures.seed(5) returned fewer than 5 ids');
    }
    await scope.fixtures.deleteDirect(b);
    // Not in seeding order, so an implementation that sorts ids is caught.
    const ids = [c, b, a, d];
    const what = 'delete of [c, b (already deleted), a, d]';
    const outcomes = await scope.expectOk(scope.connector.delete({ object: scope.fixtures.object, ids }), what);
    expectDeletedInOrder(scope, outcomes, ids, what);
    const remaining = await readAllIds(scope, description.primaryKey, `${what}, read back`, seeded.length);
    if (remaining.length !== 1 || remaining[0] !== keep) {
      scope.fail(FAILURE_KINDS.unexpectedRecord, `${what}: the object should hold only ${keep}, it holds [${remaining.join(', ')}]`);
    }
  },
});

/** Sending the same delete batch twice succeeds both times. */
const deleteRetryHarmless = defineCheck({
  id: 'delete/retry-harmless',
  group: 'delete',
  title: "retrying the same delete batch reports every id 'deleted' again",
  async body(scope) {
    const ids = await scope.fixtures.seed(3);
    const request = { object: scope.fixtures.object, ids };
    expectDeletedInOrder(scope, await scope.expectOk(scope.connector.delete(request), 'delete of 3 records'), ids, 'delete of 3 records');
    expectDeletedInOrder(scope, await scope.expectOk(scope.connector.delete(request), 'retried delete'), ids, 'retried delete of the same 3 records');
  },
});

/** The delete group, in run order. */
export const deleteChecks = [deleteIncludingDeleted, deleteRetryHarmless] as const;
