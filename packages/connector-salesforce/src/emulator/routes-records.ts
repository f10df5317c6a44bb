/**
 * Record writes and replication feeds: sObject Collections (create, update, upsert by external id,
 * delete) with per-record `statusCode` errors inside a 200 answer, single-record endpoints with
 * 201/200/204/300/404 answers, and the deleted/updated feeds.
 *
 * @module
 */
import type { WriteOutcome } from '@crm-sync/sdk';
import { toCanonicalSalesforceId } from '../ids.js';
import { canonicalValues, json, materialize, recordJson, salesforceDateTime, sfError, type EmulatorContext, type RouteAnswer } from './context.js';
import { objectFlags } from './routes-meta.js';
import { deserializationError, platformError } from './platform.js';

/** sObject Collections accept at most 200 records or ids per call. */
const COLLECTION_LIMIT = 200;
const MINUTE_MS = 60_000;

interface CollectionItem {
  readonly id?: string;
  readonly success: boolean;
  readonly errors: readonly { statusCode: string; message: string; fields: readonly string[] }[];
  readonly created?: boolean;
}

function itemOf(outcome: WriteOutcome, withCreated: boolean): CollectionItem {
  if (outcome.ok) return { id: outcome.id, success: true, errors: [], ...(withCreated ? { created: outcome.action === 'created' } : {}) };
  return {
    success: false,
    errors: [{ statusCode: outcome.reject.symbol ?? 'UNKNOWN_EXCEPTION', message: outcome.reject.message, fields: [...(outcome.reject.fields ?? [])] }],
  };
}

function failedItem(statusCode: string, message: string, fields: readonly string[] = []): CollectionItem {
  return { success: false, errors: [{ statusCode, message, fields }] };
}

function tooMany(): RouteAnswer {
  return sfError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
}

/** True when the scripted `lock-row` fault hits item `index` of this call. */
function locked(context: EmulatorContext, index: number): boolean {
  return context.lockItem !== undefined && (context.lockItem.itemIndex ?? 0) === index;
}

const LOCK_MESSAGE = 'unable to obtain exclusive access to this record or 1 records';

const ROLLED_BACK = failedItem('ALL_OR_NONE_OPERATION_ROLLED_BACK', 'Record rolled back because not all records were valid and the request was using AllOrNone header');

/**
 * Runs the items of one collection call. With `allOrNone`, a single failure rolls every write of
 * the call back: the failed items keep their errors, the others read
 * `ALL_OR_NONE_OPERATION_ROLLED_BACK`, and the answer is still 200.
 */
function runItems<T>(context: EmulatorContext, allOrNone: boolean, inputs: readonly T[], run: (input: T, index: number) => CollectionItem): CollectionItem[] {
  const restore = allOrNone ? context.crm.snapshot() : undefined;
  const items = inputs.map(run);
  if (restore && items.some((item) => !item.success)) {
    restore();
    return items.map((item) => (item.success ? ROLLED_BACK : item));
  }
  return items;
}

/** `POST|PATCH /composite/sobjects` and `PATCH /composite/sobjects/{T}/{ext}`. */
export function handleCollectionWrite(context: EmulatorContext, method: string, body: unknown, bodyText: string, upsertObject?: string, externalIdField?: string): RouteAnswer {
  const envelope = body as { allOrNone?: unknown; records?: unknown } | null;
  if (!envelope || !Array.isArray(envelope.records)) return sfError(400, 'JSON_PARSER_ERROR', 'The request body must be {"allOrNone": false, "records": [...]}');
  const records = envelope.records as Record<string, unknown>[];
  if (records.length > COLLECTION_LIMIT) return tooMany();
  if (records.some((record) => record === null || typeof record !== 'object' || Array.isArray(record))) return sfError(400, 'JSON_PARSER_ERROR', 'Each element of records must be a JSON object with attributes.type');
  const unreadable = deserializationError(
    (type) => context.describe(type),
    records.map((record) => ({ type: (record.attributes as { type?: unknown } | undefined)?.type as string | undefined, values: record })),
    bodyText,
  );
  if (unreadable) return unreadable;
  if (upsertObject !== undefined) {
    const description = context.describe(upsertObject);
    if (!description) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const field = description.fields.find((f) => f.name === externalIdField);
    if (!field || !(field.externalId || field.idLookup)) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  }
  const items = runItems(context, envelope.allOrNone === true, records, (record, index): CollectionItem => {
    const type = (record.attributes as { type?: unknown } | undefined)?.type;
    if (typeof type !== 'string') return failedItem('INVALID_TYPE', 'Must specify attributes.type for each record');
    const description = context.describe(type);
    if (!description) return failedItem('INVALID_TYPE', `sObject type '${type}' is not supported.`);
    if (locked(context, index)) return failedItem('UNABLE_TO_LOCK_ROW', LOCK_MESSAGE);
    const { id, Id, ...rest } = record;
    const values = canonicalValues(description, rest);
    const refused = platformError(description, values);
    if (refused) return failedItem(refused.statusCode, refused.message, refused.fields);
    if (upsertObject !== undefined) {
      if (type !== upsertObject) return failedItem('INVALID_TYPE', `records must be of type ${upsertObject}`);
      if (id !== undefined || Id !== undefined) return failedItem('INVALID_FIELD', 'The Id field should not be specified in the sobject data.', ['Id']);
      return itemOf(context.crm.upsert(type, externalIdField!, values), true);
    }
    if (method === 'POST') {
      if (id !== undefined || Id !== undefined) return failedItem('INVALID_FIELD', 'The Id field should not be specified in the sobject data.', ['Id']);
      return itemOf(context.crm.insert(type, values), false);
    }
    const target = typeof id === 'string' ? id : typeof Id === 'string' ? Id : undefined;
    if (target === undefined) return failedItem('MISSING_ARGUMENT', 'Id not specified in an update call', ['Id']);
    const canonical = toCanonicalSalesforceId(target);
    if (canonical.isErr()) return failedItem('MALFORMED_ID', `malformed id ${target}`, ['Id']);
    const outcome = context.crm.update(type, canonical.value, values);
    // A well-formed id that names no record: Salesforce answers a per-record
    // INVALID_CROSS_REFERENCE_KEY (NOT_FOUND is a request-level code).
    if (!outcome.ok && outcome.reject.code === 'not-found') return failedItem('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    return itemOf(outcome, false);
  });
  return json(200, items);
}

/** `DELETE /composite/sobjects?ids=...`. Already-deleted records fail with `ENTITY_IS_DELETED`. */
export function handleCollectionDelete(context: EmulatorContext, idsParameter: string | null, allOrNone = false): RouteAnswer {
  const ids = (idsParameter ?? '').split(',').filter((id) => id.length > 0);
  if (ids.length === 0) return sfError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
  if (ids.length > COLLECTION_LIMIT) return tooMany();
  const objects = context.crm.listObjects().map((o) => o.name);
  const items = runItems(context, allOrNone, ids, (raw, index): CollectionItem => {
    const canonical = toCanonicalSalesforceId(raw);
    if (canonical.isErr()) return failedItem('MALFORMED_ID', `malformed id ${raw}`);
    if (locked(context, index)) return failedItem('UNABLE_TO_LOCK_ROW', LOCK_MESSAGE);
    const id = canonical.value;
    const object = objects.find((name) => id.startsWith(String(context.describe(name)?.vendor?.keyPrefix ?? '\u0000')));
    if (!object) return failedItem('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    if (!context.crm.get(object, id)) {
      const binned = context.crm.records(object, { includeDeleted: true }).some((record) => record.id === id && record.deletedAt !== undefined);
      return binned ? failedItem('ENTITY_IS_DELETED', 'entity is deleted') : failedItem('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    }
    const outcome = context.crm.delete(object, id);
    return outcome.ok ? { id, success: true, errors: [] } : itemOf(outcome, false);
  });
  return json(200, items);
}

function singleError(outcome: WriteOutcome): RouteAnswer {
  if (outcome.ok) return json(200, {});
  const status = outcome.reject.code === 'not-found' || outcome.reject.code === 'deleted-in-crm' ? 404 : 400;
  return sfError(status, outcome.reject.symbol ?? 'UNKNOWN_EXCEPTION', outcome.reject.message, outcome.reject.fields ?? []);
}

/** Single-record endpoints under `/sobjects/{T}[/{id}|/{ext}/{value}]`. */
export function handleSingleRecord(context: EmulatorContext, apiVersion: string, method: string, segments: readonly string[], body: unknown, bodyText = '', query: URLSearchParams = new URLSearchParams()): RouteAnswer {
  const [object, second, third] = segments;
  const description = object ? context.describe(object) : undefined;
  if (!object || !description) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const input = (body ?? {}) as Record<string, unknown>;
  if (method === 'POST' || method === 'PATCH') {
    if (typeof input !== 'object' || Array.isArray(input)) return sfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object of field values');
    const unreadable = deserializationError((type) => context.describe(type), [{ type: object, values: input }], bodyText);
    if (unreadable) return unreadable;
    const refused = platformError(description, canonicalValues(description, input));
    if (refused) return sfError(400, refused.statusCode, refused.message, refused.fields);
  }
  if (second === undefined) {
    // sObject Basic Information: the object's describeGlobal entry and recently viewed records (none here).
    if (method === 'GET') return json(200, { objectDescribe: objectFlags(description, description, apiVersion), recentItems: [] });
    if (method !== 'POST') return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,HEAD,POST`);
    if ('Id' in input || 'id' in input) return sfError(400, 'INVALID_FIELD', 'The Id field should not be specified in the sobject data.');
    const outcome = context.crm.insert(object, canonicalValues(description, input));
    return outcome.ok ? json(201, { id: outcome.id, success: true, errors: [] }) : singleError(outcome);
  }
  if (third !== undefined) {
    if (method !== 'PATCH') return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are PATCH`);
    const field = description.fields.find((f) => f.name === second);
    if (!field || !(field.externalId || field.idLookup)) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const key = decodeURIComponent(third);
    if (context.crm.findBy(object, field.name, key).length > 1) return json(300, [`/services/data/v${apiVersion}/sobjects/${object}/${key}`]);
    const outcome = context.crm.upsert(object, field.name, { ...canonicalValues(description, input), [field.name]: key });
    if (!outcome.ok) return singleError(outcome);
    return json(outcome.action === 'created' ? 201 : 200, { id: outcome.id, success: true, errors: [], created: outcome.action === 'created' });
  }
  const id = toCanonicalSalesforceId(second);
  if (id.isErr()) return sfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${second}`);
  switch (method) {
    case 'GET': {
      const record = context.crm.get(object, id.value);
      if (!record) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      // ?fields=A,B returns only those fields (plus attributes); an unknown name is INVALID_FIELD.
      const wanted = query.get('fields');
      let fields = description.fields;
      if (wanted !== null) {
        const byName = new Map(description.fields.map((f) => [f.name.toLowerCase(), f]));
        const names = wanted.split(',').map((name) => name.trim()).filter((name) => name.length > 0);
        const unknown = names.find((name) => !byName.has(name.toLowerCase()));
        if (unknown !== undefined) return sfError(400, 'INVALID_FIELD', `No such column '${unknown}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
        fields = names.map((name) => byName.get(name.toLowerCase())!);
      }
      return json(200, recordJson(object, apiVersion, record.id, materialize(record, description), fields));
    }
    case 'PATCH': {
      const outcome = context.crm.update(object, id.value, canonicalValues(description, input));
      return outcome.ok ? { status: 204 } : singleError(outcome);
    }
    case 'DELETE': {
      if (!context.crm.get(object, id.value)) {
        const binned = context.crm.records(object, { includeDeleted: true }).some((r) => r.id === id.value);
        return binned ? sfError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []) : sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      }
      const outcome = context.crm.delete(object, id.value);
      return outcome.ok ? { status: 204 } : singleError(outcome);
    }
    default:
      return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,PATCH,DELETE`);
  }
}

/** Parses a feed bound and drops its seconds, as Salesforce does. */
function feedBound(text: string | null): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** `GET /sobjects/{T}/deleted` and `/updated` (with or without the trailing slash). */
export function handleFeed(context: EmulatorContext, object: string, feed: 'deleted' | 'updated', query: URLSearchParams): RouteAnswer {
  const description = context.describe(object);
  if (!description) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const start = feedBound(query.get('start'));
  const end = feedBound(query.get('end'));
  if (start === undefined || end === undefined) return sfError(400, 'MISSING_ARGUMENT', 'start and end are required date-times');
  if (end <= start) return sfError(400, 'INVALID_REPLICATION_DATE', 'startDate must chronologically precede endDate by more than one minute');
  const nowMs = context.crm.clock.now().getTime();
  const earliestMs = feedBound(context.crm.earliestDeletedAvailable(object))!;
  const retentionDays = feed === 'deleted' ? context.crm.deletedRetentionDays : 30;
  const oldestMs = feed === 'deleted' ? earliestMs : nowMs - retentionDays * 86_400_000;
  if (start < oldestMs) {
    // As Salesforce words it: the message does not say which date is available; a client reads
    // earliestDateAvailable from an answer to a window that is still covered.
    return sfError(400, 'INVALID_REPLICATION_DATE', feed === 'deleted' ? 'startDate is before the earliest date available for replication of deleted records' : `startDate cannot be more than ${retentionDays} days ago`);
  }
  // Deletions and changes of the current minute (or within the replication lag) are not reported
  // yet: latestDateCovered stays on the last whole minute that is fully replicated, and nothing
  // after it is listed. A client must start its next window there.
  const latestCovered = Math.max(start, Math.min(end, Math.floor((nowMs - context.replicationLagMs) / MINUTE_MS) * MINUTE_MS));
  const startIso = new Date(start).toISOString();
  // The window is [start, latestCovered) on whole minutes; an instant at the covered end belongs to the next window.
  const endIso = new Date(latestCovered - 1).toISOString();
  if (feed === 'deleted') {
    return json(200, {
      deletedRecords: context.crm.deletedBetween(object, startIso, endIso).map((r) => ({ id: r.id, deletedDate: salesforceDateTime(r.deletedAt) })),
      earliestDateAvailable: salesforceDateTime(new Date(earliestMs).toISOString()),
      latestDateCovered: salesforceDateTime(new Date(latestCovered).toISOString()),
    });
  }
  const ids = context.crm
    .records(object)
    .filter((record) => record.changedAt >= startIso && record.changedAt <= endIso)
    .map((record) => record.id);
  return json(200, { ids, latestDateCovered: salesforceDateTime(new Date(latestCovered).toISOString()) });
}
