import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WriteOutcome, WriteRecord } from '@crm-sync/sdk';
import { startHarness, type DynamicsHarness } from './support/harness.js';

let harness: DynamicsHarness;
afterEach(async () => harness.close());

const batchPosts = (h: DynamicsHarness) => h.emulator.requestLog.filter((entry) => entry.path.endsWith('$batch'));

describe('upsertBatch through $batch', () => {
  beforeEach(async () => {
    harness = await startHarness();
  });

  it('maps mixed successes and failures of one $batch to the right input records', async () => {
    const records: WriteRecord[] = [
      { values: { lastname: 'Good 0', crm_synckey: 'k0' } },
      { values: { firstname: 'missing lastname' } },
      { values: { lastname: 'x'.repeat(51) } },
      { values: { lastname: 'Good 3', creditlimit: -5 } },
      { values: { lastname: 'Dup', crm_synckey: 'k0' } },
      { values: { lastname: 'Bad choice', preferredcontactmethodcode: 'seven' } },
      { values: { lastname: 'Good 6', birthdate: '1990-02-03' } },
    ];
    const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records }))._unsafeUnwrap();
    expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : `${outcome.reject.code}/${outcome.reject.symbol ?? ''}`))).toEqual([
      'ok',
      'required-field-missing/0x80040200',
      'invalid-value/0x80044331',
      'validation/0x80040265',
      'duplicate/0x80040237',
      'invalid-value/',
      'ok',
    ]);
    const created = outcomes.filter((outcome): outcome is Extract<WriteOutcome, { ok: true }> => outcome.ok);
    expect(harness.crm.get('contact', created[0]!.id)?.values.lastname).toBe('Good 0');
    expect(harness.crm.get('contact', created[1]!.id)?.values.birthdate).toBe('1990-02-03');
    expect(harness.crm.count('contact')).toBe(2);
    // The bad choice value never left the connector; the rest went in one $batch.
    expect(batchPosts(harness)).toHaveLength(1);
    expect(harness.emulator.apiCalls.batchOperations).toBe(6);
  });

  it('updates with If-Match: * and never creates a missing record', async () => {
    const [id] = await contactIds(1);
    const missing = '00000000-0000-4000-8000-000000000999';
    const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'update', records: [{ id: missing, values: { firstname: 'x' } }, { id: id!, values: { firstname: 'Changed' } }] }))._unsafeUnwrap();
    expect(outcomes[0]).toMatchObject({ ok: false, reject: { code: 'not-found', symbol: '0x80040217' } });
    expect(outcomes[1]).toEqual({ ok: true, id, action: 'updated' });
    expect(harness.crm.get('contact', missing)).toBeUndefined();
    expect(harness.crm.get('contact', id!)?.values.firstname).toBe('Changed');
  });

  it('upserts by alternate key with a hostile key value, creating then updating the same record', async () => {
    const key = "a/b'c#d&e?f%g+h 東京";
    const first = (await harness.connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'crm_synckey', records: [{ values: { crm_synckey: key, lastname: 'One' } }] }))._unsafeUnwrap();
    const second = (await harness.connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'crm_synckey', records: [{ values: { crm_synckey: key, lastname: 'Two' } }] }))._unsafeUnwrap();
    expect(first[0]).toMatchObject({ ok: true, action: 'created' });
    expect(second[0]).toEqual({ ok: true, id: (first[0] as { id: string }).id, action: 'updated' });
    expect(harness.crm.findBy('contact', 'crm_synckey', key).map((record) => record.values.lastname)).toEqual(['Two']);
  });

  it('refuses an upsert key that is not an alternate key, before any call', async () => {
    const result = await harness.connector.upsertBatch({ object: 'contact', mode: 'upsert', externalIdField: 'lastname', records: [{ values: { lastname: 'x' } }] });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'invalid-request', message: expect.stringContaining('crm_synckey') });
    expect(batchPosts(harness)).toHaveLength(0);
  });

  it('deletes in one $batch: gone counts as deleted, a malformed id is a reject', async () => {
    const [a, b] = await contactIds(2);
    harness.crm.delete('contact', b!);
    const outcomes = (await harness.connector.delete({ object: 'contact', ids: [a!, 'not-a-guid', b!] }))._unsafeUnwrap();
    expect(outcomes).toEqual([
      { ok: true, id: a, action: 'deleted' },
      { ok: false, id: 'not-a-guid', reject: expect.objectContaining({ code: 'invalid-value' }) },
      { ok: true, id: b, action: 'deleted' },
    ]);
    expect(batchPosts(harness)).toHaveLength(1);
  });

  async function contactIds(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1) {
      const outcome = harness.crm.insert('contact', { lastname: `Seed ${i}` });
      if (!outcome.ok) throw new Error(outcome.reject.message);
      ids.push(outcome.id);
    }
    return ids;
  }
});

describe('CreateMultiple fast path (opt-in)', () => {
  beforeEach(async () => {
    harness = await startHarness({ bulkMessages: true });
  });

  it('inserts through one CreateMultiple call', async () => {
    const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastname: 'A' } }, { values: { lastname: 'B' } }] }))._unsafeUnwrap();
    expect(outcomes.every((outcome) => outcome.ok && outcome.action === 'created')).toBe(true);
    expect(harness.emulator.requestLog.map((entry) => entry.path).filter((path) => path.includes('CreateMultiple'))).toHaveLength(1);
    expect(batchPosts(harness)).toHaveLength(0);
  });

  it('falls back to $batch when one target fails, after the all-or-nothing rollback', async () => {
    const outcomes = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastname: 'A' } }, { values: { lastname: 'Bad', creditlimit: -1 } }, { values: { lastname: 'C' } }] }))._unsafeUnwrap();
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true]);
    expect(harness.crm.records('contact').map((record) => record.values.lastname).sort()).toEqual(['A', 'C']);
    expect(batchPosts(harness)).toHaveLength(1);
    // The rolled-back create is not reported as a deletion.
    const deleted = (await harness.connector.getDeleted({ object: 'contact', start: '2024-05-15T00:00:00.000Z', end: '2024-06-01T00:00:00.000Z' }))._unsafeUnwrap();
    expect(deleted.records).toEqual([]);
  });
});

describe('UpsertMultiple fast path (opt-in)', () => {
  beforeEach(async () => {
    harness = await startHarness({ bulkMessages: true });
  });

  it('upserts by alternate key through UpsertMultiple and tells created from updated', async () => {
    const existing = harness.crm.insert('contact', { lastname: 'Before', crm_synckey: "O'Key" });
    const existingId = (existing as { id: string }).id;
    const outcomes = (await harness.connector.upsertBatch({
      object: 'contact',
      mode: 'upsert',
      externalIdField: 'crm_synckey',
      records: [{ values: { crm_synckey: 'new-1', lastname: 'New' } }, { values: { crm_synckey: "O'Key", lastname: 'After' } }],
    }))._unsafeUnwrap();
    expect(outcomes[0]).toMatchObject({ ok: true, action: 'created' });
    expect(outcomes[1]).toEqual({ ok: true, id: existingId, action: 'updated' });
    expect(harness.crm.get('contact', existingId)?.values.lastname).toBe('After');
    expect(harness.crm.get('contact', (outcomes[0] as { id: string }).id)?.values.crm_synckey).toBe('new-1');
    expect(harness.emulator.requestLog.filter((entry) => entry.path.includes('UpsertMultiple'))).toHaveLength(1);
    expect(batchPosts(harness)).toHaveLength(0);
  });

  it('falls back to $batch when UpsertMultiple refuses the whole call, keeping earlier records unchanged', async () => {
    const outcomes = (await harness.connector.upsertBatch({
      object: 'contact',
      mode: 'upsert',
      externalIdField: 'crm_synckey',
      records: [{ values: { crm_synckey: 'a', lastname: 'A' } }, { values: { crm_synckey: 'b', lastname: 'B', creditlimit: -1 } }],
    }))._unsafeUnwrap();
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.action : outcome.reject.code))).toEqual(['created', 'validation']);
    expect(harness.crm.records('contact').map((record) => record.values.crm_synckey)).toEqual(['a']);
    expect(batchPosts(harness)).toHaveLength(1);
  });
});

describe('faults on writes', () => {
  beforeEach(async () => {
    harness = await startHarness();
  });

  it('reports a connection reset after commit as transient and in doubt; the CRM did commit', async () => {
    harness.emulator.faults.inject({ kind: 'reset-after-commit', match: { path: '$batch' } });
    const error = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastname: 'Committed' } }] }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', inDoubt: true, retryable: true });
    expect(harness.crm.count('contact')).toBe(1);
  });

  it('reports a truncated $batch answer as transient and in doubt', async () => {
    harness.emulator.faults.inject({ kind: 'truncated-body', match: { path: '$batch' } });
    const error = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastname: 'Cut' } }] }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', inDoubt: true });
  });

  it('reports a reset before commit on a read as transient, not in doubt', async () => {
    harness.emulator.faults.inject({ kind: 'reset-before-commit', match: { method: 'GET', path: 'contacts' } });
    const error = (await harness.connector.query({ object: 'contact', fields: ['lastname'] }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'transient', inDoubt: false });
  });

  it.each([
    ['0x80072322', 3],
    ['0x80072321', 2],
    ['0x80072326', 1],
  ] as const)('maps service protection %s from the emulator to rate-limited with Retry-After', async (code, seconds) => {
    harness.emulator.faults.inject({ kind: 'rate-limit', code, retryAfterSeconds: seconds, match: { path: '$batch' } });
    const error = (await harness.connector.delete({ object: 'contact', ids: ['00000000-0000-4000-8000-000000000001'] }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: seconds * 1000, vendorCode: code, httpStatus: 429 });
  });

  it('maps a 503 and an HTML gateway page to transient errors', async () => {
    harness.emulator.faults.inject({ kind: 'unavailable', match: { path: 'contacts' } }, { kind: 'html-error', match: { path: 'contacts' } });
    expect((await harness.connector.query({ object: 'contact', fields: [] }))._unsafeUnwrapErr()).toMatchObject({ kind: 'transient', httpStatus: 503 });
    expect((await harness.connector.query({ object: 'contact', fields: [] }))._unsafeUnwrapErr()).toMatchObject({ kind: 'transient', httpStatus: 502 });
  });
});

describe('inserts with a client-chosen primary key', () => {
  const ids = ['11111111-2222-4333-8444-000000000001', '11111111-2222-4333-8444-000000000002'];

  for (const bulkMessages of [false, true]) {
    it(`creates with the given GUIDs, and a resend whose GUID exists is created, not a duplicate (${bulkMessages ? 'CreateMultiple' : '$batch'})`, async () => {
      harness = await startHarness({ bulkMessages });
      const first = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ id: ids[0]!, values: { lastname: 'A' } }] }))._unsafeUnwrap();
      expect(first).toEqual([{ ok: true, id: ids[0], action: 'created' }]);
      // The resend of the committed one comes with a new one: both end created, no duplicate.
      const records = ids.map((id, n) => ({ id, values: { lastname: n === 0 ? 'A' : 'B' } }));
      const second = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records }))._unsafeUnwrap();
      expect(second).toEqual(ids.map((id) => ({ ok: true, id, action: 'created' })));
      expect(harness.crm.records('contact').map((record) => record.id).sort()).toEqual([...ids].sort());
    });
  }

  it('a create whose key exists (Dataverse: 412 0x80040237) counts as created and changes nothing', async () => {
    harness = await startHarness();
    harness.crm.insert('contact', { lastname: 'There' }, { id: ids[0]! });
    const outcome = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ id: ids[0]!, values: { lastname: 'Again' } }] }))._unsafeUnwrap();
    expect(outcome[0]).toMatchObject({ ok: true, id: ids[0], action: 'created' });
    expect(harness.crm.records('contact')).toHaveLength(1);
    expect(harness.crm.get('contact', ids[0]!)?.values.lastname).toBe('There');
  });

  it('refuses an insert id that is not a GUID, naming the format', async () => {
    harness = await startHarness();
    const outcome = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ id: 'not-a-guid', values: { lastname: 'X' } }] }))._unsafeUnwrap();
    expect(outcome[0]).toMatchObject({ ok: false, reject: { code: 'invalid-value', message: expect.stringContaining('GUID') } });
    expect(harness.crm.records('contact')).toHaveLength(0);
  });
});
