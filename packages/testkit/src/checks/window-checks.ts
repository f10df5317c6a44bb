/**
 * Checks of incremental windows: `[start, end)`, ordering by `(change field, id)`, and the `after`
 * keyset that lets a read resume from a checkpoint even inside a large timestamp tie.
 *
 * @module
 */
import type { CrmRecord, QueryRequest } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS, type CheckScope } from './define-check.js';
import { crmNow, describeFixtureObject, expectSameIds, readAllPages, resolveChangeField, shiftInstant } from './read-helpers.js';

const MINUTE = 60_000;
/** Records seeded at each distinct instant around the window edges. */
const PER_INSTANT = 5;

/** Checks every record carries `changedAt` equal to its seeded instant, and that they ascend. */
function expectChangedAtAscending(scope: CheckScope, records: readonly CrmRecord[], seededAt: ReadonlyMap<string, string>, what: string): void {
  let previous = '';
  for (const record of records) {
    if (record.changedAt === undefined) scope.fail(FAILURE_KINDS.wrongShape, `${what}: record ${record.id} has no changedAt although the request has a window`);
    const expected = seededAt.get(record.id);
    if (expected !== undefined && Date.parse(record.changedAt) !== Date.parse(expected)) {
      scope.fail(FAILURE_KINDS.wrongValue, `${what}: record ${record.id} has changedAt ${record.changedAt}, seeded at ${expected}`);
    }
    if (record.changedAt < previous) scope.fail(FAILURE_KINDS.wrongOrder, `${what}: changedAt ${record.changedAt} (record ${record.id}) comes after ${previous}`);
    previous = record.changedAt;
  }
}

/** Seeds `count` records at each instant, remembering every id's instant. */
async function seedAt(scope: CheckScope, plan: ReadonlyArray<readonly [at: string, count: number]>): Promise<{ ids: Map<string, string[]>; seededAt: Map<string, string> }> {
  const ids = new Map<string, string[]>();
  const seededAt = new Map<string, string>();
  let offset = 0;
  for (const [at, count] of plan) {
    const base = offset;
    const created = await scope.fixtures.seed(count, { changedAt: at, values: (i) => scope.fixtures.newRecord(base + i) });
    offset += count;
    ids.set(at, [...(ids.get(at) ?? []), ...created]);
    for (const id of created) seededAt.set(id, at);
  }
  return { ids, seededAt };
}

/** A window includes records at `start`, excludes records at `end`, and orders by the change field. */
const windowBounds = defineCheck({
  id: 'window/start-included-end-excluded',
  group: 'window',
  title: 'a window includes records changed exactly at start, excludes those exactly at end, ascending by change time',
  async body(scope) {
    const field = resolveChangeField(scope, await describeFixtureObject(scope));
    const anchor = shiftInstant(await crmNow(scope), -24 * 60 * MINUTE);
    const [before, start, inside, end, after] = [-1, 0, 1, 2, 3].map((k) => shiftInstant(anchor, k * MINUTE)) as [string, string, string, string, string];
    const { ids, seededAt } = await seedAt(scope, [before, start, inside, end, after].map((at) => [at, PER_INSTANT] as const));
    const what = `window ${field} [${start}, ${end})`;
    const records = await readAllPages(scope, { object: scope.fixtures.object, fields: [field], window: { field, start, end }, pageSize: 4 }, what, seededAt.size);
    expectSameIds(scope, records.map((record) => record.id), [...(ids.get(start) ?? []), ...(ids.get(inside) ?? [])], what);
    expectChangedAtAscending(scope, records, seededAt, what);
  },
});

/** Seeds the tie-heavy data set shared by the two tie checks and returns the window and expected ids. */
async function seedTie(scope: CheckScope): Promise<{ request: QueryRequest; expected: string[]; seededAt: Map<string, string> }> {
  const field = resolveChangeField(scope, await describeFixtureObject(scope));
  const anchor = shiftInstant(await crmNow(scope), -24 * 60 * MINUTE);
  const tie = shiftInstant(anchor, MINUTE);
  const plan = [[anchor, PER_INSTANT], [tie, scope.scale.tieRecords], [shiftInstant(anchor, 2 * MINUTE), PER_INSTANT]] as const;
  const { ids, seededAt } = await seedAt(scope, plan);
  const pageSize = Math.min(scope.scale.pageSize, scope.connector.capabilities.maxPageSize);
  const request: QueryRequest = { object: scope.fixtures.object, fields: [field], window: { field, start: anchor, end: shiftInstant(anchor, 3 * MINUTE) }, pageSize };
  return { request, expected: [...ids.values()].flat(), seededAt };
}

/** Cursor paging through a window with a large tie loses and repeats nothing. */
const windowTieCursorPaging = defineCheck({
  id: 'window/tie-cursor-paging',
  group: 'window',
  title: 'cursor paging through a window where many records share one timestamp returns each exactly once',
  async body(scope) {
    const { request, expected, seededAt } = await seedTie(scope);
    const what = `window read over ${scope.scale.tieRecords} tied records`;
    const records = await readAllPages(scope, request, what, expected.length);
    expectSameIds(scope, records.map((record) => record.id), expected, what);
    expectChangedAtAscending(scope, records, seededAt, what);
  },
});

/**
 * Resuming from the last `(changedAt, id)` of every page, as a brand-new request with `after`
 * (a checkpoint restart), skips and repeats nothing, even inside a large tie.
 */
const windowAfterTieBreak = defineCheck({
  id: 'window/after-tie-break',
  group: 'window',
  title: "restarting from each page's last (changedAt, id) with window.after skips and repeats nothing inside a large tie",
  async body(scope) {
    const { request, expected, seededAt } = await seedTie(scope);
    const window = request.window ?? scope.fail(FAILURE_KINDS.threw, 'tie request has no window');
    const read: CrmRecord[] = [];
    let after: { at: string; id: string } | undefined;
    // A correct connector needs expected / pageSize requests; twice that plus slack means `after` is ignored.
    const maxRequests = Math.ceil(expected.length / (request.pageSize ?? 1)) * 2 + 3;
    for (let requestNumber = 1; ; requestNumber += 1) {
      const page = await scope.expectOk(scope.connector.query({ ...request, window: { ...window, ...(after ? { after } : {}) } }), `resumed window read #${requestNumber}`);
      read.push(...page.records);
      const last = page.records.at(-1);
      if (last === undefined || page.nextCursor === undefined) break;
      if (last.changedAt === undefined) return scope.fail(FAILURE_KINDS.wrongShape, `record ${last.id} has no changedAt although the request has a window`);
      if (requestNumber >= maxRequests || read.length > expected.length) {
        expectSameIds(scope, read.map((record) => record.id), expected, `resumed read after ${requestNumber} requests`);
        scope.fail(FAILURE_KINDS.boundBroken, `resumed read did not end after ${requestNumber} requests`);
      }
      after = { at: last.changedAt, id: last.id };
    }
    const what = `window read resumed with after at every page (${scope.scale.tieRecords} tied records)`;
    expectSameIds(scope, read.map((record) => record.id), expected, what);
    expectChangedAtAscending(scope, read, seededAt, what);
  },
});

/** The window group, in run order. */
export const windowChecks = [windowBounds, windowTieCursorPaging, windowAfterTieBreak] as const;
