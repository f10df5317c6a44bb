/**
 * `upsertBatch`: sObject Collections, 200 records per call with `allOrNone: false` (insert: POST,
 * update: PATCH, upsert: PATCH by external-id field), or Bulk API 2.0 ingest from
 * `bulkThreshold` records on. Records that cannot be valid (bad id, missing key) are refused
 * locally and never sent; every outcome comes back in input order.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import {
  crmError,
  type CrmError,
  type FieldValues,
  type ObjectDescription,
  type UpsertBatchRequest,
  type WriteAction,
  type WriteOutcome,
} from '@crm-sync/sdk';
import type { SalesforceApi } from './api.js';
import { bulkIngest } from './bulk2.js';
import type { DescribeCache } from './describe.js';
import { CONNECTOR_ID } from './errors.js';
import { toCanonicalSalesforceId } from './ids.js';
import { chunkIds } from './soql.js';
import { localReject, missingOnUpdate, OutcomeMerger, outcomeFromCollectionResult, type CollectionResult } from './write-outcomes.js';

/** sObject Collections take at most 200 records per call. */
export const COLLECTION_LIMIT = 200;

/** A record ready for the wire, keyed by its input position. */
export interface PreparedRecord {
  readonly values: FieldValues;
  readonly id?: string;
}

/** Validates the request against the description; returns the first problem. */
function checkRequest(request: UpsertBatchRequest, description: ObjectDescription): string | undefined {
  if (!['insert', 'update', 'upsert'].includes(request.mode)) return `mode "${String(request.mode)}" must be insert, update or upsert`;
  if (request.mode === 'upsert') {
    const name = request.externalIdField;
    if (!name) return 'mode "upsert" needs externalIdField (an External ID field such as Sync_Key__c)';
    const field = description.fields.find((f) => f.name === name);
    if (!field || !(field.externalId || field.idLookup)) {
      return `externalIdField "${name}" is not an External ID or idLookup field of ${description.name}; mark it External ID in Salesforce or pick another`;
    }
  }
  return undefined;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** True when `text` matches `pattern` and names a real calendar day and time of day. */
function realCalendarValue(text: string, pattern: RegExp): boolean {
  const m = pattern.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
  return Number(m[4] ?? 0) < 24 && Number(m[5] ?? 0) < 60 && Number(m[6] ?? 0) < 60;
}

/** The date and date-time fields of an object by name, with their place in its description. */
type CalendarFields = ReadonlyMap<string, { readonly field: ObjectDescription['fields'][number]; readonly order: number }>;

/**
 * The first date or date-time value (in the description's field order) Salesforce could not
 * deserialize (`2024-13-40`), as a local reject. Salesforce fails the whole request with
 * `JSON_PARSER_ERROR` on such a value, so one bad record would sink the 199 good ones of its call:
 * it is refused here and never sent. Walks the record's own fields (a few), not every calendar
 * field of the object (a standard object has a dozen, most absent from a record).
 */
function undeserializable(values: FieldValues, calendarFields: CalendarFields): WriteOutcome | undefined {
  let first: { readonly field: ObjectDescription['fields'][number]; readonly order: number; readonly value: unknown } | undefined;
  for (const name in values) {
    const calendar = calendarFields.get(name);
    if (calendar === undefined || (first !== undefined && first.order < calendar.order)) continue;
    const value = values[name];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' && realCalendarValue(value, calendar.field.type === 'date' ? DATE_ONLY : DATE_TIME)) continue;
    first = { ...calendar, value };
  }
  if (first === undefined) return undefined;
  const { field, value } = first;
  const wanted = field.type === 'date' ? 'a date YYYY-MM-DD' : 'a date-time YYYY-MM-DDThh:mm:ssZ';
  return localReject('invalid-value', `${field.name}: ${JSON.stringify(value)} is not ${wanted} on the calendar; Salesforce would refuse the whole request (JSON_PARSER_ERROR), so this record was not sent`, [field.name]);
}

/** Splits the batch into local rejects and records to send. */
function prepareRecords(request: UpsertBatchRequest, description: ObjectDescription): OutcomeMerger<PreparedRecord> {
  const merger = new OutcomeMerger<PreparedRecord>(request.records.length);
  // Looked up once per batch, not once per record: only date and date-time values are checked.
  const calendarFields: CalendarFields = new Map(
    description.fields.flatMap((field, order) => (field.type === 'date' || field.type === 'datetime' ? [[field.name, { field, order }] as const] : [])),
  );
  const primaryKey = description.primaryKey;
  request.records.forEach((record, index) => {
    // The record's own values are only read from here on (the wire body is built afresh), so
    // they are copied only to leave the primary key out.
    const values: FieldValues = Object.hasOwn(record.values, primaryKey) ? withoutField(record.values, primaryKey) : record.values;
    const unreadable = undeserializable(values, calendarFields);
    if (unreadable) return merger.decide(index, unreadable);
    if (request.mode === 'insert') {
      merger.send(index, { values });
      return;
    }
    if (request.mode === 'update') {
      const id = record.id === undefined ? undefined : toCanonicalSalesforceId(record.id);
      if (id === undefined) return merger.decide(index, localReject('not-found', 'update needs the record id; map the remote primary key or use insert/upsert', [description.primaryKey]));
      if (id.isErr()) return merger.decide(index, localReject('invalid-value', id.error, [description.primaryKey]));
      merger.send(index, { values, id: id.value });
      return;
    }
    const key = request.externalIdField!;
    const keyValue = values[key];
    if (keyValue === null || keyValue === undefined || keyValue === '') {
      return merger.decide(index, localReject('required-field-missing', `upsert needs a value in ${key} to find the record`, [key]));
    }
    merger.send(index, { values });
  });
  return merger;
}

/** A copy of `values` without `name`. */
function withoutField(values: FieldValues, name: string): FieldValues {
  const copy: FieldValues = {};
  for (const key of Object.keys(values)) if (key !== name) copy[key] = values[key]!;
  return copy;
}

/** Sends one chunk of at most 200 records through sObject Collections. */
function sendCollectionChunk(
  api: SalesforceApi,
  request: UpsertBatchRequest,
  chunk: readonly PreparedRecord[],
  signal: AbortSignal | undefined,
): ResultAsync<WriteOutcome[], CrmError> {
  const attributes = { type: request.object };
  const records = chunk.map((record) => ({ attributes, ...record.values, ...(record.id ? { id: record.id } : {}) }));
  const path =
    request.mode === 'insert'
      ? `${api.basePath}/composite/sobjects`
      : request.mode === 'update'
        ? `${api.basePath}/composite/sobjects`
        : `${api.basePath}/composite/sobjects/${request.object}/${request.externalIdField!}`;
  const action: WriteAction = request.mode === 'insert' ? 'created' : 'updated';
  return api
    .call<CollectionResult[]>({ method: request.mode === 'insert' ? 'POST' : 'PATCH', path, body: { allOrNone: false, records }, ...(signal ? { signal } : {}) })
    .andThen((answer) => {
      if (!Array.isArray(answer.body)) {
        return errAsync(crmError('transient', CONNECTOR_ID, `${request.mode} on ${request.object}: Salesforce answered without per-record results; the records may or may not be written`, { inDoubt: true }));
      }
      const outcomes = chunk.map((_, i) => outcomeFromCollectionResult(answer.body[i], action));
      return okAsync(request.mode === 'update' ? outcomes.map(missingOnUpdate) : outcomes);
    });
}

/** Sends all chunks one after another; a failure after a committed chunk is in doubt. */
function sendCollections(
  api: SalesforceApi,
  request: UpsertBatchRequest,
  records: readonly PreparedRecord[],
  signal: AbortSignal | undefined,
): ResultAsync<WriteOutcome[], CrmError> {
  const chunks = chunkIds(records, COLLECTION_LIMIT);
  const run = async (): Promise<WriteOutcome[]> => {
    const outcomes: WriteOutcome[] = [];
    for (const chunk of chunks) {
      const answer = await sendCollectionChunk(api, request, chunk, signal);
      if (answer.isErr()) {
        if (outcomes.length === 0) throw answer.error;
        throw {
          ...answer.error,
          inDoubt: true,
          message: `${answer.error.message} (the first ${outcomes.length} records of this batch were already written; settle the batch by its sync key)`,
        } satisfies CrmError;
      }
      outcomes.push(...answer.value);
    }
    return outcomes;
  };
  return ResultAsync.fromPromise(run(), (error) => error as CrmError);
}

/** Writes one batch. See `CrmConnector.upsertBatch`. */
export function upsertBatchSalesforce(
  api: SalesforceApi,
  describes: DescribeCache,
  request: UpsertBatchRequest,
  signal: AbortSignal | undefined,
): ResultAsync<readonly WriteOutcome[], CrmError> {
  if (request.records.length === 0) return okAsync([]);
  return describes.describe(request.object, signal).andThen((description) => {
    const problem = checkRequest(request, description);
    if (problem) return errAsync(crmError('invalid-request', CONNECTOR_ID, `upsertBatch on ${request.object}: ${problem}`));
    const merger = prepareRecords(request, description);
    const toSend = merger.toSend.map((entry) => entry.item);
    if (toSend.length === 0) return okAsync(merger.merge([]));
    const sent = toSend.length >= api.config.bulkThreshold ? bulkIngest(api, request, toSend, signal) : sendCollections(api, request, toSend, signal);
    return sent.map((answers) => merger.merge(answers));
  });
}
