/**
 * AND/OR filter groups combined with an incremental window and with a keyset resume: the filter
 * narrows the window, never widens it. An OR group pasted next to the window without parentheses
 * (`a or b and start <= t < end`) imports records from outside the window and fails here.
 *
 * @module
 */
import type { CrmRecord, QueryRequest, ResolvedFilterNode } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS } from './define-check.js';
import { crmNow, describeFixtureObject, expectSameIds, readAllPages, resolveChangeField, shiftInstant } from './read-helpers.js';

const MINUTE = 60_000;
/** Numeric values cycled over the seeded records at each instant; 10 and 20 match the filter. */
const CYCLE = [10, 20, 30, null] as const;
/** Records seeded at each instant. */
const PER_INSTANT = 8;

/** `(n >= 10 and n <= 10) or n = 20`: an OR group holding an AND group. */
function orOfAnd(field: string): ResolvedFilterNode {
  const number = (value: number) => ({ kind: 'number' as const, value });
  const left = { kind: 'field' as const, name: field };
  return {
    kind: 'group',
    op: 'or',
    items: [
      { kind: 'group', op: 'and', items: [{ kind: 'comparison', left, op: 'gte', right: number(10) }, { kind: 'comparison', left, op: 'lte', right: number(10) }] },
      { kind: 'comparison', left, op: 'eq', right: number(20) },
    ],
  };
}

const filterGroupsInWindow = defineCheck({
  id: 'window/filter-groups-stay-in-window',
  group: 'window',
  title: 'an AND/OR filter group combined with a window, and with a keyset resume, returns no record outside the window',
  async body(scope) {
    const numeric = scope.fixtures.numericField ?? scope.skip('fixtures.numericField is not set');
    const field = resolveChangeField(scope, await describeFixtureObject(scope));
    const anchor = shiftInstant(await crmNow(scope), -24 * 60 * MINUTE);
    const instants = [-1, 0, 1, 2, 3].map((k) => shiftInstant(anchor, k * MINUTE));
    const [, start, , end] = instants as [string, string, string, string, string];
    const expected: string[] = [];
    for (const [k, at] of instants.entries()) {
      const ids = await scope.fixtures.seed(PER_INSTANT, { changedAt: at, values: (i) => ({ ...scope.fixtures.newRecord(k * PER_INSTANT + i), [numeric]: CYCLE[i % CYCLE.length] ?? null }) });
      // Inside [start, end) are the instants at k = 1 and 2; values 10 and 20 match the filter.
      if (k === 1 || k === 2) expected.push(...ids.filter((_, i) => i % CYCLE.length < 2));
    }
    const request: QueryRequest = { object: scope.fixtures.object, fields: [numeric, field], filter: orOfAnd(numeric), window: { field, start, end }, pageSize: 3 };
    const what = `(${numeric} >= 10 and ${numeric} <= 10) or ${numeric} = 20 within ${field} [${start}, ${end})`;
    const records = await readAllPages(scope, request, what, PER_INSTANT * instants.length);
    expectSameIds(scope, records.map((record) => record.id), expected, what);
    // Resume from the middle of the answer: the rest, and nothing outside the window.
    const middle = Math.floor(records.length / 2);
    const from: CrmRecord = records[middle] ?? scope.fail(FAILURE_KINDS.missingRecord, `${what}: nothing read`);
    const at = from.changedAt ?? scope.fail(FAILURE_KINDS.wrongShape, `${what}: record ${from.id} has no changedAt although the request has a window`);
    const resumed = await readAllPages(scope, { ...request, window: { field, start, end, after: { at, id: from.id } } }, `${what} resumed after (${at}, ${from.id})`, PER_INSTANT * instants.length);
    expectSameIds(scope, resumed.map((record) => record.id), records.slice(middle + 1).map((record) => record.id), `${what} resumed after (${at}, ${from.id})`);
  },
});

/** The filter-group window check. */
export const windowFilterChecks = [filterGroupsInWindow] as const;
