import { describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock, MockConnector } from '../src/index.js';

const DAY = 86_400_000;

function setup() {
  const clock = new ManualClock('2024-06-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  return { clock, crm, connector: new MockConnector(crm) };
}

describe('MockConnector writes and deletions', () => {
  it('returns one outcome per record in input order, rejects included', async () => {
    const { connector } = setup();
    const outcomes = (await connector.upsertBatch({
      object: 'contact',
      mode: 'insert',
      records: [{ values: { lastName: 'A' } }, { values: { firstName: 'no last name' } }, { values: { lastName: 'C', email: 'bad' } }, { values: { lastName: 'D' } }],
    }))._unsafeUnwrap();
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.id : outcome.reject.symbol))).toEqual(['CON-000001', 'REQUIRED_FIELD_MISSING', 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'CON-000002']);
  });

  it('updates by id and rejects an update of a recycle-binned record as deleted-in-crm', async () => {
    const { crm, connector } = setup();
    crm.insert('contact', { lastName: 'A' });
    crm.insert('contact', { lastName: 'B' });
    crm.delete('contact', 'CON-000002');
    const outcomes = (await connector.upsertBatch({ object: 'contact', mode: 'update', records: [{ id: 'CON-000001', values: { lastName: 'A2' } }, { id: 'CON-000002', values: { lastName: 'B2' } }, { values: { lastName: 'no id' } }] }))._unsafeUnwrap();
    expect(outcomes[0]).toEqual({ ok: true, id: 'CON-000001', action: 'updated' });
    expect(outcomes[1]).toMatchObject({ ok: false, reject: { code: 'deleted-in-crm', symbol: 'ENTITY_IS_DELETED' } });
    expect(outcomes[2]).toMatchObject({ ok: false, reject: { symbol: 'MISSING_ARGUMENT' } });
    expect(crm.get('contact', 'CON-000001')?.values.lastName).toBe('A2');
  });

  it('upserts by external id idempotently when the same batch is sent twice', async () => {
    const { crm, connector } = setup();
    const batch = { object: 'contact', mode: 'upsert' as const, externalIdField: 'externalKey', records: [{ values: { externalKey: 'k-1', lastName: 'A' } }, { values: { externalKey: 'k-2', lastName: 'B' } }] };
    const first = (await connector.upsertBatch(batch))._unsafeUnwrap();
    const second = (await connector.upsertBatch(batch))._unsafeUnwrap();
    expect(first.map((outcome) => outcome.ok && outcome.action)).toEqual(['created', 'created']);
    expect(second.map((outcome) => outcome.ok && outcome.action)).toEqual(['updated', 'updated']);
    expect(crm.count('contact')).toBe(2);
  });

  it('refuses an upsert without an external-id field and a batch over maxUpsertBatch', async () => {
    const { connector } = setup();
    expect((await connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'lastName', records: [] }))._unsafeUnwrapErr().kind).toBe('invalid-request');
    const records = Array.from({ length: 201 }, () => ({ values: { lastName: 'X' } }));
    expect((await connector.upsertBatch({ object: 'contact', mode: 'insert', records }))._unsafeUnwrapErr().message).toContain('maxUpsertBatch (200)');
    expect((await connector.upsertBatch({ object: 'spaceship', mode: 'insert', records: [] }))._unsafeUnwrapErr().kind).toBe('not-found');
  });

  it('deletes by id: already deleted counts as deleted, unknown ids are rejects', async () => {
    const { crm, connector } = setup();
    crm.insert('account', { name: 'A' });
    crm.delete('account', 'ACC-000001');
    crm.insert('account', { name: 'B' });
    const outcomes = (await connector.delete({ object: 'account', ids: ['ACC-000001', 'ACC-000002', 'ACC-999999'] }))._unsafeUnwrap();
    expect(outcomes).toEqual([
      { ok: true, id: 'ACC-000001', action: 'deleted' },
      { ok: true, id: 'ACC-000002', action: 'deleted' },
      { ok: false, id: 'ACC-999999', reject: expect.objectContaining({ code: 'not-found' }) },
    ]);
  });

  it('reads deletions in an inclusive window with coverage facts, paging by keyset', async () => {
    const { clock, crm, connector } = setup();
    for (let index = 0; index < 5; index++) crm.insert('lead', { lastName: `L${index}`, company: 'C' });
    clock.advance(DAY);
    for (const id of ['LEA-000004', 'LEA-000002', 'LEA-000005']) crm.delete('lead', id);
    clock.advance(DAY);
    const request = { object: 'lead', start: '2024-06-02T00:00:00.000Z', end: '2024-06-02T00:00:00.000Z', pageSize: 2 };
    const first = (await connector.getDeleted(request))._unsafeUnwrap();
    expect(first.records.map((record) => record.id)).toEqual(['LEA-000002', 'LEA-000004']);
    expect(first).toMatchObject({ earliestDateAvailable: '2024-05-19T00:00:00.000Z', latestDateCovered: '2024-06-02T00:00:00.000Z' });
    const second = (await connector.getDeleted(request, first.nextCursor))._unsafeUnwrap();
    expect(second.records).toEqual([{ id: 'LEA-000005', deletedAt: '2024-06-02T00:00:00.000Z' }]);
    expect(second.nextCursor).toBeUndefined();
  });

  it('refuses a deletion window that starts before the retention with retention-exceeded', async () => {
    const { connector } = setup();
    const error = (await connector.getDeleted({ object: 'contact', start: '2024-05-01T00:00:00.000Z', end: '2024-06-01T00:00:00.000Z' }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'retention-exceeded', earliestAvailable: '2024-05-17T00:00:00.000Z', retryable: false });
    expect(error.message).toContain('full re-sync');
  });

  it('describes objects with the schema fields and declares full capabilities', async () => {
    const { connector } = setup();
    const description = (await connector.describe('contact'))._unsafeUnwrap();
    expect(description.primaryKey).toBe('id');
    expect(description.fields.find((field) => field.name === 'birthDate')).toMatchObject({ type: 'date', timeSemantics: 'date-only' });
    expect(description.fields.find((field) => field.name === 'externalKey')).toMatchObject({ externalId: true, unique: true });
    expect((await connector.listObjects())._unsafeUnwrap().map((object) => object.name)).toEqual(['account', 'contact', 'lead', 'opportunity']);
    expect((await connector.describe('spaceship'))._unsafeUnwrapErr().kind).toBe('not-found');
    expect(connector.capabilities).toMatchObject({ orderBy: true, upsertByExternalId: true, deletedRetentionDays: 15, serverTime: true, maxPageSize: 10_000, changeFields: ['updatedAt'] });
    expect('CON-000001').toMatch(new RegExp(connector.capabilities.idPattern as string));
  });
});
