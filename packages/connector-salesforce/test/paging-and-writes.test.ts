import { afterEach, describe, expect, it } from 'vitest';
import { contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function seedContacts(h: Harness, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const outcome = h.emulator.crm.insert('Contact', contactValues(i));
    if (!outcome.ok) throw new Error(outcome.reject.message);
    ids.push(outcome.id);
  }
  return ids;
}

const collectionCalls = (h: Harness): number => h.emulator.requestLog.filter((e) => e.route === 'collections').length;

describe('paging', () => {
  it('reads 25,000 records through nextRecordsUrl pages with none lost or repeated', async () => {
    harness = await startHarness();
    const ids = seedContacts(harness, 25_000);
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = (await harness.connector.query({ object: 'Contact', fields: ['LastName'], pageSize: 2000 }, cursor))._unsafeUnwrap();
      for (const record of page.records) seen.add(record.id);
      pages += 1;
      expect(page.records.length).toBeLessThanOrEqual(2000);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.size).toBe(25_000);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(pages).toBe(13);
    expect(harness.emulator.requestLog.filter((e) => e.route === 'query').length).toBe(1);
    expect(harness.emulator.requestLog.filter((e) => e.route === 'query-more').length).toBe(12);
  });

  it('honours a page size below Salesforce minimum batch without re-running the query', async () => {
    harness = await startHarness();
    seedContacts(harness, 120);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await harness.connector.query({ object: 'Contact', fields: ['LastName'], pageSize: 50 }, cursor))._unsafeUnwrap();
      expect(page.records.length).toBeLessThanOrEqual(50);
      seen.push(...page.records.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(120);
    expect(seen).toHaveLength(120);
  });

  it('reports the server time from the Date header as the safe upper bound', async () => {
    harness = await startHarness();
    seedContacts(harness, 1);
    const page = (await harness.connector.query({ object: 'Contact', fields: ['LastName'] }))._unsafeUnwrap();
    const crmNow = harness.emulator.crm.clock.now().getTime();
    expect(Math.floor(crmNow / 1000) * 1000).toBe(Date.parse(page.serverTime!));
    expect(page.safeUpperBound).toBe(page.serverTime);
  });
});

describe('query by ids', () => {
  it('leaves out text that is not a Salesforce id instead of failing the chunk', async () => {
    harness = await startHarness();
    const ids = seedContacts(harness, 3);
    const page = (await harness.connector.query({ object: 'Contact', fields: ['LastName'], ids: [ids[0]!, 'missing-1', ids[2]!, "x' OR Id != '"] }))._unsafeUnwrap();
    expect(page.records.map((r) => r.id).sort()).toEqual([ids[0], ids[2]].sort());
    const none = (await harness.connector.query({ object: 'Contact', fields: ['LastName'], ids: ['missing-2'] }))._unsafeUnwrap();
    expect(none.records).toEqual([]);
  });
});

describe('upsertBatch splits into sObject Collections calls of 200', () => {
  it.each([
    [201, 2],
    [400, 2],
    [401, 3],
  ])('sends %i inserted records in %i calls, with one outcome per record in input order', async (count, calls) => {
    harness = await startHarness();
    const records = Array.from({ length: count }, (_, i) => ({ values: contactValues(i) }));
    const outcomes = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records }))._unsafeUnwrap();
    expect(outcomes).toHaveLength(count);
    expect(outcomes.every((o) => o.ok && o.action === 'created')).toBe(true);
    expect(collectionCalls(harness)).toBe(calls);
    const ids = outcomes.map((o) => (o.ok ? o.id : ''));
    expect(harness.emulator.crm.get('Contact', ids[count - 1]!)?.values.Sync_Key__c).toBe(`key-${count - 1}`);
  });

  it('upserts by external id through PATCH /composite/sobjects/Contact/Sync_Key__c, created then updated', async () => {
    harness = await startHarness();
    const records = Array.from({ length: 3 }, (_, i) => ({ values: contactValues(i) }));
    const first = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records }))._unsafeUnwrap();
    const second = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records }))._unsafeUnwrap();
    expect(first.map((o) => o.ok && o.action)).toEqual(['created', 'created', 'created']);
    expect(second.map((o) => o.ok && o.action)).toEqual(['updated', 'updated', 'updated']);
    expect(harness.emulator.requestLog.some((e) => e.method === 'PATCH' && e.path.endsWith('/composite/sobjects/Contact/Sync_Key__c'))).toBe(true);
  });

  it('refuses locally, without a call, an update without id and an upsert without key', async () => {
    harness = await startHarness();
    const update = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'update', records: [{ values: { LastName: 'x' } }] }))._unsafeUnwrap();
    const upsert = (await harness.connector.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records: [{ values: { LastName: 'x' } }] }))._unsafeUnwrap();
    expect(update[0]).toMatchObject({ ok: false, reject: { code: 'not-found' } });
    expect(upsert[0]).toMatchObject({ ok: false, reject: { code: 'required-field-missing', fields: ['Sync_Key__c'] } });
    expect(collectionCalls(harness)).toBe(0);
  });

  it('refuses locally a date Salesforce cannot deserialize, so the other records of the call are still written', async () => {
    harness = await startHarness();
    const outcomes = (
      await harness.connector.upsertBatch({
        object: 'Contact',
        mode: 'insert',
        records: [{ values: contactValues(1) }, { values: { ...contactValues(2), Birthdate: '2024-13-40' } }, { values: { ...contactValues(3), Birthdate: '2024-02-29' } }],
      })
    )._unsafeUnwrap();
    // Salesforce answers the whole call 400 JSON_PARSER_ERROR for one such value; the connector never sends it.
    expect(outcomes.map((o) => (o.ok ? o.action : `${o.reject.code}:${(o.reject.fields ?? []).join()}`))).toEqual(['created', 'invalid-value:Birthdate', 'created']);
    expect(outcomes[1]).toMatchObject({ ok: false, reject: { message: expect.stringContaining('"2024-13-40" is not a date YYYY-MM-DD') } });
    expect(collectionCalls(harness)).toBe(1);
    expect(harness.emulator.crm.count('Contact')).toBe(2);
  });

  it('names the first undeserializable calendar value in the order of the description, whatever the order of the record', async () => {
    harness = await startHarness();
    const outcomes = (
      await harness.connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: { ...contactValues(1), Birthdate: '2024-02-30', LastActivityDate: '2024-99-01' } }] })
    )._unsafeUnwrap();
    // LastActivityDate comes before Birthdate in Contact's description.
    expect(outcomes[0]).toMatchObject({ ok: false, reject: { code: 'invalid-value', fields: ['LastActivityDate'], message: expect.stringContaining('"2024-99-01"') } });
    expect(collectionCalls(harness)).toBe(0);
  });

  it('reports an update of an id no record has as not-found (Salesforce answers INVALID_CROSS_REFERENCE_KEY)', async () => {
    harness = await startHarness();
    const live = harness.emulator.crm.insert('Contact', contactValues(1));
    const outcomes = (
      await harness.connector.upsertBatch({
        object: 'Contact',
        mode: 'update',
        records: [{ id: '003000000000001AAA', values: { LastName: 'Ghost' } }, { id: live.ok ? live.id : '', values: { LastName: 'Live' } }],
      })
    )._unsafeUnwrap();
    expect(outcomes[0]).toMatchObject({ ok: false, reject: { code: 'not-found', symbol: 'INVALID_CROSS_REFERENCE_KEY' } });
    expect(outcomes[1]).toMatchObject({ ok: true, action: 'updated' });
  });

  it('reports a bad email, a validation rule, a duplicate key and a too-long value as rejects with Salesforce symbols', async () => {
    harness = await startHarness();
    const outcomes = (
      await harness.connector.upsertBatch({
        object: 'Contact',
        mode: 'insert',
        records: [
          { values: { ...contactValues(1), Email: 'no-at-sign' } },
          { values: contactValues(2) },
          { values: contactValues(2) },
          { values: { ...contactValues(3), LastName: 'x'.repeat(81) } },
          { values: { ...contactValues(4), Score__c: -1 } },
        ],
      })
    )._unsafeUnwrap();
    expect(outcomes.map((o) => (o.ok ? o.action : `${o.reject.code}/${o.reject.symbol}`))).toEqual([
      'invalid-value/INVALID_EMAIL_ADDRESS',
      'created',
      'duplicate/DUPLICATE_VALUE',
      'invalid-value/STRING_TOO_LONG',
      'validation/FIELD_CUSTOM_VALIDATION_EXCEPTION',
    ]);
  });
});

describe('delete', () => {
  it('deletes in chunks of 200 and counts an already-deleted id as deleted', async () => {
    harness = await startHarness();
    const ids = seedContacts(harness, 250);
    harness.emulator.crm.delete('Contact', ids[0]!);
    const outcomes = (await harness.connector.delete({ object: 'Contact', ids }))._unsafeUnwrap();
    expect(outcomes.every((o, i) => o.ok && o.action === 'deleted' && o.id === ids[i])).toBe(true);
    expect(harness.emulator.requestLog.filter((e) => e.route === 'collections' && e.method === 'DELETE')).toHaveLength(2);
    expect(harness.emulator.crm.count('Contact')).toBe(0);
  });

  it('refuses a malformed id locally as a reject', async () => {
    harness = await startHarness();
    const outcomes = (await harness.connector.delete({ object: 'Contact', ids: ["003'x"] }))._unsafeUnwrap();
    expect(outcomes[0]).toMatchObject({ ok: false, reject: { code: 'invalid-value' } });
  });
});

describe('very wide objects', () => {
  it('keeps every query URL under the limit and still returns every requested field', async () => {
    harness = await startHarness();
    const crm = harness.emulator.crm;
    const contact = crm.schema('Contact')!;
    const wide = Array.from({ length: 420 }, (_, i) => `Very_Long_Custom_Field_Name_Number_${String(i).padStart(3, '0')}__c`);
    crm.defineObject({ ...contact, fields: [...contact.fields, ...wide.map((name) => ({ ...contact.fields.find((f) => f.name === 'FirstName')!, name }))] });
    for (let n = 0; n < 250; n += 1) {
      const values: Record<string, string> = { LastName: `L${n}` };
      for (const name of wide) values[name] = `${name.slice(-6)}-${n}`;
      if (!crm.insert('Contact', values).ok) throw new Error('seed failed');
    }
    const seen: { id: string; values: Record<string, unknown> }[] = [];
    let cursor: string | undefined;
    do {
      const page = (await harness.connector.query({ object: 'Contact', fields: ['LastName', ...wide], pageSize: 2000 }, cursor))._unsafeUnwrap();
      seen.push(...page.records);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(250);
    for (const record of seen) {
      const n = String(record.values.LastName).slice(1);
      expect(wide.every((name) => record.values[name] === `${name.slice(-6)}-${n}`)).toBe(true);
    }
    const queries = harness.emulator.requestLog.filter((e) => e.route === 'query');
    expect(queries.length).toBeGreaterThan(1);
  });
});
