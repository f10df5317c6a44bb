/**
 * `upsertBatch` through `$batch` (independent requests, continue-on-error, one outcome per
 * record): insert = `POST`, update = `PATCH` with `If-Match: *` (never creates), upsert =
 * `PATCH entityset(key=value)` by alternate key. Optional fast path: `CreateMultiple` for inserts.
 *
 * An insert may carry the new record's primary key GUID, chosen by the caller (Dataverse accepts it
 * in the body). Dataverse refuses a create whose key exists with `0x80040237` ("A record with
 * matching key values already exists" / "Cannot insert duplicate key"); for an insert that carries
 * its own id this means an earlier send of the same insert was committed, so the outcome is
 * `created` with that id. A `CreateMultiple` refused for that reason (all-or-nothing) falls back
 * to `$batch`, where each record gets its own answer.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import {
  crmError,
  findField,
  type CrmError,
  type FieldDescription,
  type ObjectDescription,
  type UpsertBatchRequest,
  type WriteOutcome,
  type WriteRecord,
} from '@crm-sync/sdk';
import type { BatchResponsePart } from './batch.js';
import { idFromEntityUrl, innerPathPrefix, partJson, sendBatch, type BatchOperation } from './batch-call.js';
import { createMultiple, upsertMultiple, type UpsertTarget } from './bulk-messages.js';
import type { ResolvedDynamicsConfig } from './config.js';
import { CONNECTOR_ID, DATAVERSE_CODES, rejectFromPart } from './errors.js';
import type { DataverseHttp } from './http.js';
import { encodeValue, vendorOf } from './mapping.js';
import { formatLiteral, GUID_PATTERN } from './odata-filter.js';

type Planned = { readonly operation: BatchOperation } | { readonly outcome: WriteOutcome };

function reject(code: Extract<WriteOutcome, { ok: false }>['reject']['code'], message: string, id?: string): WriteOutcome {
  return { ok: false, ...(id !== undefined ? { id } : {}), reject: { code, message: `[crm-sync] [dynamics] ${message}`, retryable: false } };
}

/** Encodes a record's values for a body, leaving out `skip` (keys travel in the URL). */
function encodeBody(description: ObjectDescription, record: WriteRecord, mode: UpsertBatchRequest['mode'], skip: ReadonlySet<string>): { body: Record<string, unknown> } | { outcome: WriteOutcome } {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record.values)) {
    if (skip.has(name)) continue;
    const field = findField(description, name);
    if (field === undefined) return { outcome: reject('invalid-field', `'${name}' is not a field of '${description.name}'`, record.id) };
    const writable = mode === 'update' ? field.updateable : field.createable || field.updateable;
    if (!writable) return { outcome: reject('invalid-field', `'${name}' of '${description.name}' cannot be written`, record.id) };
    const encoded = encodeValue(field, value);
    if (!encoded.ok) return { outcome: { ok: false, ...(record.id ? { id: record.id } : {}), reject: { code: 'invalid-value', message: `[crm-sync] [dynamics] ${encoded.message}`, fields: [name], retryable: false } } };
    body[name] = encoded.value;
  }
  return { body };
}

function keySegment(field: FieldDescription, value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const literal = formatLiteral(
    field,
    typeof value === 'number' ? { kind: 'number', value } : typeof value === 'boolean' ? { kind: 'boolean', value } : { kind: 'string', value: String(value) },
    'externalIdField',
  );
  // Percent-encode the whole literal so '/', '#', '&' or '?' in a key cannot change the URL.
  return literal.isOk() ? `${field.name}=${encodeURIComponent(literal.value)}` : undefined;
}

function plan(config: ResolvedDynamicsConfig, description: ObjectDescription, request: UpsertBatchRequest, record: WriteRecord): Planned {
  const set = `${innerPathPrefix(config)}${vendorOf(description).entitySetName}`;
  const primaryKey = description.primaryKey;
  if (request.mode === 'insert') {
    if (record.id !== undefined && !GUID_PATTERN.test(record.id)) {
      return { outcome: reject('invalid-value', `an insert's id must be the new record's GUID, e.g. 7eb682f1-ca75-e511-80d4-00155d2a68d1 (got '${record.id}'); leave it out to let Dataverse choose one`, record.id) };
    }
    const encoded = encodeBody(description, record, 'insert', new Set([primaryKey]));
    if ('outcome' in encoded) return encoded;
    const body = record.id === undefined ? encoded.body : { [primaryKey]: record.id.toLowerCase(), ...encoded.body };
    return { operation: { method: 'POST', url: set, headers: { 'Content-Type': 'application/json; type=entry' }, body: JSON.stringify(body) } };
  }
  if (request.mode === 'update') {
    if (record.id === undefined || !GUID_PATTERN.test(record.id)) {
      return { outcome: reject('invalid-value', `update needs the record's GUID in id (got ${JSON.stringify(record.id ?? null)})`, record.id) };
    }
    const encoded = encodeBody(description, record, 'update', new Set([primaryKey]));
    if ('outcome' in encoded) return encoded;
    return {
      operation: { method: 'PATCH', url: `${set}(${record.id.toLowerCase()})`, headers: { 'Content-Type': 'application/json', 'If-Match': '*' }, body: JSON.stringify(encoded.body) },
    };
  }
  const keyName = request.externalIdField as string;
  const keyField = findField(description, keyName) as FieldDescription;
  const keyValue = keyName === primaryKey ? (record.values[keyName] ?? record.id) : record.values[keyName];
  const segment = keyName === primaryKey && typeof keyValue === 'string' && GUID_PATTERN.test(keyValue) ? keyValue.toLowerCase() : keySegment(keyField, keyValue);
  if (segment === undefined) {
    return { outcome: { ok: false, ...(record.id ? { id: record.id } : {}), reject: { code: 'required-field-missing', message: `[crm-sync] [dynamics] upsert needs a value in '${keyName}'`, fields: [keyName], retryable: false } } };
  }
  const encoded = encodeBody(description, record, 'upsert', new Set([keyName, primaryKey]));
  if ('outcome' in encoded) return encoded;
  return {
    operation: {
      method: 'PATCH',
      // return=representation tells created (201) from updated (200) and gives the id.
      url: `${set}(${segment})?$select=${primaryKey}`,
      headers: { 'Content-Type': 'application/json', Prefer: 'return=representation' },
      body: JSON.stringify(encoded.body),
    },
  };
}

function outcomeOf(request: UpsertBatchRequest, record: WriteRecord, primaryKey: string, answer: BatchResponsePart | undefined): WriteOutcome {
  if (answer === undefined) {
    return { ok: false, ...(record.id ? { id: record.id } : {}), reject: { code: 'unknown', message: '[crm-sync] [dynamics] Dataverse did not answer for this record in the $batch; send it again', retryable: true } };
  }
  if (answer.status >= 400) {
    const rejected = rejectFromPart(answer.status, partJson(answer));
    // The insert's own id already exists: an earlier send of this insert was committed.
    if (request.mode === 'insert' && record.id !== undefined && rejected.symbol === DATAVERSE_CODES.duplicateRecord) {
      return { ok: true, id: record.id.toLowerCase(), action: 'created' };
    }
    const code = request.mode === 'update' && answer.status === 404 ? 'not-found' : rejected.code;
    return { ok: false, ...(record.id ? { id: record.id } : {}), reject: { ...rejected, code } };
  }
  const body = partJson(answer) as Record<string, unknown> | undefined;
  const id = (typeof body?.[primaryKey] === 'string' ? (body[primaryKey] as string) : undefined) ?? idFromEntityUrl(answer.headers['odata-entityid'] ?? answer.headers.location) ?? record.id;
  if (id === undefined) {
    return { ok: false, reject: { code: 'unknown', message: '[crm-sync] [dynamics] Dataverse accepted the record but returned no id', retryable: false } };
  }
  const action = request.mode === 'insert' ? 'created' : request.mode === 'update' ? 'updated' : answer.status === 201 ? 'created' : 'updated';
  return { ok: true, id, action };
}

/** Writes a batch; one outcome per record, in input order. */
export function upsertDataverseBatch(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: UpsertBatchRequest,
  signal?: AbortSignal,
): ResultAsync<readonly WriteOutcome[], CrmError> {
  if (request.mode === 'upsert') {
    const key = request.externalIdField === undefined ? undefined : findField(description, request.externalIdField);
    if (key === undefined || !(key.externalId || key.primaryKey)) {
      return errAsync(
        crmError('invalid-request', CONNECTOR_ID, `upsertBatch: externalIdField '${request.externalIdField ?? ''}' is not an alternate key of '${description.name}'; define a single-column alternate key in Dataverse or use one of: ${description.fields.filter((f) => f.externalId).map((f) => f.name).join(', ') || '(none)'}`),
      );
    }
  }
  if (request.records.length === 0) return okAsync([]);
  const chunks: WriteRecord[][] = [];
  for (let index = 0; index < request.records.length; index += config.batchSize) chunks.push(request.records.slice(index, index + config.batchSize));
  // Chunks run one after another: the runtime wrapper owns parallelism across calls.
  return chunks.reduce<ResultAsync<WriteOutcome[], CrmError>>(
    (previous, chunk) => previous.andThen((done) => writeChunk(http, config, description, request, chunk, signal).map((outcomes) => [...done, ...outcomes])),
    okAsync([]),
  );
}

function writeChunk(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: UpsertBatchRequest,
  records: readonly WriteRecord[],
  signal?: AbortSignal,
): ResultAsync<WriteOutcome[], CrmError> {
  const planned = records.map((record) => plan(config, description, request, record));
  const operations = planned.flatMap((item) => ('operation' in item ? [item.operation] : []));
  if (operations.length === 0) return okAsync(planned.map((item) => (item as { outcome: WriteOutcome }).outcome));
  const entitySet = vendorOf(description).entitySetName;
  const viaBatch = (): ResultAsync<WriteOutcome[], CrmError> =>
    sendBatch(http, operations, `POST $batch (${request.mode} ${entitySet})`, signal).map((answers) => {
      let next = 0;
      return planned.map((item, index) => {
        if ('outcome' in item) return item.outcome;
        const answer = answers[next];
        next += 1;
        return outcomeOf(request, records[index] as WriteRecord, description.primaryKey, answer);
      });
    });
  const bulk = config.bulkMessages && operations.length === records.length ? bulkCall(http, description, request, records, operations, signal) : undefined;
  if (bulk !== undefined) {
    // All-or-nothing on standard tables: a refused call committed nothing, so $batch can find who failed.
    return bulk.orElse((error) => {
      if (error.kind !== 'invalid-request' && error.kind !== 'conflict' && error.kind !== 'not-found') return errAsync(error);
      config.logger?.warn({ connector: 'dynamics', object: description.name, records: records.length, vendorCode: error.vendorCode }, 'bulk message refused the whole batch; resending it through $batch for per-record outcomes');
      return viaBatch();
    });
  }
  return viaBatch();
}

/** The bulk-message call for this chunk, when one applies (insert, or upsert by a text alternate key). */
function bulkCall(
  http: DataverseHttp,
  description: ObjectDescription,
  request: UpsertBatchRequest,
  records: readonly WriteRecord[],
  operations: readonly BatchOperation[],
  signal?: AbortSignal,
): ResultAsync<WriteOutcome[], CrmError> | undefined {
  if (request.mode === 'insert') return createMultiple(http, description, operations, signal);
  const key = request.externalIdField === undefined ? undefined : findField(description, request.externalIdField);
  if (request.mode !== 'upsert' || key === undefined || key.primaryKey || typeof records[0]?.values[key.name] !== 'string') return undefined;
  const targets: UpsertTarget[] = [];
  for (const [index, record] of records.entries()) {
    const value = record.values[key.name];
    if (typeof value !== 'string') return undefined;
    targets.push({ keyValue: value, body: JSON.parse(operations[index]?.body ?? '{}') as Record<string, unknown> });
  }
  return upsertMultiple(http, description, key, targets, signal);
}
