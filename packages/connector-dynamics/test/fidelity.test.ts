/**
 * Emulator fidelity suite (issue 18): the Dataverse emulator driven by the client libraries
 * applications use — @azure/msal-node for the token, dynamics-web-api for the Web API — through
 * their ordinary APIs, asserting the answers Microsoft documents. A loopback wire tap between
 * dynamics-web-api and the emulator records the headers the library does not surface.
 *
 * Every assertion names the document it follows. Short names used below:
 * - [Entra client credentials]: "Microsoft identity platform and the OAuth 2.0 client credentials flow"
 *   (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
 * - [Compose]: "Compose HTTP requests and handle errors"
 *   (learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors).
 * - [Client errors]: "Troubleshoot Dataverse Web API client errors"
 *   (learn.microsoft.com/troubleshoot/power-platform/dataverse/dataverse-web-api-and-sdk/web-api-client-errors).
 * - [Create]: "Create a table row using the Web API" (.../webapi/create-entity-web-api).
 * - [Update]: "Update and delete table rows using the Web API" (.../webapi/update-delete-entities-using-web-api).
 * - [Conditional]: "Perform conditional operations using the Web API" (.../webapi/perform-conditional-operations-using-web-api).
 * - [Query]: "Query data using the Web API" (.../webapi/query-data-web-api), with its pages
 *   "Filter rows" (.../webapi/query/filter-rows), "Page results" (.../webapi/query/page-results)
 *   and "Count rows" (.../webapi/query/count-rows).
 * - [Formatted values]: "Format values" section of [Query] and [Compose] ("odata.include-annotations").
 * - [Metadata]: "Query schema definitions using the Web API" (.../webapi/query-metadata-web-api),
 *   "Retrieve table definitions by name or MetadataId" (.../webapi/retrieve-metadata-name-metadataid).
 * - [Batch]: "Execute batch operations using the Web API" (.../webapi/execute-batch-operations-using-web-api).
 * - [OData 4.0 Protocol]: OASIS OData Version 4.0 Part 1: Protocol (§8.2.8.4 odata.include-annotations,
 *   §8.3.4 Preference-Applied, §11.7.4 Responding to a Batch Request).
 * - [OData 4.0 URL]: OASIS OData Version 4.0 Part 2: URL Conventions (§5.1.1 built-in filter
 *   operations; Part 2 ABNF: dateTimeOffsetValue is an unquoted literal).
 * - [Limits]: "Service protection API limits" (learn.microsoft.com/power-apps/developer/data-platform/api-limits).
 * - [WhoAmI]: "WhoAmI function" (Web API reference) and "Use Web API functions" (.../webapi/use-web-api-functions).
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import { DynamicsWebApi } from 'dynamics-web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDataverseEmulator, type DataverseEmulator } from '../src/emulator/index.js';
import { startWireTap, type WireTap } from './support/wire-tap.js';

/** What dynamics-web-api rejects with on an HTTP error (its `RequestError`). */
interface RequestError {
  readonly status?: number;
  readonly code?: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

let emulator: DataverseEmulator;
let tap: WireTap;
let msal: ConfidentialClientApplication;
let dwa: DynamicsWebApi;

async function token(): Promise<string> {
  const result = await msal.acquireTokenByClientCredential({ scopes: [`${emulator.url}/.default`] });
  if (result === null) throw new Error('msal returned no token');
  return result.accessToken;
}

/** The error a call rejects with (fails the test when it resolves). */
async function failure(call: Promise<unknown>): Promise<RequestError> {
  try {
    await call;
  } catch (error) {
    return error as RequestError;
  }
  throw new Error('the call succeeded but Dataverse refuses it');
}

beforeAll(async () => {
  emulator = await startDataverseEmulator();
  tap = await startWireTap(emulator.url);
  // Production config would be authority https://login.microsoftonline.com/<tenant> and nothing else;
  // the emulator hands out an https authority msal accepts plus metadata pointing at its token route.
  msal = new ConfidentialClientApplication({
    auth: {
      clientId: emulator.credentials.clientId,
      clientSecret: emulator.credentials.clientSecret!,
      authority: emulator.authority,
      knownAuthorities: [...emulator.knownAuthorities],
      authorityMetadata: emulator.authorityMetadata,
    },
  });
  dwa = new DynamicsWebApi({ serverUrl: tap.url, dataApi: { version: '9.2' }, propagateErrors: true, onTokenRefresh: token });
});
afterAll(async () => {
  await tap.close();
  await emulator.close();
});
beforeEach(() => {
  emulator.crm.reset();
  emulator.faults.clear();
});

describe('token and authentication (msal-node)', () => {
  it('issues a client-credentials token and msal serves the second request from its cache', async () => {
    // [Entra client credentials] "Successful response": token_type Bearer, expires_in, access_token.
    const first = await msal.acquireTokenByClientCredential({ scopes: [`${emulator.url}/.default`], skipCache: true });
    expect(first).toMatchObject({ tokenType: 'Bearer', fromCache: false });
    expect(first?.accessToken).toEqual(expect.any(String));
    const second = await msal.acquireTokenByClientCredential({ scopes: [`${emulator.url}/.default`] });
    expect(second?.fromCache).toBe(true);
  });

  it('answers a request without a valid token with 401, WWW-Authenticate and an empty body', async () => {
    const anonymous = new DynamicsWebApi({ serverUrl: tap.url, dataApi: { version: '9.2' }, propagateErrors: true, onTokenRefresh: async () => 'not-a-token' });
    const error = await failure(anonymous.retrieveMultiple({ collection: 'contacts' }));
    // [Compose] "Identify status codes": 401 for authentication failures; Dataverse sends the
    // authority in WWW-Authenticate (Bearer authorization_uri=...) and no JSON body.
    expect(error.status).toBe(401);
    const wire = tap.last('GET', /\/contacts/);
    expect(wire.headers['www-authenticate']).toMatch(/^Bearer authorization_uri=https:\/\/login\.microsoftonline\.com\/[^/]+\/oauth2\/authorize/);
    expect(wire.body).toBe('');
  });
});

describe('functions', () => {
  it('calls WhoAmI() as dynamics-web-api sends it, with OData-Version 4.0', async () => {
    const who = (await dwa.callFunction('WhoAmI')) as Record<string, unknown>;
    // [WhoAmI] returns WhoAmIResponse: BusinessUnitId, UserId, OrganizationId.
    expect(who).toMatchObject({ BusinessUnitId: expect.any(String), UserId: expect.any(String), OrganizationId: expect.any(String) });
    const wire = tap.last('GET', /WhoAmI/);
    expect(wire.path).toMatch(/WhoAmI\(\)$/);
    // [Compose] "HTTP headers": every response carries OData-Version: 4.0.
    expect(wire.headers['odata-version']).toBe('4.0');
  });

  it('refuses POST on a function with 404 "No HTTP resource was found"', async () => {
    const error = await failure(dwa.callAction({ actionName: 'WhoAmI' }));
    // [Client errors] "No HTTP resource was found that matches the request URI": POST WhoAmI -> 404, code "".
    expect(error.status).toBe(404);
    expect(error.message).toMatch(/^No HTTP resource was found that matches the request URI/);
  });
});

describe('create, update, delete', () => {
  it('creates with 204 and OData-EntityId; with return=representation answers 201 and honours $select', async () => {
    const id = await dwa.create({ collection: 'contacts', data: { firstname: 'Ann', lastname: 'Lee' } });
    // [Create] "Basic create": 204 No Content with the OData-EntityId header (dynamics-web-api returns its id).
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const plain = tap.last('POST', /\/contacts$/);
    expect(plain.status).toBe(204);
    expect(plain.headers['odata-entityid']).toBe(`${emulator.apiBase}contacts(${String(id)})`);

    const created = (await dwa.create({ collection: 'contacts', data: { firstname: 'Bo', lastname: 'Ng' }, returnRepresentation: true, select: ['lastname'] })) as Record<string, unknown>;
    // [Create] "Create with data returned": 201, Preference-Applied: return=representation, the
    // $select-ed columns plus the primary key and @odata.etag, and no OData-EntityId.
    const represented = tap.last('POST', /\/contacts\?\$select=lastname$/);
    expect(represented.status).toBe(201);
    expect(represented.headers['preference-applied']).toBe('return=representation');
    expect(represented.headers['odata-entityid']).toBeUndefined();
    expect(Object.keys(JSON.parse(represented.body) as object).sort()).toEqual(['@odata.context', '@odata.etag', 'contactid', 'lastname']);
    expect(created).toMatchObject({ lastname: 'Ng' });
  });

  it('answers an update with return=representation with 200 and only the $select-ed columns', async () => {
    const id = (await dwa.create({ collection: 'contacts', data: { lastname: 'Lee' } })) as string;
    const updated = (await dwa.update({ collection: 'contacts', key: id, data: { firstname: 'Ann' }, returnRepresentation: true, select: ['firstname'] })) as Record<string, unknown>;
    // [Update] "Update with data returned": 200 with the row; $select limits the columns.
    const wire = tap.last('PATCH', /\/contacts\(/);
    expect(wire.status).toBe(200);
    expect(Object.keys(JSON.parse(wire.body) as object).sort()).toEqual(['@odata.context', '@odata.etag', 'contactid', 'firstname']);
    expect(updated).toMatchObject({ firstname: 'Ann' });
  });

  it('has the primary name column fullname, read-only: composed from first and last name, ignored when sent', async () => {
    const entity = (await dwa.retrieveEntity({ key: "LogicalName='contact'", select: ['PrimaryNameAttribute'] })) as Record<string, unknown>;
    // [Metadata] EntityMetadata.PrimaryNameAttribute of contact is fullname (contact EntityType reference).
    expect(entity.PrimaryNameAttribute).toBe('fullname');
    // Read-only columns sent on a write are ignored, not refused ([Create]: only IsValidForCreate
    // columns are set; fullname is computed from firstname and lastname).
    const id = (await dwa.create({ collection: 'contacts', data: { firstname: 'Ann', lastname: 'Lee', fullname: 'Someone Else', createdon: '2000-01-01T00:00:00Z' } })) as string;
    const row = (await dwa.retrieve({ collection: 'contacts', key: id, select: ['fullname', 'createdon'] })) as Record<string, unknown>;
    expect(row.fullname).toBe('Ann Lee');
    expect(row.createdon).not.toBe('2000-01-01T00:00:00Z');
    await dwa.update({ collection: 'contacts', key: id, data: { lastname: 'Ng', fullname: 'Ignored' } });
    expect(((await dwa.retrieve({ collection: 'contacts', key: id, select: ['fullname'] })) as Record<string, unknown>).fullname).toBe('Ann Ng');
  });

  it('refuses a body property the table does not have, and an undeclared navigation property, with the documented codes', async () => {
    const unknown = await failure(dwa.create({ collection: 'contacts', data: { lastname: 'A', Name: 'x' } }));
    // [Client errors] "Invalid property {property name} was found in entity ...": 400, code 0x0.
    expect(unknown).toMatchObject({ status: 400, code: '0x0' });
    expect(unknown.message).toMatch(/Invalid property 'Name' was found in entity 'Microsoft\.Dynamics\.CRM\.contact'/);
    const navigation = await failure(dwa.create({ collection: 'contacts', data: { lastname: 'A', 'parentcustomerid@odata.bind': `/accounts(${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)})` } }));
    // [Client errors] "Error identified in Payload provided by the user for Entity": 400, code 0x80048d19.
    expect(navigation).toMatchObject({ status: 400, code: '0x80048d19' });
    expect(navigation.message).toMatch(/An undeclared property 'parentcustomerid' which only has property annotations/);
    expect(emulator.crm.records('contact')).toHaveLength(0);
  });

  it('answers If-Match: * on a missing row with 404 0x80040217 and If-None-Match: * on an existing row with 412 0x80040237', async () => {
    const missing = await failure(dwa.update({ collection: 'contacts', key: '00000000-0000-0000-0000-000000000001', data: { lastname: 'x' }, ifmatch: '*' }));
    // [Conditional] "Prevent create in upsert": If-Match: * on a missing row -> 404.
    expect(missing).toMatchObject({ status: 404, code: '0x80040217' });
    const id = (await dwa.create({ collection: 'contacts', data: { lastname: 'Lee' } })) as string;
    const exists = await failure(dwa.upsert({ collection: 'contacts', key: id, data: { lastname: 'x' }, ifnonematch: '*' }));
    // [Conditional] "Prevent update in upsert": If-None-Match: * on an existing row -> 412.
    expect(exists).toMatchObject({ status: 412, code: '0x80040237' });
  });

  it('deletes with 204 and answers a missing row with 404 0x80040217', async () => {
    const id = (await dwa.create({ collection: 'contacts', data: { lastname: 'Lee' } })) as string;
    await dwa.deleteRecord({ collection: 'contacts', key: id });
    // [Update] "Basic delete": 204 No Content.
    expect(tap.last('DELETE', /\/contacts\(/).status).toBe(204);
    const again = await failure(dwa.deleteRecord({ collection: 'contacts', key: id }));
    expect(again).toMatchObject({ status: 404, code: '0x80040217' });
  });
});

describe('queries', () => {
  beforeEach(async () => {
    for (const [firstname, lastname, method] of [
      ['Ann', 'Lee', 2],
      ['Bo', 'Ng', 3],
      ['Cy', 'Oh', 1],
    ] as const) {
      await dwa.create({ collection: 'contacts', data: { firstname, lastname, preferredcontactmethodcode: method, creditlimit: 1234.5, donotemail: false } });
    }
  });

  it('filters a DateTimeOffset column with an unquoted literal and refuses a quoted one as incompatible operand types', async () => {
    const rows = await dwa.retrieveMultiple({ collection: 'contacts', select: ['lastname'], filter: 'modifiedon ge 2000-01-01T00:00:00Z' });
    // [Query] "Filter rows": date-time literals are unquoted ([OData 4.0 URL] ABNF dateTimeOffsetValue).
    expect(rows.value).toHaveLength(3);
    const quoted = await failure(dwa.retrieveMultiple({ collection: 'contacts', select: ['lastname'], filter: "modifiedon ge '2000-01-01T00:00:00Z'" }));
    // [OData 4.0 URL] §5.1.1: comparison operands must have compatible types; Dataverse answers 400
    // "A binary operator with incompatible types was detected ..." (the OData library's message).
    expect(quoted.status).toBe(400);
    expect(quoted.message).toBe("A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThanOrEqual'.");
  });

  it('refuses an unknown column in $select and in $filter with "Could not find a property named", even when no row matches', async () => {
    const select = await failure(dwa.retrieveMultiple({ collection: 'contacts', select: ['Name'] }));
    // [Client errors] "Could not find a property named '{property name}' on type ...": 400, code 0x0.
    expect(select).toMatchObject({ status: 400, code: '0x0', message: "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.contact'." });
    const filter = await failure(dwa.retrieveMultiple({ collection: 'leads', filter: "nosuch eq 'x'" }));
    expect(filter).toMatchObject({ status: 400, message: "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.lead'." });
  });

  it('answers an unknown entity set with 404 0x8006088a "Resource not found for the segment"', async () => {
    // (dynamics-web-api lower-cases collection names, so the doc's 'Account' example becomes a name that does not exist.)
    const error = await failure(dwa.retrieveMultiple({ collection: 'contactz' }));
    // [Client errors] "Resource not found for the segment": 404, code 0x8006088a.
    expect(error).toMatchObject({ status: 404, code: '0x8006088a', message: "Resource not found for the segment 'contactz'." });
  });

  it('returns @odata.count with $count=true, and the number alone from /$count', async () => {
    const page = await dwa.retrieveMultiple({ collection: 'contacts', select: ['lastname'], count: true, filter: "lastname ne 'Oh'" });
    // [Query] "Count rows": $count=true adds @odata.count (dynamics-web-api exposes it as oDataCount).
    expect(page.oDataCount).toBe(2);
    expect(tap.last('GET', /\$count=true/).body).toContain('"@odata.count":2');
    // [Query] "Count rows": GET <entityset>/$count answers the number as text.
    expect(await dwa.count({ collection: 'contacts' })).toBe(3);
  });

  it('returns formatted values when odata.include-annotations asks, and says so in Preference-Applied', async () => {
    const page = await dwa.retrieveMultiple({
      collection: 'contacts',
      select: ['lastname', 'preferredcontactmethodcode', 'creditlimit', 'donotemail', 'modifiedon'],
      filter: "lastname eq 'Lee'",
      includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
    });
    // [Formatted values]: <column>@OData.Community.Display.V1.FormattedValue carries the choice label,
    // the currency and Yes/No texts (dynamics-web-api maps them to <column>_Formatted).
    expect(page.value[0]).toMatchObject({
      preferredcontactmethodcode: 2,
      preferredcontactmethodcode_Formatted: 'Email',
      creditlimit_Formatted: '$1,234.50',
      donotemail_Formatted: 'No',
      modifiedon_Formatted: expect.stringMatching(/^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2} (AM|PM)$/),
    });
    expect(page.value[0]).not.toHaveProperty('lastname_Formatted');
    // [OData 4.0 Protocol] §8.3.4 / [Compose] "Prefer headers": the server lists applied preferences.
    expect(tap.last('GET', /lastname%20eq%20%27Lee%27/).headers['preference-applied']).toBe('odata.include-annotations="OData.Community.Display.V1.FormattedValue"');
    // Without the preference no annotation is sent ([OData 4.0 Protocol] §8.2.8.4).
    const plain = await dwa.retrieveMultiple({ collection: 'contacts', select: ['preferredcontactmethodcode'], top: 1 });
    expect(Object.keys(plain.value[0] as object).some((key) => key.endsWith('_Formatted'))).toBe(false);
  });

  it('pages with odata.maxpagesize, Preference-Applied and @odata.nextLink; retrieveAll follows the links', async () => {
    const first = await dwa.retrieveMultiple({ collection: 'contacts', select: ['lastname'], maxPageSize: 2 });
    // [Query] "Page results": at most maxpagesize rows, an @odata.nextLink, Preference-Applied: odata.maxpagesize=2.
    expect(first.value).toHaveLength(2);
    expect(first.oDataNextLink).toMatch(/\$skiptoken=/);
    expect(tap.last('GET', /\/contacts\?/).headers['preference-applied']).toBe('odata.maxpagesize=2');
    const all = await dwa.retrieveAll({ collection: 'contacts', select: ['lastname'], maxPageSize: 2 });
    expect(all.value.map((row) => (row as { lastname: string }).lastname).sort()).toEqual(['Lee', 'Ng', 'Oh']);
  });

  it('answers a query option it does not implement with an explicit 501 error, never by ignoring it', async () => {
    const expand = await failure(dwa.retrieveMultiple({ collection: 'contacts', select: ['lastname'], expand: [{ property: 'parentcustomerid_account' }] }));
    // Dataverse supports $expand ([Query] "Join tables"); the emulator says it does not, in the
    // Dataverse error shape ([Compose] "Parse errors from the response"), with HTTP 501 ([Compose] status table: Not Implemented).
    expect(expand.status).toBe(501);
    expect(expand.message).toMatch(/emulator does not implement the query option '\$expand'/);
    const between = await failure(dwa.retrieveMultiple({ collection: 'contacts', filter: "Microsoft.Dynamics.CRM.Between(PropertyName='numberofchildren',PropertyValues=[\"1\",\"2\"])" }));
    expect(between.status).toBe(501);
  });
});

describe('metadata', () => {
  it('refuses a derived property selected on base AttributeMetadata, serves it through the cast, and keeps derived properties without $select', async () => {
    const base = await failure(dwa.retrieveAttributes({ entityKey: "LogicalName='contact'", select: ['LogicalName', 'DateTimeBehavior'] }));
    // [Metadata] "Retrieving attributes": type-specific properties need a cast; on the base type
    // Dataverse answers 400 "Could not find a property named 'DateTimeBehavior' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'".
    expect(base).toMatchObject({ status: 400, message: "Could not find a property named 'DateTimeBehavior' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'." });
    const maxLength = await failure(dwa.retrieveEntity({ key: "LogicalName='contact'", select: ['LogicalName'], expand: [{ property: 'Attributes', select: ['LogicalName', 'MaxLength'] }] }));
    expect(maxLength).toMatchObject({ status: 400, message: "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'." });

    const cast = await dwa.retrieveAttributes({ entityKey: "LogicalName='contact'", castType: 'Microsoft.Dynamics.CRM.DateTimeAttributeMetadata', select: ['LogicalName', 'DateTimeBehavior'] });
    // [Metadata] and "Behavior and format of the date and time column": DateTimeBehavior.Value per column.
    expect(cast.value).toContainEqual(expect.objectContaining({ LogicalName: 'birthdate', DateTimeBehavior: { Value: 'DateOnly' } }));
    expect(cast.value).toContainEqual(expect.objectContaining({ LogicalName: 'crm_preferredcalltime', DateTimeBehavior: { Value: 'TimeZoneIndependent' } }));

    const all = await dwa.retrieveAttributes({ entityKey: "LogicalName='contact'" });
    // Without $select each attribute is returned with its derived type's properties (@odata.type says which).
    expect(all.value).toContainEqual(expect.objectContaining({ '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata', LogicalName: 'emailaddress1', MaxLength: 100 }));
    expect(all.value).toContainEqual(expect.objectContaining({ LogicalName: 'modifiedon', DateTimeBehavior: { Value: 'UserLocal' } }));
    expect(all.value).toContainEqual(expect.objectContaining({ LogicalName: 'fullname', IsValidForCreate: false, IsValidForUpdate: false, IsPrimaryName: true }));
  });
});

describe('$batch', () => {
  it('answers a change set that succeeds with Location and OData-EntityId on each part', async () => {
    dwa.startBatch();
    void dwa.create({ collection: 'contacts', data: { lastname: 'A' } });
    void dwa.create({ collection: 'contacts', data: { lastname: 'B' } });
    const results = await dwa.executeBatch();
    // [Batch] "Change sets" response sample: each part 204 with Location and OData-EntityId.
    expect(results).toHaveLength(2);
    for (const id of results) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const wire = tap.last('POST', /\$batch$/);
    expect(wire.status).toBe(200);
    expect(wire.body.match(/^Location: /gm)).toHaveLength(2);
    expect(wire.body.match(/^OData-EntityId: /gm)).toHaveLength(2);
    expect(wire.body).toMatch(/--changesetresponse_/);
  });

  it('answers a change set that fails with one top-level application/http error part and writes nothing', async () => {
    dwa.startBatch();
    void dwa.create({ collection: 'contacts', data: { lastname: 'A' } }).catch(() => undefined);
    void dwa.create({ collection: 'contacts', data: { lastname: 'B', Name: 'x' } }).catch(() => undefined);
    const error = (await failure(dwa.executeBatch())) as unknown as RequestError[] | RequestError;
    const errors = Array.isArray(error) ? error : [error];
    // [OData 4.0 Protocol] §11.7.4: a failed change set is answered by a single response for the
    // whole change set; [Batch] "Handling errors": without continue-on-error the batch answers 400.
    expect(errors).toHaveLength(1);
    // (dynamics-web-api keeps the part's Dataverse error body under `error`.)
    expect(errors[0]).toMatchObject({ status: 400, error: { code: '0x0', message: expect.stringMatching(/Invalid property 'Name'/) } });
    const wire = tap.last('POST', /\$batch$/);
    expect(wire.status).toBe(400);
    expect(wire.body).not.toMatch(/changesetresponse_/);
    expect(wire.body.match(/^Content-Type: application\/http/gm)).toHaveLength(1);
    expect(emulator.crm.records('contact')).toHaveLength(0);
  });
});

describe('service protection', () => {
  it('answers 429 with Retry-After and the documented code', async () => {
    emulator.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 7, match: { path: 'contacts' } });
    const error = await failure(dwa.retrieveMultiple({ collection: 'contacts', select: ['lastname'] }));
    // [Limits] "Retry operations": 429 Too Many Requests with Retry-After (seconds), code 0x80072322
    // "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
    expect(error).toMatchObject({ status: 429, code: '0x80072322' });
    expect(tap.last('GET', /\/contacts/).headers['retry-after']).toBe('7');
  });
});
