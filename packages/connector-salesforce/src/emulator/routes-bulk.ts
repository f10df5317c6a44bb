/**
 * Bulk API 2.0 ingest jobs: create (`Open`), upload one CSV (201), close (`UploadComplete`, then
 * processed at once to `JobComplete`), poll, the three result CSVs and delete. Result rows are
 * written in reverse upload order on purpose: Salesforce does not promise upload order, and a
 * client that matches results by position must fail here.
 *
 * @module
 */
import type { FieldValue, FieldValues, ObjectDescription, WriteOutcome } from '@crm-sync/sdk';
import { parseBulkCsv, toBulkCsv, BULK_NULL } from '../csv.js';
import { toCanonicalSalesforceId } from '../ids.js';
import { platformError } from './platform.js';
import { canonicalValues, json, salesforceDateTime, sfError, type EmulatorContext, type IngestJob, type RouteAnswer } from './context.js';

const OPERATIONS = new Set(['insert', 'update', 'upsert', 'delete']);

function jobInfo(job: IngestJob, apiVersion: string): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: '005EMU000000001AAA',
    createdDate: job.createdDate,
    systemModstamp: job.createdDate,
    state: job.state,
    ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(apiVersion),
    jobType: 'V2Ingest',
    contentUrl: `services/data/v${apiVersion}/jobs/ingest/${job.id}/batches`,
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    numberRecordsProcessed: job.successful.length + job.failed.length,
    numberRecordsFailed: job.failed.length,
    retries: 0,
    totalProcessingTime: 0,
    apiActiveProcessingTime: 0,
    apexProcessingTime: 0,
  };
}

/** CSV cells to engine values by field type; `#N/A` is null, an empty cell is left out. */
function valuesOf(description: ObjectDescription, row: Readonly<Record<string, string>>): FieldValues {
  const fields = new Map(description.fields.map((f) => [f.name, f]));
  const raw: Record<string, FieldValue> = {};
  for (const [name, cell] of Object.entries(row)) {
    if (cell === '') continue;
    if (cell === BULK_NULL) {
      raw[name] = null;
      continue;
    }
    const type = fields.get(name)?.type;
    if (type === 'integer' || type === 'decimal' || type === 'currency' || type === 'percent') raw[name] = Number.isNaN(Number(cell)) ? cell : Number(cell);
    else if (type === 'boolean') raw[name] = cell === 'true' ? true : cell === 'false' ? false : cell;
    else raw[name] = cell;
  }
  return canonicalValues(description, raw);
}

function bulkErrorCell(outcome: Extract<WriteOutcome, { ok: false }>): string {
  return `${outcome.reject.symbol ?? 'UNKNOWN_EXCEPTION'}:${outcome.reject.message}:${(outcome.reject.fields ?? []).join(',')} --`;
}

/** Applies an uploaded CSV to the engine and fills the job's results. */
async function process(context: EmulatorContext, job: IngestJob): Promise<void> {
  const description = context.describe(job.object)!;
  const rows = await parseBulkCsv(job.csv ?? '');
  job.columns = rows[0] ? Object.keys(rows[0]) : [];
  for (const row of rows) {
    const values = valuesOf(description, row);
    let outcome: WriteOutcome;
    const rawId = row.Id ?? row.id ?? '';
    const id = toCanonicalSalesforceId(rawId);
    const refused = job.operation === 'delete' ? undefined : platformError(description, values);
    if (refused) {
      job.failed.unshift({ sf__Id: '', sf__Error: `${refused.statusCode}:${refused.message}:${refused.fields.join(',')} --`, ...row });
      continue;
    }
    switch (job.operation) {
      case 'insert':
        outcome = context.crm.insert(job.object, values);
        break;
      case 'upsert':
        outcome = context.crm.upsert(job.object, job.externalIdFieldName!, values);
        break;
      case 'update': {
        const { Id: _id, ...rest } = values;
        outcome = id.isErr() ? { ok: false, reject: { code: 'invalid-value', symbol: 'MALFORMED_ID', message: `malformed id ${rawId}`, retryable: false } } : context.crm.update(job.object, id.value, rest);
        // As in sObject Collections: a well-formed id no record has is INVALID_CROSS_REFERENCE_KEY.
        if (!outcome.ok && outcome.reject.code === 'not-found') outcome = { ok: false, reject: { code: 'invalid-value', symbol: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', retryable: false } };
        break;
      }
      default:
        outcome = id.isErr() ? { ok: false, reject: { code: 'invalid-value', symbol: 'MALFORMED_ID', message: `malformed id ${rawId}`, retryable: false } } : context.crm.delete(job.object, id.value);
    }
    if (outcome.ok) job.successful.unshift({ sf__Id: outcome.id, sf__Created: String(outcome.action === 'created'), ...row });
    else job.failed.unshift({ sf__Id: outcome.id ?? '', sf__Error: bulkErrorCell(outcome), ...row });
  }
  job.state = 'JobComplete';
}

/** Routes under `/jobs/ingest`. */
export async function handleIngest(context: EmulatorContext, apiVersion: string, method: string, segments: readonly string[], body: unknown, text: string): Promise<RouteAnswer> {
  const [jobId, part] = segments;
  if (jobId === undefined) {
    if (method !== 'POST') return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are POST`);
    const request = (body ?? {}) as { object?: string; operation?: string; externalIdFieldName?: string; contentType?: string };
    if (!request.object || !context.describe(request.object)) return sfError(400, 'INVALIDENTITY', `Entity '${request.object ?? ''}' is not supported by the Bulk API.`);
    if (!request.operation || !OPERATIONS.has(request.operation)) return sfError(400, 'INVALIDJOB', `Invalid operation ${request.operation ?? ''}`);
    if (request.operation === 'upsert') {
      const field = context.describe(request.object)!.fields.find((f) => f.name === request.externalIdFieldName);
      if (!field || !(field.externalId || field.idLookup)) return sfError(400, 'INVALIDJOB', 'External ID was blank or not an external id field');
    }
    const job: IngestJob = {
      id: context.newId('750'),
      object: request.object,
      operation: request.operation,
      ...(request.externalIdFieldName ? { externalIdFieldName: request.externalIdFieldName } : {}),
      state: 'Open',
      createdDate: salesforceDateTime(context.crm.clock.now().toISOString()),
      successful: [],
      failed: [],
      unprocessed: [],
      columns: [],
    };
    context.jobs.set(job.id, job);
    return json(200, jobInfo(job, apiVersion));
  }
  const job = context.jobs.get(jobId);
  if (!job) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  if (part === 'batches') {
    if (method !== 'PUT') return sfError(405, 'METHOD_NOT_ALLOWED', 'Allowed are PUT');
    if (job.state !== 'Open') return sfError(409, 'INVALIDJOBSTATE', `Job is not open for upload (state ${job.state})`);
    job.csv = (job.csv ?? '') + text;
    return { status: 201 };
  }
  if (part === 'successfulResults' || part === 'failedResults' || part === 'unprocessedrecords') {
    if (job.state !== 'JobComplete' && job.state !== 'Failed' && job.state !== 'Aborted') return sfError(412, 'JOB_NOT_COMPLETE', 'Job is not complete');
    const prefix = part === 'successfulResults' ? ['sf__Id', 'sf__Created'] : part === 'failedResults' ? ['sf__Id', 'sf__Error'] : [];
    const rows = part === 'successfulResults' ? job.successful : part === 'failedResults' ? job.failed : job.unprocessed;
    return { status: 200, text: toBulkCsv([...prefix, ...job.columns], rows), contentType: 'text/csv' };
  }
  if (part !== undefined) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  if (method === 'GET') return json(200, jobInfo(job, apiVersion));
  if (method === 'DELETE') {
    context.jobs.delete(job.id);
    return { status: 204 };
  }
  if (method === 'PATCH') {
    const state = (body as { state?: string } | null)?.state;
    if (state === 'Aborted') {
      job.state = 'Aborted';
      return json(200, jobInfo(job, apiVersion));
    }
    if (state !== 'UploadComplete') return sfError(400, 'INVALIDJOBSTATE', `Invalid state ${state ?? ''}`);
    if (job.state !== 'Open') return sfError(409, 'INVALIDJOBSTATE', `Job is not open (state ${job.state})`);
    job.state = 'UploadComplete';
    await process(context, job);
    return json(200, { ...jobInfo(job, apiVersion), state: 'UploadComplete' });
  }
  return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed`);
}
