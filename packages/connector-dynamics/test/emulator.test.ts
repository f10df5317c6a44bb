import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBatchRequest, parseBatchResponse } from '../src/batch.js';
import { startDataverseEmulator, type DataverseEmulator } from '../src/emulator/index.js';

let emulator: DataverseEmulator;
let token: string;
beforeAll(async () => {
  emulator = await startDataverseEmulator();
  const { credentials, tokenUrl, url } = emulator;
  const response = await fetch(tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret!, scope: `${url}/.default`, 'x-client-SKU': 'ignored' }),
  });
  token = ((await response.json()) as { access_token: string }).access_token;
});
afterAll(async () => emulator.close());
beforeEach(() => emulator.crm.reset());

function call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${emulator.apiBase}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'OData-Version': '4.0', ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
    ...(init.body ? { body: init.body } : {}),
  });
}

describe('Dataverse emulator wire protocol', () => {
  it('answers an unauthenticated call with 401, WWW-Authenticate and an empty body, as Dataverse does', async () => {
    const response = await fetch(`${emulator.apiBase}contacts`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/);
    expect(await response.text()).toBe('');
  });

  it('refuses a token request with a wrong scope as Entra does', async () => {
    const { credentials, tokenUrl } = emulator;
    const response = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret!, scope: 'https://elsewhere/.default' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_scope', error_codes: [70011] });
  });

  it('creates with 204 and an absolute OData-EntityId, or 201 with return=representation', async () => {
    const plain = await call('POST', 'contacts', { body: JSON.stringify({ lastname: 'A' }) });
    expect(plain.status).toBe(204);
    expect(plain.headers.get('odata-entityid')).toMatch(new RegExp(`^${emulator.apiBase.replace(/[.?]/g, '\\$&')}contacts\\([0-9a-f-]{36}\\)$`));
    const represented = await call('POST', 'contacts?$select=lastname', { body: JSON.stringify({ lastname: 'B' }), headers: { Prefer: 'return=representation' } });
    expect(represented.status).toBe(201);
    expect(await represented.json()).toMatchObject({ '@odata.etag': expect.stringMatching(/^W\/"/), lastname: 'B', contactid: expect.any(String) });
  });

  it('honours If-Match: * (404 when missing) and If-None-Match: * (412 when present) on PATCH', async () => {
    const missing = await call('PATCH', "contacts(crm_synckey='nope')", { body: '{"lastname":"x"}', headers: { 'If-Match': '*' } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: '0x80040217' } });
    expect((await call('PATCH', "contacts(crm_synckey='k')", { body: '{"lastname":"x"}' })).status).toBe(204);
    const exists = await call('PATCH', "contacts(crm_synckey='k')", { body: '{"lastname":"y"}', headers: { 'If-None-Match': '*' } });
    expect(exists.status).toBe(412);
    expect(await exists.json()).toEqual({ error: { code: '0x80040237', message: 'A record with matching key values already exists.' } });
  });

  it('refuses alternate keys that are not declared, $skip, and unknown properties with Dataverse codes', async () => {
    expect((await call('PATCH', "contacts(lastname='x')", { body: '{}' })).status).toBe(400);
    expect((await call('GET', 'contacts?$skip=10')).status).toBe(400);
    const unknown = await call('GET', 'contacts?$select=nosuch');
    expect(await unknown.json()).toEqual({ error: { code: '0x0', message: "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.contact'." } });
  });

  it('rolls back the creates of a failed change set and answers with its own boundaries', async () => {
    const boundary = 'batch_x';
    const changeSet = 'changeset_y';
    const body = [
      `--${boundary}`,
      `Content-Type: multipart/mixed; boundary=${changeSet}`,
      '',
      `--${changeSet}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'POST /api/data/v9.2/contacts HTTP/1.1',
      'Content-Type: application/json',
      '',
      '{"lastname":"kept?"}',
      `--${changeSet}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 2',
      '',
      'PATCH $1 HTTP/1.1',
      'Content-Type: application/json',
      '',
      '{"creditlimit":-1}',
      `--${changeSet}--`,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const response = await call('POST', '$batch', { body, headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}`, Prefer: 'odata.continue-on-error' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/boundary=batchresponse_/);
    const parts = parseBatchResponse(await response.text(), response.headers.get('content-type'));
    expect(parts.map((part) => part.status)).toEqual([400]);
    // OData 4.0 §11.7.4: one top-level application/http part for the whole failed change set.
    expect(parts[0]?.changeSet).toBeUndefined();
    expect(parts[0]?.contentId).toBeUndefined();
    expect(emulator.crm.count('contact')).toBe(0);
  });

  it('stops at the first failure without continue-on-error and refuses more than 1000 parts', async () => {
    const { contentType, body } = buildBatchRequest([
      { method: 'POST', url: '/api/data/v9.2/contacts', headers: { 'Content-Type': 'application/json' }, body: '{"firstname":"no last name"}' },
      { method: 'POST', url: '/api/data/v9.2/contacts', headers: { 'Content-Type': 'application/json' }, body: '{"lastname":"never sent"}' },
    ]);
    const stopped = await call('POST', '$batch', { body, headers: { 'Content-Type': contentType } });
    expect(stopped.status).toBe(400);
    expect(emulator.crm.count('contact')).toBe(0);
    const many = buildBatchRequest(Array.from({ length: 1001 }, () => ({ method: 'DELETE', url: '/api/data/v9.2/contacts(00000000-0000-4000-8000-000000000001)' })));
    expect((await call('POST', '$batch', { body: many.body, headers: { 'Content-Type': many.contentType } })).status).toBe(400);
  });

  it('serves EntityDefinitions with the DateTimeBehavior cast', async () => {
    const response = await call('GET', "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata?$select=LogicalName,DateTimeBehavior");
    const body = (await response.json()) as { value: { LogicalName: string; DateTimeBehavior: { Value: string } }[] };
    expect(Object.fromEntries(body.value.map((item) => [item.LogicalName, item.DateTimeBehavior.Value]))).toMatchObject({
      birthdate: 'DateOnly',
      lastonholdtime: 'UserLocal',
      crm_preferredcalltime: 'TimeZoneIndependent',
      modifiedon: 'UserLocal',
    });
  });

  describe('as strict as Dataverse (issue 18)', () => {
    it('binds $filter literals to column types: quoted date-times, quoted numbers and numbers for text are refused', async () => {
      for (const filter of ["modifiedon ge '2024-01-01T00:00:00Z'", "birthdate eq '2024-01-01'", "numberofchildren eq '5'", 'lastname eq 5', "startswith(numberofchildren,'1')"]) {
        const response = await call('GET', `contacts?$filter=${encodeURIComponent(filter)}`);
        expect(response.status, filter).toBe(400);
        expect(((await response.json()) as { error: { code: string } }).error.code, filter).toBe('0x0');
      }
      for (const filter of ['modifiedon ge 2024-01-01T00:00:00Z', 'birthdate eq 2024-01-01', 'numberofchildren eq 5', "lastname eq 'x'", `contactid eq '${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}'`]) {
        expect((await call('GET', `contacts?$filter=${encodeURIComponent(filter)}`)).status, filter).toBe(200);
      }
    });

    it('refuses unknown $ options (case-sensitive) and $count values, and answers unimplemented options and headers with 501', async () => {
      expect((await call('GET', 'contacts?$Select=lastname')).status).toBe(400);
      expect((await call('GET', 'contacts?$count=yes')).status).toBe(400);
      for (const path of ['contacts?$expand=parentcustomerid_account', 'contacts?$apply=groupby((lastname))', 'contacts?fetchXml=%3Cfetch%2F%3E', 'contacts?$filter=@p1&@p1=true', "EntityDefinitions(LogicalName='contact')?$select=IsActivity", '$metadata', 'contacts?$filter=firstname%20eq%20lastname']) {
        const response = await call('GET', path);
        expect(response.status, path).toBe(501);
        expect(((await response.json()) as { error: { message: string } }).error.message, path).toMatch(/^The Dataverse emulator does not implement/);
      }
      expect((await call('GET', 'contacts', { headers: { CallerObjectId: '00000000-0000-0000-0000-000000000001' } })).status).toBe(501);
      expect((await call('GET', 'contacts', { headers: { 'MSCRM.SuppressDuplicateDetection': 'false' } })).status).toBe(501);
      expect((await call('GET', 'contacts', { headers: { 'MSCRM.SuppressDuplicateDetection': 'true' } })).status).toBe(200);
    });

    it('checks metadata $select and $expand against the attribute type', async () => {
      const base = await call('GET', "EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,MaxLength");
      expect(await base.json()).toEqual({ error: { code: '0x0', message: "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'." } });
      const otherCast = await call('GET', "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=DateTimeBehavior");
      expect(otherCast.status).toBe(400);
      const optionSetOnBase = await call('GET', "EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName&$expand=OptionSet");
      expect(optionSetOnBase.status).toBe(400);
      const choices = await call('GET', "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)");
      expect(((await choices.json()) as { value: { OptionSet?: unknown }[] }).value[0]?.OptionSet).toBeDefined();
      const typo = await call('GET', "EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalNme");
      expect(typo.status).toBe(400);
    });

    it('annotates formatted values per the include-annotations pattern, with exclusions', async () => {
      await call('POST', 'contacts', { body: JSON.stringify({ lastname: 'A', preferredcontactmethodcode: 2, numberofchildren: 1200, birthdate: '2001-02-03' }) });
      const star = await call('GET', 'contacts?$select=preferredcontactmethodcode,numberofchildren,birthdate', { headers: { Prefer: 'odata.include-annotations="*"' } });
      expect(star.headers.get('preference-applied')).toBe('odata.include-annotations="*"');
      expect(((await star.json()) as { value: Record<string, unknown>[] }).value[0]).toMatchObject({
        'preferredcontactmethodcode@OData.Community.Display.V1.FormattedValue': 'Email',
        'numberofchildren@OData.Community.Display.V1.FormattedValue': '1,200',
        'birthdate@OData.Community.Display.V1.FormattedValue': '2/3/2001',
      });
      const none = await call('GET', 'contacts?$select=preferredcontactmethodcode', { headers: { Prefer: 'odata.include-annotations="*,-OData.Community.Display.V1.FormattedValue"' } });
      const row = ((await none.json()) as { value: Record<string, unknown>[] }).value[0] ?? {};
      expect(Object.keys(row).filter((key) => key.includes('FormattedValue'))).toEqual([]);
    });

    it('answers a single GET with If-None-Match on the current ETag with 304, and a missing entity set with 0x8006088a', async () => {
      const created = await call('POST', 'contacts', { body: '{"lastname":"A"}', headers: { Prefer: 'return=representation' } });
      const { contactid } = (await created.json()) as { contactid: string };
      const etag = created.headers.get('etag') ?? '';
      expect((await call('GET', `contacts(${contactid})`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
      expect((await call('GET', `contacts(${contactid})`, { headers: { 'If-None-Match': 'W/"1"' } })).status).toBe(200);
      expect(await (await call('GET', 'Account')).json()).toEqual({ error: { code: '0x8006088a', message: "Resource not found for the segment 'Account'." } });
    });

    it('rolls back the updates and deletes of a failed change set, not only its creates', async () => {
      const keep = await call('POST', 'contacts', { body: '{"lastname":"Kept","firstname":"Old"}', headers: { Prefer: 'return=representation' } });
      const gone = await call('POST', 'contacts', { body: '{"lastname":"Gone"}', headers: { Prefer: 'return=representation' } });
      const keepId = ((await keep.json()) as { contactid: string }).contactid;
      const goneId = ((await gone.json()) as { contactid: string }).contactid;
      const part = (id: number, line: string, body?: string) => [
        '--cs',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        `Content-ID: ${id}`,
        '',
        line,
        'Content-Type: application/json',
        '',
        body ?? '',
      ];
      const body = [
        '--b',
        'Content-Type: multipart/mixed; boundary=cs',
        '',
        ...part(1, `PATCH /api/data/v9.2/contacts(${keepId}) HTTP/1.1`, '{"firstname":"New"}'),
        ...part(2, `DELETE /api/data/v9.2/contacts(${goneId}) HTTP/1.1`),
        ...part(3, 'POST /api/data/v9.2/contacts HTTP/1.1', '{"lastname":"Made"}'),
        ...part(4, 'POST /api/data/v9.2/contacts HTTP/1.1', '{"creditlimit":-1,"lastname":"Bad"}'),
        '--cs--',
        '--b--',
        '',
      ].join('\r\n');
      const response = await call('POST', '$batch', { body, headers: { 'Content-Type': 'multipart/mixed; boundary=b' } });
      expect(response.status).toBe(400);
      expect(emulator.crm.get('contact', keepId)?.values.firstname).toBe('Old');
      expect(emulator.crm.get('contact', goneId)).toBeDefined();
      expect(emulator.crm.records('contact').map((record) => record.values.lastname).sort()).toEqual(['Gone', 'Kept']);
    });

    it('refuses an unknown $select on a tracked query instead of answering nulls', async () => {
      const response = await call('GET', 'contacts?$select=nosuch', { headers: { Prefer: 'odata.track-changes' } });
      expect(response.status).toBe(400);
    });
  });
});
