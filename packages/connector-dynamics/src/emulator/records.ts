/**
 * Record routes: collection and single GET, `POST` (create), `PATCH` (update, upsert, with
 * `If-Match` / `If-None-Match`), `DELETE`, by primary key or alternate key.
 *
 * @module
 */
import type { FieldValues, WriteOutcome } from '@crm-sync/sdk';
import { annotateRow, annotationRequest } from './annotations.js';
import { checkQueryOptions, projectRow, readSelect, serveCollection } from './collection.js';
import { errorResponse, jsonResponse, preferences, queryParameters, type EmulatorContext, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { EMULATOR_CODES, rejectResponse } from './reject-codes.js';
import { entityIdUrl, etagOf, findByKey, parseRecordKey, renderRow, type Table } from './tables.js';
import { fromWire } from './wire-values.js';

/** A payload error, as Dataverse words it (`0x80048d19`, with the OData reader's inner message). */
export function payloadError(table: Table, inner: string): EmulatorResponse {
  return errorResponse(
    400,
    EMULATOR_CODES.payloadError,
    `Error identified in Payload provided by the user for Entity :'${table.entitySetName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ---->  InnerException : Microsoft.OData.ODataException: ${inner}`,
  );
}

/**
 * Reads a JSON body into engine values, or answers the error. Columns that are not valid for the
 * write (`createdon`, the composed `fullname`; on update also the primary key) are ignored, as
 * Dataverse ignores them; a property the table does not have is a payload error.
 */
export function readBody(table: Table, text: string, skip: ReadonlySet<string> = new Set(), mode: 'create' | 'update' | 'upsert' = 'create'): { values: FieldValues; id?: string } | EmulatorResponse {
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch (cause) {
    return payloadError(table, `Invalid JSON. ${(cause as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return payloadError(table, 'The request body must be a JSON object (an entity).');
  const values: FieldValues = {};
  let id: string | undefined;
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name.startsWith('@odata.')) continue;
    if (skip.has(name)) continue;
    const at = name.indexOf('@');
    if (at > 0) {
      // `x@odata.bind`: the emulator's tables have no navigation properties, so x is undeclared.
      return payloadError(
        table,
        `An undeclared property '${name.slice(0, at)}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
      );
    }
    const field = table.fields.get(name);
    if (field === undefined) {
      return errorResponse(
        400,
        EMULATOR_CODES.invalidProperty,
        `An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property '${name}' was found in entity 'Microsoft.Dynamics.CRM.${table.description.name}'. ---> Microsoft.OData.ODataException: Does not support untyped value in non-open type.`,
      );
    }
    const value = fromWire(field, raw);
    if (!value.ok) return payloadError(table, value.message);
    if (name === table.description.primaryKey) {
      id = typeof value.value === 'string' ? value.value : undefined;
      continue;
    }
    const writable = mode === 'create' ? field.createable : mode === 'update' ? field.updateable : field.createable || field.updateable;
    if (!writable) continue;
    values[name] = value.value;
  }
  return { values, ...(id !== undefined ? { id } : {}) };
}

/** Reads the `$select` of a write (honoured with `return=representation`) before anything is written. */
function writeSelect(request: EmulatorRequest, table: Table): string[] | EmulatorResponse | undefined {
  const params = queryParameters(request.url);
  const unsupported = checkQueryOptions(params, WRITE_OPTIONS);
  if (unsupported !== undefined) return unsupported;
  return readSelect(params.get('$select'), { fields: table.fields, entityName: table.description.name });
}

const WRITE_OPTIONS: ReadonlySet<string> = new Set(['$select']);
const SINGLE_OPTIONS: ReadonlySet<string> = new Set(['$select']);

function isResponse(value: unknown): value is EmulatorResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value;
}

/** The answer to a successful write: 204 + OData-EntityId, or the row with `return=representation`. */
function writeAnswer(context: EmulatorContext, request: EmulatorRequest, table: Table, id: string, created: boolean, select: readonly string[] | undefined): EmulatorResponse {
  const prefer = preferences(request.headers);
  const record = context.crm.get(table.description.name, id);
  if (prefer.get('return') === 'representation' && record !== undefined) {
    const annotations = annotationRequest(request.headers);
    const row = annotateRow(projectRow(renderRow(table, record), select, table.description.primaryKey, etagOf(record)), table.fields, annotations);
    return jsonResponse(
      created ? 201 : 200,
      { '@odata.context': `${context.apiBase}$metadata#${table.entitySetName}${select ? `(${select.join(',')})` : ''}/$entity`, ...row },
      { 'Preference-Applied': ['return=representation', ...(annotations ? [annotations.applied] : [])].join(','), ETag: etagOf(record) },
    );
  }
  return { status: 204, headers: { 'OData-Version': '4.0', 'OData-EntityId': entityIdUrl(context.apiBase, table, id) } };
}

function outcomeAnswer(
  context: EmulatorContext,
  request: EmulatorRequest,
  table: Table,
  outcome: WriteOutcome,
  created: boolean,
  select: readonly string[] | undefined,
  fallbackId?: string,
): EmulatorResponse {
  if (!outcome.ok) return rejectResponse(outcome.reject, table.description.name, outcome.id ?? fallbackId);
  return writeAnswer(context, request, table, outcome.id, created, select);
}

/** `POST entityset`: creates a record. */
export function createRecord(context: EmulatorContext, request: EmulatorRequest, table: Table): EmulatorResponse {
  const select = writeSelect(request, table);
  if (isResponse(select)) return select;
  const body = readBody(table, request.body, new Set(), 'create');
  if (isResponse(body)) return body;
  if (body.id !== undefined && context.crm.get(table.description.name, body.id) !== undefined) {
    return errorResponse(412, EMULATOR_CODES.duplicateRecord, 'Cannot insert duplicate key.');
  }
  const outcome = context.crm.insert(table.description.name, body.values, body.id !== undefined ? { id: body.id } : {});
  return outcomeAnswer(context, request, table, outcome, true, select);
}

/** `PATCH entityset(key)`: update, or upsert without `If-Match`. */
export function patchRecord(context: EmulatorContext, request: EmulatorRequest, table: Table, keyText: string): EmulatorResponse {
  const key = parseRecordKey(keyText, table);
  if (typeof key === 'string') return errorResponse(400, EMULATOR_CODES.invalidArgument, key);
  const select = writeSelect(request, table);
  if (isResponse(select)) return select;
  const skip = new Set<string>(key.kind === 'alternate' ? [key.field] : []);
  const existing = findByKey(context.crm, table, key);
  const body = readBody(table, request.body, skip, existing === undefined ? 'create' : 'update');
  if (isResponse(body)) return body;
  const ifMatch = request.headers['if-match'];
  const ifNoneMatch = request.headers['if-none-match'];
  const name = table.description.name;
  const shownId = key.kind === 'id' ? key.id : `${key.field}=${String(key.value)}`;
  if (existing === undefined) {
    if (ifMatch !== undefined) return errorResponse(404, EMULATOR_CODES.objectDoesNotExist, `${name} With Id = ${shownId} Does Not Exist`);
    const values: FieldValues = key.kind === 'alternate' ? { ...body.values, [key.field]: key.value } : body.values;
    const id = key.kind === 'id' ? key.id : body.id;
    const outcome = context.crm.insert(name, values, id !== undefined ? { id } : {});
    return outcomeAnswer(context, request, table, outcome, true, select);
  }
  if (ifNoneMatch === '*') return errorResponse(412, EMULATOR_CODES.duplicateRecord, 'A record with matching key values already exists.');
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(existing)) {
    return errorResponse(412, EMULATOR_CODES.concurrencyVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");
  }
  const outcome = context.crm.update(name, existing.id, body.values);
  return outcomeAnswer(context, request, table, outcome, false, select, existing.id);
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
  const params = queryParameters(request.url);
  const unsupported = checkQueryOptions(params, SINGLE_OPTIONS);
  if (unsupported !== undefined) return unsupported;
  const select = readSelect(params.get('$select'), { fields: table.fields, entityName: table.description.name });
  if (select !== undefined && !Array.isArray(select)) return select;
  const annotations = annotationRequest(request.headers);
  // [Conditional] "Conditional retrievals": If-None-Match with the current ETag -> 304 Not Modified.
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch !== 'null' && ifNoneMatch === etagOf(record)) return { status: 304, headers: { 'OData-Version': '4.0', ETag: etagOf(record) } };
  return jsonResponse(
    200,
    {
      '@odata.context': `${context.apiBase}$metadata#${table.entitySetName}${select ? `(${select.join(',')})` : ''}/$entity`,
      ...annotateRow(projectRow(renderRow(table, record), select, table.description.primaryKey, etagOf(record)), table.fields, annotations),
    },
    annotations ? { 'Preference-Applied': annotations.applied } : {},
  );
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

/** `GET entityset/$count`: the number of rows (at most 5000), as `text/plain`. */
export function countRecords(context: EmulatorContext, request: EmulatorRequest, table: Table): EmulatorResponse {
  const unsupported = checkQueryOptions(queryParameters(request.url), new Set());
  if (unsupported !== undefined) return unsupported;
  const count = Math.min(context.crm.records(table.description.name).length, 5000);
  return { status: 200, headers: { 'Content-Type': 'text/plain', 'OData-Version': '4.0' }, body: String(count) };
}
