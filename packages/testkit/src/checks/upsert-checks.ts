/**
 * Checks of `upsertBatch`: insert, update, an update that leaves absent fields alone, upsert by
 * external id, idempotent retry, partial failure with per-record rejects in input order, update of
 * a missing record.
 *
 * @module
 */
import type { UpsertBatchRequest, WriteRecord } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS, type CheckScope } from './define-check.js';
import { describeFixtureObject, expectSameIds } from './read-helpers.js';
import { expectOkOutcome, expectOutcomeCount, expectRejectOutcome, readAllIds, readByIds, sameFieldValue } from './write-helpers.js';

async function write(scope: CheckScope, request: UpsertBatchRequest, what: string) {
  const outcomes = await scope.expectOk(scope.connector.upsertBatch(request), what);
  expectOutcomeCount(scope, outcomes, request.records.length, what);
  return outcomes;
}

/** Fails when any read-back record's update field differs from `expected`. */
async function expectUpdateFieldValues(scope: CheckScope, expected: ReadonlyMap<string, unknown>, what: string): Promise<void> {
  const field = scope.fixtures.updateField.name;
  const read = await readByIds(scope, [...expected.keys()], [field], what);
  for (const [id, value] of expected) {
    const record = read.get(id);
    if (!record) scope.fail(FAILURE_KINDS.missingRecord, `${what}: record ${id} cannot be read back`);
    if (!sameFieldValue(value, record.values[field])) {
      scope.fail(FAILURE_KINDS.wrongValue, `${what}: record ${id} has ${field} = ${JSON.stringify(record.values[field])}, expected ${JSON.stringify(value)}`);
    }
  }
}

/** `insert` creates every record and returns distinct ids, action `created`. */
const upsertInsert = defineCheck({
  id: 'upsert/insert-created',
  group: 'upsert',
  title: "insert creates each record and returns its id with action 'created', in input order",
  async body(scope) {
    const records: WriteRecord[] = [1, 2, 3].map((n) => ({ values: scope.fixtures.newRecord(n) }));
    const what = 'insert of 3 records';
    const outcomes = await write(scope, { object: scope.fixtures.object, mode: 'insert', records }, what);
    const ids = records.map((_, i) => expectOkOutcome(scope, outcomes, i, ['created'], what));
    if (new Set(ids).size !== ids.length) scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: ids are not distinct: ${ids.join(', ')}`);
    const field = scope.fixtures.updateField.name;
    const expected = new Map(ids.map((id, i) => [id, records[i]?.values[field]] as const).filter(([, value]) => value !== undefined));
    const read = await readByIds(scope, ids, [field], `${what}, read back`);
    expectSameIds(scope, [...read.keys()], ids, `${what}, read back`);
    if (expected.size > 0) await expectUpdateFieldValues(scope, expected, `${what}, values read back`);
  },
});

/** `update` changes the value and answers action `updated` with the same id. */
const upsertUpdate = defineCheck({
  id: 'upsert/update-updated',
  group: 'upsert',
  title: "update changes the field and returns the same id with action 'updated'",
  async body(scope) {
    const ids = await scope.fixtures.seed(2);
    const { name, value } = scope.fixtures.updateField;
    const records = ids.map((id, i) => ({ id, values: { [name]: value(100 + i) } }));
    const what = `update of ${name} on 2 records`;
    const outcomes = await write(scope, { object: scope.fixtures.object, mode: 'update', records }, what);
    records.forEach((record, i) => {
      const id = expectOkOutcome(scope, outcomes, i, ['updated'], what);
      if (id !== record.id) scope.fail(FAILURE_KINDS.wrongOrder, `${what}: outcome ${i} is for ${id}, but input ${i} is ${record.id}`);
    });
    await expectUpdateFieldValues(scope, new Map(records.map((record) => [record.id, record.values[name]])), `${what}, read back`);
  },
});

function externalIdRequirement(capabilities: { upsertByExternalId: boolean }): string | undefined {
  return capabilities.upsertByExternalId ? undefined : 'capabilities.upsertByExternalId is false';
}

/** Upsert by external id creates, then updates the same records (same ids). */
export const upsertByExternalId = defineCheck({
  id: 'upsert/external-id-create-then-update',
  group: 'upsert',
  title: 'upsert by external id creates new records, then updates the same records on the second call',
  requires: externalIdRequirement,
  async body(scope) {
    const externalIdField = scope.fixtures.externalIdField ?? scope.skip('fixtures.externalIdField is not set');
    const { name, value } = scope.fixtures.updateField;
    const first = [10, 11].map((n) => ({ values: scope.fixtures.newRecord(n) }));
    const request = { object: scope.fixtures.object, mode: 'upsert', externalIdField } as const;
    const created = await write(scope, { ...request, records: first }, 'first upsert');
    const ids = first.map((_, i) => expectOkOutcome(scope, created, i, ['created'], 'first upsert by external id'));
    const second = first.map((record, i) => ({ values: { ...record.values, [name]: value(200 + i) } }));
    const updated = await write(scope, { ...request, records: second }, 'second upsert');
    second.forEach((_, i) => {
      const id = expectOkOutcome(scope, updated, i, ['updated', 'unchanged'], 'second upsert by external id');
      if (id !== ids[i]) scope.fail(FAILURE_KINDS.wrongOutcome, `second upsert by external id: outcome ${i} has id ${id}, the first upsert created ${ids[i]}`);
    });
    await expectUpdateFieldValues(scope, new Map(ids.map((id, i) => [id, second[i]?.values[name]])), 'second upsert, read back');
  },
});

/** Sending the same upsert batch twice creates nothing the second time. */
const upsertIdempotentRetry = defineCheck({
  id: 'upsert/idempotent-retry',
  group: 'upsert',
  title: 'retrying the same upsert batch creates no duplicate and returns the same ids',
  requires: externalIdRequirement,
  async body(scope) {
    const externalIdField = scope.fixtures.externalIdField ?? scope.skip('fixtures.externalIdField is not set');
    const description = await describeFixtureObject(scope);
    const request: UpsertBatchRequest = {
      object: scope.fixtures.object,
      mode: 'upsert',
      externalIdField,
      records: [20, 21, 22].map((n) => ({ values: scope.fixtures.newRecord(n) })),
    };
    const first = await write(scope, request, 'upsert batch');
    const retry = await write(scope, request, 'retried upsert batch');
    request.records.forEach((_, i) => {
      const id = expectOkOutcome(scope, first, i, ['created'], 'upsert batch');
      const again = expectOkOutcome(scope, retry, i, ['updated', 'unchanged'], 'retried upsert batch');
      if (again !== id) scope.fail(FAILURE_KINDS.duplicateRecord, `retried upsert batch: outcome ${i} has id ${again}, the first send created ${id}`);
    });
    const all = await readAllIds(scope, description.primaryKey, 'all records after the retry', 10);
    if (all.length !== request.records.length) {
      scope.fail(FAILURE_KINDS.duplicateRecord, `after sending the same 3-record upsert batch twice the object holds ${all.length} records`);
    }
  },
});

/** A batch mixing valid and invalid records rejects the invalid ones in place and creates the rest. */
const upsertPartialFailure = defineCheck({
  id: 'upsert/partial-failure-in-input-order',
  group: 'upsert',
  title: 'a batch mixing valid and invalid records returns per-record rejects in input order and creates the valid ones',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const valid = (n: number): WriteRecord => ({ values: scope.fixtures.newRecord(n) });
    const invalid = (): WriteRecord => ({ values: scope.fixtures.invalidRecord() });
    // Not a palindrome, so outcomes returned in reverse (or sorted) order cannot line up by chance.
    const records = [valid(30), invalid(), valid(31), valid(32), invalid()];
    const what = 'insert of [valid, invalid, valid, valid, invalid]';
    const outcomes = await write(scope, { object: scope.fixtures.object, mode: 'insert', records }, what);
    const validAt = [0, 2, 3];
    const created = validAt.map((i) => expectOkOutcome(scope, outcomes, i, ['created'], what));
    for (const i of [1, 4]) expectRejectOutcome(scope, outcomes, i, what);
    const all = await readAllIds(scope, description.primaryKey, `${what}, read back`, 10);
    expectSameIds(scope, all, created, `${what}, records in the CRM`);
    const field = scope.fixtures.updateField.name;
    const expected = new Map(created.map((id, k) => [id, records[validAt[k] ?? 0]?.values[field]] as const).filter(([, value]) => value !== undefined));
    if (expected.size > 0) await expectUpdateFieldValues(scope, expected, `${what}, each created id holds its input's values`);
  },
});

/** Updating a record that no longer exists is a `not-found`/`deleted-in-crm` reject, never a create. */
const upsertUpdateMissing = defineCheck({
  id: 'upsert/update-missing-rejected',
  group: 'upsert',
  title: "update of a missing record is a reject ('not-found' or 'deleted-in-crm') and creates nothing",
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const [live, gone] = await scope.fixtures.seed(2);
    if (live === undefined || gone === undefined) return scope.fail(FAILURE_KINDS.threw, 'fixtures.seed(2) returned fewer than 2 ids');
    await scope.fixtures.deleteDirect(gone);
    const { name, value } = scope.fixtures.updateField;
    const records = [{ id: gone, values: { [name]: value(300) } }, { id: live, values: { [name]: value(301) } }];
    const what = 'update of [deleted record, live record]';
    const outcomes = await write(scope, { object: scope.fixtures.object, mode: 'update', records }, what);
    expectRejectOutcome(scope, outcomes, 0, what, ['not-found', 'deleted-in-crm']);
    expectOkOutcome(scope, outcomes, 1, ['updated'], what);
    expectSameIds(scope, await readAllIds(scope, description.primaryKey, `${what}, read back`, 10), [live], `${what}, records in the CRM`);
  },
});

/**
 * Absent is not null: an update leaves the fields a record does not carry as they are, also when
 * the records of one batch carry different fields (a connector building one header or column list
 * for the batch must not send the others' fields as empty or null).
 */
const upsertAbsentFieldsKept = defineCheck({
  id: 'upsert/absent-fields-kept',
  group: 'upsert',
  title: 'an update leaves the fields a record does not carry unchanged, also in a batch whose records carry different fields',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const { name, value } = scope.fixtures.updateField;
    const ids = await scope.fixtures.seed(2);
    const [first, second] = ids;
    if (first === undefined || second === undefined) return scope.fail(FAILURE_KINDS.threw, 'fixtures.seed(2) returned fewer than 2 ids');
    // Both records get a value in the update field first, so that there is one to keep.
    const prepared = await write(scope, { object: scope.fixtures.object, mode: 'update', records: [{ id: first, values: { [name]: value(401) } }, { id: second, values: { [name]: value(402) } }] }, `update of ${name} on 2 records`);
    [0, 1].forEach((i) => expectOkOutcome(scope, prepared, i, ['updated', 'unchanged'], `update of ${name} on 2 records`));
    // Nullable fields first: a connector that nulls absent fields then fails on a value, not a reject.
    const candidates = description.fields
      .filter((field) => field.updateable && !field.primaryKey && !field.externalId && field.unique !== true && field.name !== name)
      .sort((a, b) => Number(b.nullable) - Number(a.nullable))
      .map((field) => field.name);
    const before = await readByIds(scope, ids, [name, ...candidates], 'seeded records, read back');
    const valueOf = (id: string, field: string) => before.get(id)?.values[field];
    const other = candidates.find((field) => valueOf(first, field) != null && valueOf(second, field) != null);
    if (other === undefined) return scope.skip(`the seeded records have no second updateable field with a value besides ${name}`);
    // The first record carries only the update field, the second only the other field (its own value).
    const records = [
      { id: first, values: { [name]: value(400) } },
      { id: second, values: { [other]: valueOf(second, other) ?? null } },
    ];
    const what = `update of [${name} only, ${other} only]`;
    const outcomes = await write(scope, { object: scope.fixtures.object, mode: 'update', records }, what);
    records.forEach((_, i) => expectOkOutcome(scope, outcomes, i, ['updated', 'unchanged'], what));
    const after = await readByIds(scope, ids, [name, other], `${what}, read back`);
    const expected: [string, string, unknown][] = [
      [first, name, value(400)],
      [first, other, valueOf(first, other)],
      [second, name, valueOf(second, name)],
      [second, other, valueOf(second, other)],
    ];
    for (const [id, field, want] of expected) {
      const got = after.get(id)?.values[field];
      if (!sameFieldValue(want, got)) {
        scope.fail(FAILURE_KINDS.wrongValue, `${what}: record ${id} has ${field} = ${JSON.stringify(got)}, expected ${JSON.stringify(want)} (a field the record did not carry must stay as it was: absent is not null)`);
      }
    }
  },
});

/** Most records the full-batch check sends, so a CRM allowing huge batches stays fast in CI. */
const MAX_BATCH_CHECKED = 1000;

/** A batch of `maxUpsertBatch` records gets exactly that many outcomes, each with a distinct id. */
const upsertFullBatch = defineCheck({
  id: 'upsert/full-batch',
  group: 'upsert',
  title: 'an insert of capabilities.maxUpsertBatch records returns one created outcome per record, with distinct ids',
  async body(scope) {
    const count = Math.min(scope.connector.capabilities.maxUpsertBatch, MAX_BATCH_CHECKED);
    const records = Array.from({ length: count }, (_, i) => ({ values: scope.fixtures.newRecord(1000 + i) }));
    const what = `insert of ${count} records`;
    const outcomes = await write(scope, { object: scope.fixtures.object, mode: 'insert', records }, what);
    const ids = records.map((_, i) => expectOkOutcome(scope, outcomes, i, ['created'], what));
    if (new Set(ids).size !== count) scope.fail(FAILURE_KINDS.duplicateRecord, `${what}: ${count - new Set(ids).size} outcome id(s) repeat`);
  },
});

/** The upsert group, in run order. */
export const upsertChecks = [upsertInsert, upsertFullBatch, upsertUpdate, upsertAbsentFieldsKept, upsertByExternalId, upsertIdempotentRetry, upsertPartialFailure, upsertUpdateMissing] as const;
