/**
 * Fidelity suite: the emulator driven by a client nobody here wrote (jsforce 3.10.16, through its
 * ordinary APIs), asserting the answers Salesforce documents. Each assertion names the vendor
 * document (title / section) it follows; where the exact wording is not in a document, the
 * comment says "observed" (seen in answers of real orgs) rather than "documented".
 *
 * Where jsforce hides what is asserted (response headers, the `OAuth` authorization scheme it never
 * sends), the test uses `fetch` with the same token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSalesforceEmulator, type SalesforceEmulator } from '../src/emulator/index.js';

// jsforce reads the proxy variables when it loads; loopback must not go through a proxy.
process.env.https_proxy = '';
const { Connection } = await import('@jsforce/jsforce-node');
type Conn = InstanceType<typeof Connection>;

const VERSION = '62.0';
let emulator: SalesforceEmulator;
let conn: Conn;
let token: string;

beforeAll(async () => {
  // A fixed clock: the feed test moves it by hand.
  emulator = await startSalesforceEmulator({ fixedClock: true });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.crm.reset();
  emulator.faults.clear();
  token = emulator.issueAccessToken();
  conn = new Connection({ instanceUrl: emulator.url, accessToken: token, version: VERSION });
});

/** The error jsforce throws, with Salesforce's errorCode and message. */
async function failure(promise: PromiseLike<unknown>): Promise<{ errorCode: string; message: string; name: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { errorCode: string; message: string; name: string };
  }
  throw new Error('expected the call to fail');
}

interface SaveResult {
  id?: string;
  success: boolean;
  errors: { statusCode?: string; message: string; fields?: string[] }[];
}

const contactCount = (): number => emulator.crm.count('Contact');

describe('versions and authorization', () => {
  it('lists the versions with their release labels, unauthenticated', async () => {
    // REST API Developer Guide, "Versions" / "List Available REST API Versions": GET /services/data/
    // needs no authentication and answers [{ label: "Winter '25", url: "/services/data/v62.0", version: "62.0" }, ...].
    const answer = await fetch(`${emulator.url}/services/data/`);
    expect(answer.status).toBe(200);
    const versions = (await answer.json()) as { label: string; url: string; version: string }[];
    expect(versions[0]).toEqual({ label: "Summer '14", url: '/services/data/v31.0', version: '31.0' });
    expect(versions).toContainEqual({ label: "Summer '19", url: '/services/data/v46.0', version: '46.0' });
    expect(versions.at(-1)).toEqual({ label: "Winter '25", url: '/services/data/v62.0', version: '62.0' });
    // Same list through jsforce's ordinary request API.
    expect(await conn.request<unknown[]>('/services/data/')).toEqual(versions);
  });

  it('answers 404 NOT_FOUND for a version it does not serve, and resolves the latest alias', async () => {
    // REST API Developer Guide, "Status Codes and Error Responses": 404, the requested resource couldn't be found.
    const future = new Connection({ instanceUrl: emulator.url, accessToken: token, version: '99.0' });
    const error = await failure(future.query('SELECT Id FROM Contact'));
    expect(error.errorCode).toBe('NOT_FOUND');
    const answer = await fetch(`${emulator.url}/services/data/v99.0/sobjects`, { headers: { Authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(404);
    // REST API Developer Guide, "Versions": "latest" in the URI resolves to the most recent version.
    const latest = await fetch(`${emulator.url}/services/data/latest/limits`, { headers: { Authorization: `Bearer ${token}` } });
    expect(latest.status).toBe(200);
  });

  it('accepts "Authorization: OAuth <token>" like "Bearer <token>", and refuses a bad token with 401 INVALID_SESSION_ID', async () => {
    // REST API Developer Guide (cURL examples of older releases send -H "Authorization: OAuth token"; both schemes are accepted).
    const oauth = await fetch(`${emulator.url}/services/data/v${VERSION}/limits`, { headers: { Authorization: `OAuth ${token}` } });
    expect(oauth.status).toBe(200);
    // REST API Developer Guide, "Status Codes and Error Responses": 401, the session ID or OAuth token has expired or is invalid.
    const bad = new Connection({ instanceUrl: emulator.url, accessToken: 'not-a-token', version: VERSION });
    expect((await failure(bad.query('SELECT Id FROM Contact'))).errorCode).toBe('INVALID_SESSION_ID');
  });

  it('sends Sforce-Limit-Info on REST answers, which jsforce reads into limitInfo', async () => {
    // REST API Developer Guide, "Limit Info Header": Sforce-Limit-Info: api-usage=n/m on every REST response.
    await conn.query('SELECT Id FROM Contact');
    expect(conn.limitInfo.apiUsage).toEqual({ used: emulator.apiCalls, limit: 15_000_000 });
  });

  it('answers a rate-limit fault with 429 and Retry-After (a scripted fault, not a Salesforce default)', async () => {
    // RFC 9110 §10.2.3 Retry-After. Salesforce's documented REST limits answer is 403 REQUEST_LIMIT_EXCEEDED
    // (REST API Developer Guide, "Status Codes and Error Responses"); the 429 is the emulator's fault knob.
    emulator.faults.add({ kind: 'rate-limit', route: 'limits', retryAfter: '7' });
    const answer = await fetch(`${emulator.url}/services/data/v${VERSION}/limits`, { headers: { Authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('7');
    expect(await answer.json()).toEqual([expect.objectContaining({ errorCode: 'REQUEST_LIMIT_EXCEEDED' })]);
    emulator.faults.add({ kind: 'request-limit', route: 'query' });
    // REST API Developer Guide, "Status Codes and Error Responses": 403 REQUEST_LIMIT_EXCEEDED.
    expect((await failure(conn.query('SELECT Id FROM Contact'))).errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
  });
});

describe('metadata', () => {
  // jsforce 3.10.16 lib/types/common.d.ts, DescribeGlobalSObjectResult / Field / RecordTypeInfo, which
  // follow SOAP API Developer Guide "describeGlobal()", "describeSObjects(): Field", "RecordTypeInfo".
  const GLOBAL_KEYS = 'activateable createable custom customSetting deepCloneable deletable deprecatedAndHidden feedEnabled hasSubtypes idEnabled isInterface isSubtype keyPrefix label labelPlural layoutable mergeable mruEnabled name queryable replicateable retrieveable searchable triggerable undeletable updateable urls'.split(' ');
  const FIELD_KEYS =
    'aggregatable autoNumber byteLength calculated calculatedFormula cascadeDelete caseSensitive compoundFieldName controllerName createable custom defaultValue defaultValueFormula defaultedOnCreate dependentPicklist deprecatedAndHidden digits displayLocationInDecimal encrypted externalId extraTypeInfo filterable filteredLookupInfo groupable highScaleNumber htmlFormatted idLookup inlineHelpText label length mask maskType name nameField namePointing nillable permissionable picklistValues precision queryByDistance referenceTargetField referenceTo relationshipName relationshipOrder restrictedDelete restrictedPicklist scale soapType sortable type unique updateable writeRequiresMasterRead'.split(
      ' ',
    );
  const DESCRIBE_KEYS = 'actionOverrides childRelationships compactLayoutable fields listviewable lookupLayoutable namedLayoutInfos networkScopeFieldName recordTypeInfos searchLayoutable supportedScopes'.split(' ');

  it('describeGlobal carries every documented key of every object', async () => {
    // REST API Developer Guide, "Describe Global": encoding, maxBatchSize, sobjects[].
    const global = await conn.describeGlobal();
    expect(global).toMatchObject({ encoding: 'UTF-8', maxBatchSize: 200 });
    for (const sobject of global.sobjects) for (const key of GLOBAL_KEYS) expect(sobject, `${sobject.name}.${key}`).toHaveProperty(key);
  });

  it('describe carries every documented field key, cascadeDelete and inlineHelpText included, and the Master record type', async () => {
    // REST API Developer Guide, "sObject Describe"; SOAP API Developer Guide, "DescribeSObjectResult", "Field", "RecordTypeInfo".
    const contact = await conn.describe('Contact');
    for (const key of [...GLOBAL_KEYS, ...DESCRIBE_KEYS]) expect(contact, key).toHaveProperty(key);
    for (const field of contact.fields) for (const key of FIELD_KEYS) expect(field, `${field.name}.${key}`).toHaveProperty(key);
    const accountId = contact.fields.find((f) => f.name === 'AccountId')!;
    expect(accountId).toMatchObject({ type: 'reference', cascadeDelete: false, inlineHelpText: null, referenceTo: ['Account'], relationshipName: 'Account' });
    const master = contact.recordTypeInfos.find((info) => info.master);
    expect(master).toMatchObject({ name: 'Master', developerName: 'Master', recordTypeId: '012000000000000AAA', available: true, defaultRecordTypeMapping: true, active: true });
  });

  it('GET /sobjects/{type} answers the basic information: objectDescribe and recentItems', async () => {
    // REST API Developer Guide, "sObject Basic Information" / "Get Metadata for an Object".
    const info = await conn.request<{ objectDescribe: Record<string, unknown>; recentItems: unknown[] }>('/sobjects/Account');
    expect(info.objectDescribe).toMatchObject({ name: 'Account', keyPrefix: '001', replicateable: true, retrieveable: true, undeletable: true, triggerable: true });
    expect(info.recentItems).toEqual([]);
  });
});

describe('SOQL', () => {
  it('refuses a quoted date-time literal with INVALID_FIELD, in the vendor layout', async () => {
    // SOQL and SOSL Reference, "Date Formats and Date Literals": a dateTime value in a WHERE clause is not enclosed in quotes.
    const soql = "SELECT Id FROM Contact WHERE SystemModstamp >= '2000-01-01T00:00:00Z'";
    const error = await failure(conn.query(soql));
    expect(error.errorCode).toBe('INVALID_FIELD');
    // Observed layout of Salesforce's query errors: the query, a caret line, ERROR at Row:1:Column:N, the reason.
    expect(error.message).toBe(
      `\n${soql}\n${' '.repeat(47)}^\nERROR at Row:1:Column:48\nvalue of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes`,
    );
  });

  it('refuses a quoted date literal, and a date literal against a date-time field, with INVALID_FIELD', async () => {
    // SOQL and SOSL Reference, "Date Formats and Date Literals": date literals unquoted; a date-time field takes a date-time literal.
    expect((await failure(conn.query("SELECT Id FROM Contact WHERE Birthdate = '2001-02-03'"))).errorCode).toBe('INVALID_FIELD');
    expect((await failure(conn.query('SELECT Id FROM Contact WHERE CreatedDate > 2001-02-03'))).message).toContain("must be of type dateTime and should not be enclosed in quotes");
    // The unquoted forms work.
    expect((await conn.query('SELECT Id FROM Contact WHERE Birthdate = 2001-02-03 AND CreatedDate > 2001-02-03T00:00:00Z')).totalSize).toBe(0);
  });

  it('refuses AND and OR mixed at one level without parentheses: MALFORMED_QUERY unexpected token', async () => {
    // SOQL and SOSL Reference, "Condition Expression Syntax (WHERE Clause)": parentheses define the order when AND and OR are mixed.
    const soql = "SELECT Id FROM Contact WHERE LastName = 'a' AND FirstName = 'b' OR Email = null";
    const error = await failure(conn.query(soql));
    expect(error.errorCode).toBe('MALFORMED_QUERY');
    const column = soql.indexOf(' OR ') + 2;
    expect(error.message).toBe(`\n${soql}\n${' '.repeat(column - 1)}^\nERROR at Row:1:Column:${column}\nunexpected token: 'OR'`);
    // With parentheses it runs; NOT IN and NOT are not mistaken for a mix.
    emulator.crm.insert('Contact', { LastName: 'a', FirstName: 'b' });
    expect((await conn.query("SELECT Id FROM Contact WHERE (LastName = 'a' AND FirstName = 'b') OR Email = null")).totalSize).toBe(1);
    expect((await conn.query("SELECT Id FROM Contact WHERE LastName NOT IN ('x') AND (NOT FirstName = 'c')")).totalSize).toBe(1);
  });

  it('answers unknown columns and objects in the vendor layout with the column of the token', async () => {
    // Observed layout (REST API Developer Guide, "Status Codes and Error Responses" shows only errorCode/message).
    const soql = 'SELECT Id, Nope__c FROM Contact';
    const error = await failure(conn.query(soql));
    expect(error.errorCode).toBe('INVALID_FIELD');
    expect(error.message).toMatch(/^\nSELECT Id, Nope__c FROM Contact\n {11}\^\nERROR at Row:1:Column:12\nNo such column 'Nope__c' on entity 'Contact'\./);
    const type = await failure(conn.query('SELECT Id FROM Nope__c'));
    expect(type.errorCode).toBe('INVALID_TYPE');
    expect(type.message).toContain('ERROR at Row:1:Column:16\nsObject type \'Nope__c\' is not supported.');
    const malformed = await failure(conn.query('SELECT Id FRM Contact'));
    expect(malformed.errorCode).toBe('MALFORMED_QUERY');
    expect(malformed.message).toMatch(/ERROR at Row:1:Column:\d+\nunexpected token: /);
  });

  it('SELECT COUNT() answers the count in totalSize with no records', async () => {
    // SOQL and SOSL Reference, "COUNT()": returns the number of rows; the REST answer carries it in totalSize.
    for (let n = 0; n < 5; n += 1) emulator.crm.insert('Contact', { LastName: `L${n}`, Score__c: n });
    const result = await conn.query('SELECT COUNT() FROM Contact WHERE Score__c >= 2');
    expect(result).toMatchObject({ totalSize: 3, done: true, records: [] });
    expect(await conn.sobject('Contact').count()).toBe(5);
  });
});

describe('writes', () => {
  it('refuses a single create whose date does not deserialize: 400 JSON_PARSER_ERROR, nothing written', async () => {
    // REST API Developer Guide, "Status Codes and Error Responses": 400, the JSON body contains an error.
    const error = await failure(conn.sobject('Contact').create({ LastName: 'Bad', Birthdate: '2024-13-40' }));
    expect(error.errorCode).toBe('JSON_PARSER_ERROR');
    expect(error.message).toContain('2024-13-40');
    expect(contactCount()).toBe(0);
  });

  it('fails the whole collection when one record does not deserialize: nothing written', async () => {
    // REST API Developer Guide, "sObject Collections": a malformed request fails as a whole with a top-level error.
    const error = await failure(
      conn.sobject('Contact').create([{ LastName: 'Good1' }, { LastName: 'Bad', Birthdate: '2024-13-40' }, { LastName: 'Good2' }]),
    );
    expect(error.errorCode).toBe('JSON_PARSER_ERROR');
    expect(contactCount()).toBe(0);
  });

  it('validates standard email fields: INVALID_EMAIL_ADDRESS for "not-an-email" and "a@b"', async () => {
    // SOAP API Developer Guide, "Core Data Types Used in API Calls" (email) and StatusCode INVALID_EMAIL_ADDRESS.
    const results = (await conn.sobject('Contact').create([
      { LastName: 'A', Email: 'not-an-email' },
      { LastName: 'B', Email: 'a@b' },
      { LastName: 'C', Email: 'c@example.com' },
    ])) as SaveResult[];
    expect(results.map((r) => r.success)).toEqual([false, false, true]);
    expect(results[0]!.errors[0]).toMatchObject({ statusCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'] });
    expect(results[1]!.errors[0]).toMatchObject({ statusCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'] });
    // A single create gets the same code as a 400.
    expect((await failure(conn.sobject('Contact').create({ LastName: 'D', Email: 'a@b' }))).errorCode).toBe('INVALID_EMAIL_ADDRESS');
  });

  it('answers a collection update of a well-formed id that does not exist with per-record INVALID_CROSS_REFERENCE_KEY', async () => {
    // REST API Developer Guide, "sObject Collections: Update Records": per-record errors with statusCode in a 200 answer.
    const created = (await conn.sobject('Contact').create({ LastName: 'Live' })) as SaveResult;
    const results = (await conn.sobject('Contact').update([
      { Id: '003000000000001AAA', LastName: 'Ghost' },
      { Id: created.id!, LastName: 'Live2' },
    ])) as SaveResult[];
    expect(results[0]).toMatchObject({ success: false, errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY' }] });
    expect(results[1]).toMatchObject({ success: true, id: created.id });
  });

  it('rolls a collection back with allOrNone: true and marks the others ALL_OR_NONE_OPERATION_ROLLED_BACK', async () => {
    // REST API Developer Guide, "sObject Collections" (allOrNone); SOAP API Developer Guide, "AllOrNoneHeader".
    const results = (await conn.sobject('Contact').create([{ LastName: 'Good' }, { FirstName: 'NoLastName' }], { allOrNone: true })) as SaveResult[];
    expect(results[0]).toMatchObject({ success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' }] });
    expect(results[1]).toMatchObject({ success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }] });
    expect(contactCount()).toBe(0);
    // Updates roll back too: the first record keeps its name.
    const ok = (await conn.sobject('Contact').create([{ LastName: 'One' }, { LastName: 'Two' }], { allOrNone: true })) as SaveResult[];
    expect(ok.every((r) => r.success)).toBe(true);
    const update = (await conn.sobject('Contact').update([{ Id: ok[0]!.id!, LastName: 'Changed' }, { Id: ok[1]!.id!, Email: 'a@b' }], { allOrNone: true })) as SaveResult[];
    expect(update.map((r) => r.errors[0]?.statusCode)).toEqual(['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'INVALID_EMAIL_ADDRESS']);
    expect(emulator.crm.get('Contact', ok[0]!.id!)?.values.LastName).toBe('One');
    // And deletes: `allOrNone=true` in the query string.
    const destroyed = (await conn.sobject('Contact').destroy([ok[0]!.id!, '003000000000002AAA'], { allOrNone: true })) as SaveResult[];
    expect(destroyed[0]).toMatchObject({ success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' }] });
    expect(contactCount()).toBe(2);
  });

  it('returns only the fields named in ?fields= on a single-record GET', async () => {
    // REST API Developer Guide, "sObject Rows": GET /sobjects/{type}/{id}?fields=... returns those fields.
    const created = (await conn.sobject('Contact').create({ LastName: 'Only', FirstName: 'These' })) as SaveResult;
    const record = (await conn.sobject('Contact').retrieve(created.id!, { fields: ['LastName', 'FirstName'] })) as Record<string, unknown>;
    expect(Object.keys(record).sort()).toEqual(['FirstName', 'LastName', 'attributes']);
    expect(record).toMatchObject({ LastName: 'Only', FirstName: 'These' });
    expect((await failure(conn.sobject('Contact').retrieve(created.id!, { fields: ['Nope__c'] }))).errorCode).toBe('INVALID_FIELD');
  });

  it('stores an empty text as null, as Salesforce does', async () => {
    // Observed on Salesforce orgs (SOAP API Developer Guide, "Core Data Types": empty strings are not stored; use fieldsToNull / null).
    const created = (await conn.sobject('Contact').create({ LastName: 'Empty', FirstName: '' })) as SaveResult;
    const record = (await conn.sobject('Contact').retrieve(created.id!)) as Record<string, unknown>;
    expect(record.FirstName).toBeNull();
  });

  it('answers single create 201, update 204 and delete 204 with jsforce results, and a missing record 404 NOT_FOUND', async () => {
    // REST API Developer Guide, "sObject Rows" and "Create a Record": 201 {id, success, errors}; PATCH and DELETE 204.
    const created = (await conn.sobject('Contact').create({ LastName: 'Row' })) as SaveResult;
    expect(created).toMatchObject({ success: true, errors: [] });
    expect(await conn.sobject('Contact').update({ Id: created.id!, LastName: 'Row2' })).toMatchObject({ id: created.id, success: true });
    expect(await conn.sobject('Contact').destroy(created.id!)).toMatchObject({ id: created.id, success: true });
    // "Status Codes and Error Responses": 404 for a record that does not exist; a recycle-binned one is ENTITY_IS_DELETED (observed).
    expect((await failure(conn.sobject('Contact').retrieve('003000000000003AAA'))).errorCode).toBe('NOT_FOUND');
    expect((await failure(conn.sobject('Contact').destroy(created.id!))).errorCode).toBe('ENTITY_IS_DELETED');
  });
});

describe('more refusals and feeds', () => {
  it('refuses a body that is not JSON, an Id in a create body, a bad picklist value and a malformed id', async () => {
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const base = `${emulator.url}/services/data/v${VERSION}`;
    // REST API Developer Guide, "Status Codes and Error Responses": 400, the JSON body contains an error.
    const notJson = await fetch(`${base}/sobjects/Contact`, { method: 'POST', headers, body: '{"LastName":' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual([expect.objectContaining({ errorCode: 'JSON_PARSER_ERROR' })]);
    // REST API Developer Guide, "Create a Record": an Id in the body is INVALID_FIELD.
    const withId = await fetch(`${base}/sobjects/Contact`, { method: 'POST', headers, body: JSON.stringify({ Id: '003000000000001AAA', LastName: 'x' }) });
    expect(withId.status).toBe(400);
    expect(await withId.json()).toEqual([expect.objectContaining({ errorCode: 'INVALID_FIELD', message: 'The Id field should not be specified in the sobject data.' })]);
    // SOAP API Developer Guide, StatusCode: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, MALFORMED_ID.
    expect((await failure(conn.sobject('Contact').create({ LastName: 'P', LeadSource: 'Nope' }))).errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    const deleted = (await conn.sobject('Contact').destroy(['not-an-id', '003000000000001AAA'])) as SaveResult[];
    expect(deleted.map((r) => r.errors[0]?.statusCode)).toEqual(['MALFORMED_ID', 'INVALID_CROSS_REFERENCE_KEY']);
  });

  it('refuses a query locator it never issued with INVALID_QUERY_LOCATOR', async () => {
    // SOAP API Developer Guide, "queryMore()" / QueryLocator: an invalid or expired locator is INVALID_QUERY_LOCATOR.
    expect((await failure(conn.queryMore('01gEMU000000000099-2000'))).errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('serves getUpdated and getDeleted through jsforce', async () => {
    // REST API Developer Guide, "Get Updated Records" / "Get Deleted Records": ids / deletedRecords with latestDateCovered.
    const now = emulator.crm.clock.now().getTime();
    const start = new Date(now - 10 * 60_000);
    const created = emulator.crm.insert('Contact', { LastName: 'Feed' });
    const gone = emulator.crm.insert('Contact', { LastName: 'Gone' });
    if (!created.ok || !gone.ok) throw new Error('seed failed');
    emulator.crm.delete('Contact', gone.id);
    (emulator.crm.clock as unknown as { advance(ms: number): void }).advance(2 * 60_000);
    const end = new Date(now + 2 * 60_000);
    const updated = await conn.sobject('Contact').updated(start.toISOString(), end.toISOString());
    expect(updated.ids).toContain(created.id);
    expect(updated.latestDateCovered).toMatch(/\+0000$/);
    const deleted = await conn.sobject('Contact').deleted(start.toISOString(), end.toISOString());
    expect(deleted.deletedRecords.map((r) => r.id)).toEqual([gone.id]);
    expect(deleted).toHaveProperty('earliestDateAvailable');
  });
});

describe('unsupported: answered with an explicit error, never silently', () => {
  it('answers resources it does not implement with 404 NOT_FOUND naming the emulator', async () => {
    // REST API Developer Guide, "Status Codes and Error Responses": 404 NOT_FOUND; the message says what is not emulated.
    const error = await failure(conn.request({ method: 'POST', url: '/composite', body: JSON.stringify({ compositeRequest: [] }), headers: { 'Content-Type': 'application/json' } }));
    expect(error.errorCode).toBe('NOT_FOUND');
    expect(error.message).toContain('the crm-sync Salesforce emulator does not implement POST /services/data/v62.0/composite');
  });

  it('answers SOQL it does not evaluate with MALFORMED_QUERY naming the emulator', async () => {
    // SOQL and SOSL Reference ("Relationship Queries", "GROUP BY", "Date Formats and Date Literals") documents these;
    // the emulator does not evaluate them and says so in a MALFORMED_QUERY, never by answering rows.
    for (const soql of ['SELECT Id, Account.Name FROM Contact', 'SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName', 'SELECT Id FROM Contact WHERE CreatedDate = TODAY']) {
      const error = await failure(conn.query(soql));
      expect(error.errorCode, soql).toBe('MALFORMED_QUERY');
      expect(error.message, soql).toMatch(/ERROR at Row:1:Column:\d+\n.*(crm-sync emulator|unexpected token)/);
    }
  });
});
