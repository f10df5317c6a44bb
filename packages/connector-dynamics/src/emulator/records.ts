/**
 * Record routes: collection and single GET, `POST` (create), `PATCH` (update, upsert, with
 * `If-Match` / `If-None-Match`), `DELETE`, by primary key or alternate key.
 *
 * @module
 */
import type { FieldValues, WriteOutcome } from '@crm-sync/sdk';
import { projectRow, readSelect, serveCollection } from './collection.js';
import { errorResponse, jsonResponse, preferences, queryParameters, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { EMULATOR_CODES, rejectResponse } from './reject-codes.js';
import { entityIdUrl, etagOf, findByKey, parseRecordKey, renderRow, type Table } from './tables.js';
import { fromWire } from './wire-values.js';

/** Reads a JSON body into engine values, or answers the error. */
export function readBody(table: Table, text: string, skip: ReadonlySet<string> = new Set()): { values: FieldValues; id?: string } | EmulatorResponse {
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return errorResponse(400, EMULATOR_CODES.invalidArgument, 'The request body is not valid JSON.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return errorResponse(400, EMULATOR_CODES.invalidArgument, 'The request body must be a JSON object.');
  const values: FieldValues = {};
  let id: string | undefined;
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name.startsWith('@odata.')) continue;
    if (skip.has(name)) continue;
    const field = table.fields.get(name);
    if (field === undefined) return errorResponse(400, EMULATOR_CODES.invalidProperty, `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${table.description.name}'.`);
    const value = fromWire(field, raw);
    if (!value.ok) return errorResponse(400, EMULATOR_CODES.invalidArgument, value.message);
    if (name === table.description.primaryKey) {
      id = typeof value.value === 'string' ? value.value : undefined;
      continue;
    }
    values[name] = value.value;
  }
  return { values, ...(id !== undefined ? { id } : {}) };
}

function isResponse(value: unknown): value is EmulatorResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value;
}

/** The answer to a successful write: 204 + OData-EntityId, or the row with `return=representation`. */
function writeAnswer(context: EmulatorContext, request: EmulatorRequest, table: Table, id: string, created: boolean): EmulatorResponse {
  const prefer = preferences(request.headers);
  const record = context.crm.get(table.description.name, id);
  if (prefer.get('return') === 'representation' && record !== undefined) {
    const select = readSelect(queryParameters(request.url).get('$select'), { fields: table.fields, entityName: table.description.name });
    const row = projectRow(renderRow(table, record), Array.isArray(select) ? select : undefined, table.description.primaryKey, etagOf(record));
    return jsonResponse(
      created ? 201 : 200,
      { '@odata.context': `${context.apiBase}$metadata#${table.entitySetName}/$entity`, ...row },
      { 'Preference-Applied': 'return=representation', ETag: etagOf(record) },
    );
  }
  return { status: 204, headers: { 'OData-Version': '4.0', 'OData-EntityId': entityIdUrl(context.apiBase, table, id) } };
}

function outcomeAnswer(context: EmulatorContext, request: EmulatorRequest, table: Table, outcome: WriteOutcome, created: boolean, fallbackId?: string): EmulatorResponse {
  if (!outcome.ok) return rejectResponse(outcome.reject, table.description.name, outcome.id ?? fallbackId);
  return writeAnswer(context, request, table, outcome.id, created);
}

/** `POST entityset`: creates a record. */
export function createRecord(context: EmulatorContext, request: EmulatorRequest, table: Table): EmulatorResponse {
  const body = readBody(table, request.body);
  if (isResponse(body)) return body;
  if (body.id !== undefined && context.crm.get(table.description.name, body.id) !== undefined) {
    return errorResponse(412, EMULATOR_CODES.duplicateRecord, 'Cannot insert duplicate key.');
  }
  const outcome = context.crm.insert(table.description.name, body.values, body.id !== undefined ? { id: body.id } : {});
  return outcomeAnswer(context, request, table, outcome, true);
}

/** `PATCH entityset(key)`: update, or upsert without `If-Match`. */
export function patchRecord(context: EmulatorContext, request: EmulatorRequest, table: Table, keyText: string): EmulatorResponse {
  const key = parseRecordKey(keyText, table);
  if (typeof key === 'string') return errorResponse(400, EMULATOR_CODES.invalidArgument, key);
  const skip = new Set<string>(key.kind === 'alternate' ? [key.field] : []);
  const body = readBody(table, request.body, skip);
  if (isResponse(body)) return body;
  const existing = findByKey(context.crm, table, key);
  const ifMatch = request.headers['if-match'];
  const ifNoneMatch = request.headers['if-none-match'];
  const name = table.description.name;
  const shownId = key.kind === 'id' ? key.id : `${key.field}=${String(key.value)}`;
  if (existing === undefined) {
    if (ifMatch !== undefined) return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `${name} With Id = ${shownId} Does Not Exist`);
    const values: FieldValues = key.kind === 'alternate' ? { ...body.values, [key.field]: key.value } : body.values;
    const id = key.kind === 'id' ? key.id : body.id;
    const outcome = context.crm.insert(name, values, id !== undefined ? { id } : {});
    return outcomeAnswer(context, request, table, outcome, true);
  }
  if (ifNoneMatch === '*') return errorResponse(412, EMULATOR_CODES.duplicateRecord, 'A record with matching key values already exists.');
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(existing)) {
    return errorResponse(412, EMULATOR_CODES.concurrencyVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");
  }
  const outcome = context.crm.update(name, existing.id, body.values);
  return outcomeAnswer(context, request, table, outcome, false, existing.id);
}

/** `DELETE entityset(key)`. */
export function deleteRecord(context: EmulatorContext, table: Table, keyText: string): EmulatorResponse {
  const key = parseRecordKey(keyText, table);
  if (typeof key === 'string') return errorResponse(400, EMULATOR_CODES.invalidArgument, key);
  const existing = findByKey(context.crm, table, key);
  if (existing === undefined) {
    return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `${table.description.name} With Id = ${key.kind === 'id' ? key.id : String(key.value)} Does Not Exist`);
  }
  const outcome = context.crm.delete(table.description.name, existing.id);
  return outcome.ok ? { status: 204, headers: { 'OData-Version': '4.0' } } : rejectResponse(outcome.reject, table.description.name, existing.id);
}

/** `GET entityset(key)`. */
export function getRecord(context: EmulatorContext, request: EmulatorRequest, table: Table, keyText: string): EmulatorResponse {
  const key = parseRecordKey(keyText, table);
  if (typeof key === 'string') return errorResponse(400, EMULATOR_CODES.invalidArgument, key);
  const record = findByKey(context.crm, table, key);
  if (record === undefined) {
    return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `${table.description.name} With Id = ${key.kind === 'id' ? key.id : String(key.value)} Does Not Exist`);
  }
  const select = readSelect(queryParameters(request.url).get('$select'), { fields: table.fields, entityName: table.description.name });
  if (select !== undefined && !Array.isArray(select)) return select;
  return jsonResponse(200, {
    '@odata.context': `${context.apiBase}$metadata#${table.entitySetName}/$entity`,
    ...projectRow(renderRow(table, record), select, table.description.primaryKey, etagOf(record)),
  });
}

/** `GET entityset`: a page of the table. */
export function listRecords(context: EmulatorContext, request: EmulatorRequest, table: Table): EmulatorResponse {
  const records = context.crm.records(table.description.name);
  const etags = new WeakMap<object, string>();
  const rows = records.map((record) => {
    const row = renderRow(table, record);
    etags.set(row, etagOf(record));
    return row;
  });
  return serveCollection(request, {
    apiBase: context.apiBase,
    entitySetName: table.entitySetName,
    entityName: table.description.name,
    primaryKey: table.description.primaryKey,
    fields: table.fields,
    rows,
    etag: (row) => etags.get(row),
  });
}
