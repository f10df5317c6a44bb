import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceEmulator, type SalesforceEmulator } from '../src/emulator/index.js';
import { contactValues } from './harness.js';

let emulator: SalesforceEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const token = emulator!.issueAccessToken();
  const response = await fetch(`${emulator!.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

const q = (soql: string) => `/services/data/v62.0/query?q=${encodeURIComponent(soql)}`;

describe('Salesforce emulator wire protocol', () => {
  it('answers a malformed query with 400 MALFORMED_QUERY in the errorCode array shape', async () => {
    emulator = await startSalesforceEmulator();
    const answer = await call(q('SELECT Id FRM Contact'));
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual([expect.objectContaining({ errorCode: 'MALFORMED_QUERY' })]);
    expect(answer.headers.get('content-type')).toBe('application/json;charset=UTF-8');
  });

  it('answers an unknown object with INVALID_TYPE and an unknown column with INVALID_FIELD', async () => {
    emulator = await startSalesforceEmulator();
    expect((await call(q('SELECT Id FROM Nope'))).body).toEqual([expect.objectContaining({ errorCode: 'INVALID_TYPE' })]);
    expect((await call(q('SELECT Nope FROM Contact'))).body).toEqual([expect.objectContaining({ errorCode: 'INVALID_FIELD' })]);
  });

  it('evaluates WHERE with AND/OR/NOT, LIKE, IN, null and date literals, ORDER BY and LIMIT', async () => {
    emulator = await startSalesforceEmulator();
    for (let n = 0; n < 6; n += 1) emulator.crm.insert('Contact', { ...contactValues(n), Score__c: n, Birthdate: `201${n}-01-01`, Email: n === 5 ? null : `c${n}@example.com` });
    const answer = await call(
      q("SELECT Id, LastName FROM Contact WHERE (Score__c >= 1 AND NOT (LastName LIKE 'last2%')) AND (Email != null OR Birthdate > 2014-06-01) AND LastName IN ('Last1','Last3','Last5','Last4') ORDER BY Score__c DESC LIMIT 3"),
    );
    expect((answer.body as { records: { LastName: string }[] }).records.map((r) => r.LastName)).toEqual(['Last5', 'Last4', 'Last3']);
    expect(answer.body).toMatchObject({ totalSize: 3, done: true });
  });

  it('serves datetimes as .000+0000, attributes first, and queryAll pages under /query/', async () => {
    emulator = await startSalesforceEmulator();
    for (let n = 0; n < 250; n += 1) emulator.crm.insert('Contact', contactValues(n));
    const first = await call(`/services/data/v62.0/queryAll?q=${encodeURIComponent('SELECT Id, LastModifiedDate FROM Contact')}`, { headers: { 'Sforce-Query-Options': 'batchSize=200' } });
    const body = first.body as { totalSize: number; nextRecordsUrl: string; records: Record<string, unknown>[] };
    expect(body.totalSize).toBe(250);
    expect(body.records).toHaveLength(200);
    expect(Object.keys(body.records[0]!)[0]).toBe('attributes');
    expect(body.records[0]!.LastModifiedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$/);
    expect(body.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/[A-Za-z0-9]+-200$/);
    const second = await call(body.nextRecordsUrl);
    expect(second.body).toMatchObject({ done: true });
    expect((second.body as { nextRecordsUrl?: string }).nextRecordsUrl).toBeUndefined();
  });

  it('refuses more than 200 records in a collection call with EXCEEDED_ID_LIMIT', async () => {
    emulator = await startSalesforceEmulator();
    const records = Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Contact' }, ...contactValues(i) }));
    const answer = await call('/services/data/v62.0/composite/sobjects', { method: 'POST', body: JSON.stringify({ allOrNone: false, records }) });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual([expect.objectContaining({ errorCode: 'EXCEEDED_ID_LIMIT' })]);
  });

  it('serves the single-record endpoints with 201, 204, 200 created:false and 404 ENTITY_IS_DELETED', async () => {
    emulator = await startSalesforceEmulator();
    const created = await call('/services/data/v62.0/sobjects/Contact', { method: 'POST', body: JSON.stringify(contactValues(1)) });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await call(`/services/data/v62.0/sobjects/Contact/${id}`, { method: 'PATCH', body: JSON.stringify({ FirstName: 'B' }) })).status).toBe(204);
    const upserted = await call('/services/data/v62.0/sobjects/Contact/Sync_Key__c/key-1', { method: 'PATCH', body: JSON.stringify({ LastName: 'C' }) });
    expect([upserted.status, (upserted.body as { created: boolean }).created]).toEqual([200, false]);
    expect((await call(`/services/data/v62.0/sobjects/Contact/${id}`, { method: 'DELETE' })).status).toBe(204);
    const again = await call(`/services/data/v62.0/sobjects/Contact/${id}`, { method: 'DELETE' });
    expect([again.status, (again.body as { errorCode: string }[])[0]?.errorCode]).toEqual([404, 'ENTITY_IS_DELETED']);
  });

  it('routes the deleted feed with and without the trailing slash and refuses a start beyond retention', async () => {
    emulator = await startSalesforceEmulator();
    const now = emulator.crm.clock.now().getTime();
    const range = (startMs: number) => `start=${encodeURIComponent(new Date(startMs).toISOString())}&end=${encodeURIComponent(new Date(now).toISOString())}`;
    expect((await call(`/services/data/v62.0/sobjects/Contact/deleted?${range(now - 3_600_000)}`)).status).toBe(200);
    const slash = await call(`/services/data/v62.0/sobjects/Contact/deleted/?${range(now - 3_600_000)}`);
    expect(slash.body).toMatchObject({ deletedRecords: [], earliestDateAvailable: expect.stringMatching(/\+0000$/), latestDateCovered: expect.any(String) });
    const old = await call(`/services/data/v62.0/sobjects/Contact/deleted/?${range(now - 16 * 86_400_000)}`);
    expect([old.status, (old.body as { errorCode: string }[])[0]?.errorCode]).toEqual([400, 'INVALID_REPLICATION_DATE']);
  });

  it('describes fields with Salesforce types and flags', async () => {
    emulator = await startSalesforceEmulator();
    const answer = await call('/services/data/v62.0/sobjects/Contact/describe');
    const fields = (answer.body as { fields: Record<string, unknown>[] }).fields;
    const byName = new Map(fields.map((f) => [f.name, f]));
    expect(byName.get('Id')).toMatchObject({ type: 'id', nillable: false, idLookup: true });
    expect(byName.get('Birthdate')).toMatchObject({ type: 'date' });
    expect(byName.get('LastModifiedDate')).toMatchObject({ type: 'datetime', createable: false });
    expect(byName.get('Sync_Key__c')).toMatchObject({ externalId: true, unique: true, idLookup: true, custom: true });
    expect(byName.get('LeadSource')).toMatchObject({ type: 'picklist', picklistValues: expect.arrayContaining([expect.objectContaining({ value: 'Web' })]) });
  });

  it('answers 401 INVALID_SESSION_ID without a valid bearer token, and sends Sforce-Limit-Info', async () => {
    emulator = await startSalesforceEmulator();
    const refused = await fetch(`${emulator.url}/services/data/v62.0/sobjects`, { headers: { Authorization: 'Bearer nope' } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const ok = await call('/services/data/v62.0/limits');
    expect(ok.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/15000000$/);
  });

  it('refuses a request head above 16 KB (a query URL too long), as Salesforce does', async () => {
    emulator = await startSalesforceEmulator();
    const answer = await call(q(`SELECT Id FROM Contact WHERE LastName IN ('${'x'.repeat(17_000)}')`));
    expect(answer.status).toBe(431);
  });

  it('issues refresh tokens with the password flow and rotates them on refresh', async () => {
    emulator = await startSalesforceEmulator({ credentials: { username: 'u@example.com', password: 'pw-and-token', rotateRefreshTokens: true } });
    const token = async (form: Record<string, string>) => {
      const response = await fetch(emulator!.tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    const first = await token({ grant_type: 'password', username: 'u@example.com', password: 'pw-and-token' });
    expect(first.body).toMatchObject({ instance_url: emulator.url, token_type: 'Bearer', id: expect.stringMatching(/\/id\/00D\w{15}\/005\w{15}$/) });
    const second = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token! });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    const reused = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token! });
    expect([reused.status, reused.body.error]).toEqual([400, 'invalid_grant']);
    const wrong = await token({ grant_type: 'password', username: 'u@example.com', password: 'nope' });
    expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'authentication failure' });
  });
});
