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
import { localReject, OutcomeMerger, outcomeFromCollectionResult, type CollectionResult } from './write-outcomes.js';

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

/** Splits the batch into local rejects and records to send. */
function prepareRecords(request: UpsertBatchRequest, description: ObjectDescription): OutcomeMerger<PreparedRecord> {
  const merger = new OutcomeMerger<PreparedRecord>(request.records.length);
  request.records.forEach((record, index) => {
    const values: FieldValues = { ...record.values };
    delete values[description.primaryKey];
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
      return okAsync(chunk.map((_, i) => outcomeFromCollectionResult(answer.body[i], action)));
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
