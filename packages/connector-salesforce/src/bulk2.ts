/**
 * Bulk API 2.0 ingest for large write batches: create job, upload one CSV, close, poll, then read
 * the three result sets. Results are matched back to input records by key (Id for update, the
 * external-id value for upsert, the full uploaded row for insert), never by row order: Salesforce
 * does not keep the upload order in its result files.
 *
 * The job is driven with raw REST calls rather than `conn.bulk2.loadAndWaitForResults`, whose
 * 30-second default poll time-out and silent job delete on errors hide what happened.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultAsync } from 'neverthrow';
import { crmError, type CrmError, type FieldValues, type UpsertBatchRequest, type WriteOutcome } from '@crm-sync/sdk';
import type { SalesforceApi } from './api.js';
import { parseBulkCsv, toBulkCsv } from './csv.js';
import { CONNECTOR_ID, rejectFromBulkError } from './errors.js';
import { missingOnUpdate } from './write-outcomes.js';
import type { PreparedRecord } from './upsert-batch.js';

/** Poll interval bounds (ms): start fast for small jobs, back off for long ones. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 5000;
/** Give up polling (the job keeps running in Salesforce) after this long. */
const BULK_POLL_TIMEOUT_MS = 30 * 60_000;

interface IngestJobInfo {
  readonly id: string;
  readonly state: string;
  readonly errorMessage?: string;
}

/** The key a result row is matched by. */
function rowKey(request: UpsertBatchRequest, columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  if (request.mode === 'update') return String(row.Id ?? row.id ?? '').toLowerCase();
  if (request.mode === 'upsert') return String(row[request.externalIdField!] ?? '');
  return JSON.stringify(columns.map((column) => (row[column] === null ? '#N/A' : String(row[column] ?? ''))));
}

/** `values` with every `""` as `null` (a copy only when there is one). */
function withEmptyAsNull(values: FieldValues): FieldValues {
  if (!Object.values(values).includes('')) return values;
  const out: FieldValues = {};
  for (const [name, value] of Object.entries(values)) out[name] = value === '' ? null : value;
  return out;
}

/** Runs one ingest job for `records` and returns one outcome per record, in input order. */
export function bulkIngest(
  api: SalesforceApi,
  request: UpsertBatchRequest,
  records: readonly PreparedRecord[],
  signal: AbortSignal | undefined,
): ResultAsync<WriteOutcome[], CrmError> {
  const base = `${api.basePath}/jobs/ingest`;
  const columnSet = new Set<string>();
  if (request.mode === 'update') columnSet.add('Id');
  for (const record of records) for (const name of Object.keys(record.values)) columnSet.add(name);
  const columns = [...columnSet];
  // One header for records with different field sets: a field a record does not carry is an empty
  // cell, which Bulk API 2.0 leaves unchanged (absent is not null); `null` is `#N/A`, which clears
  // it. An empty text is sent as `#N/A` too: an empty cell would drop it silently, and Salesforce
  // stores an empty text as null anyway (as sObject Collections do with "").
  const rows = records.map((record) => {
    const values = withEmptyAsNull(record.values);
    return record.id ? { ...values, Id: record.id } : values;
  });
  let closing = false;
  const run = async (): Promise<WriteOutcome[]> => {
    const unwrap = async <T>(result: ResultAsync<T, CrmError>): Promise<T> => {
      const settled = await result;
      if (settled.isErr()) throw settled.error;
      return settled.value;
    };
    const job = await unwrap(
      api.call<IngestJobInfo>({
        method: 'POST',
        path: base,
        body: {
          object: request.object,
          operation: request.mode,
          ...(request.mode === 'upsert' ? { externalIdFieldName: request.externalIdField } : {}),
          contentType: 'CSV',
          lineEnding: 'LF',
          columnDelimiter: 'COMMA',
        },
      }),
    );
    if (!/^[A-Za-z0-9]{15,18}$/.test(job.body.id)) throw crmError('unknown', CONNECTOR_ID, 'Bulk API 2.0 returned a job without a valid id');
    const jobPath = `${base}/${job.body.id}`;
    await unwrap(api.call({ method: 'PUT', path: `${jobPath}/batches`, rawBody: toBulkCsv(columns, rows), headers: { 'Content-Type': 'text/csv' }, expectText: true }));
    // From here on Salesforce may be writing the records: any failure leaves the batch in doubt.
    closing = true;
    await unwrap(api.call<IngestJobInfo>({ method: 'PATCH', path: jobPath, body: { state: 'UploadComplete' } }));
    const started = Date.now();
    let wait = FIRST_POLL_MS;
    let state = 'UploadComplete';
    let errorMessage: string | undefined;
    while (!['JobComplete', 'Failed', 'Aborted'].includes(state)) {
      if (signal?.aborted) throw crmError('transient', CONNECTOR_ID, `Bulk API 2.0 job ${job.body.id} was abandoned (aborted); it may still complete in Salesforce`, { inDoubt: true });
      if (Date.now() - started > BULK_POLL_TIMEOUT_MS) {
        throw crmError('transient', CONNECTOR_ID, `Bulk API 2.0 job ${job.body.id} did not finish within ${BULK_POLL_TIMEOUT_MS / 60_000} minutes; its records may still be written`, { inDoubt: true });
      }
      await sleep(wait);
      wait = Math.min(MAX_POLL_MS, wait * 2);
      const info = await unwrap(api.call<IngestJobInfo>({ method: 'GET', path: jobPath }));
      state = info.body.state;
      errorMessage = info.body.errorMessage;
    }
    if (state !== 'JobComplete') {
      throw crmError('transient', CONNECTOR_ID, `Bulk API 2.0 job ${job.body.id} ended ${state}${errorMessage ? `: ${errorMessage}` : ''}; some records may have been written`, {
        inDoubt: true,
        vendorMessage: errorMessage,
      });
    }
    const fetchCsv = async (name: string): Promise<Record<string, string>[]> =>
      parseBulkCsv((await unwrap(api.call<string>({ method: 'GET', path: `${jobPath}/${name}`, headers: { Accept: 'text/csv' }, expectText: true }))).body);
    const [successful, failed, unprocessed] = await Promise.all([fetchCsv('successfulResults'), fetchCsv('failedResults'), fetchCsv('unprocessedrecords')]);
    const byKey = new Map<string, WriteOutcome[]>();
    const add = (row: Record<string, string>, outcome: WriteOutcome): void => {
      const key = rowKey(request, columns, row);
      const list = byKey.get(key) ?? [];
      list.push(outcome);
      byKey.set(key, list);
    };
    for (const row of successful) {
      add(row, { ok: true, id: row.sf__Id ?? '', action: row.sf__Created === 'true' ? 'created' : 'updated' });
    }
    for (const row of failed) {
      const outcome: WriteOutcome = { ok: false, ...(row.sf__Id ? { id: row.sf__Id } : {}), reject: rejectFromBulkError(row.sf__Error ?? '') };
      add(row, request.mode === 'update' ? missingOnUpdate(outcome) : outcome);
    }
    for (const row of unprocessed) {
      add(row, { ok: false, reject: { code: 'unknown', message: 'Bulk API 2.0 did not process this record (job aborted or failed); send it again', retryable: true } });
    }
    return rows.map((row) => {
      const stringRow: Record<string, unknown> = {};
      for (const column of columns) stringRow[column] = row[column] === null ? null : row[column] === undefined ? '' : String(row[column]);
      const list = byKey.get(rowKey(request, columns, stringRow));
      return (
        list?.shift() ?? {
          ok: false as const,
          reject: { code: 'unknown' as const, message: 'Bulk API 2.0 reported no result for this record; it may or may not be written', retryable: false },
        }
      );
    });
  };
  return ResultAsync.fromPromise(run(), (error) => {
    const crmFailure = error as CrmError;
    return closing && !crmFailure.inDoubt
      ? { ...crmFailure, inDoubt: true, message: `${crmFailure.message} (Bulk API 2.0 job already closed: its records may be written; settle the batch by its sync key)` }
      : crmFailure;
  });
}
