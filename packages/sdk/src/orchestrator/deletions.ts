/**
 * O3, import the records deleted in the CRM, and O4, delete records in the CRM.
 *
 * The deleted-record window is checked against the connector's retention before the call and
 * against what the CRM answers (`earliestDateAvailable`): a window the CRM no longer covers is
 * refused, never answered with a silently partial list. Deletes go in batches; a record that is
 * already gone counts as deleted, so a retry is harmless.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { DeletedPage, WriteOutcome } from '../contract/requests.js';
import { parseInstant, type Instant } from '../contract/values.js';
import { crmError } from '../errors/crm-error.js';
import type { RecordSink, RecordSource } from '../stores/types.js';
import { flushRejectsOrFail, storeFailure, type RunContext } from './context.js';
import type { DeleteJob, ImportDeletedJob } from './job.js';
import type { RunError, RunSummary } from './types.js';

const DAY_MS = 86_400_000;

function retentionError(context: RunContext, job: ImportDeletedJob, start: Instant, earliest: Instant): RunError {
  const error = crmError(
    'retention-exceeded',
    context.deps.connector.id,
    `deleted records of ${job.object} are only available from ${earliest}, but the window starts at ${start}; deletions before ${earliest} can no longer be read. Run a full re-sync (import everything and mark the local rows not seen as deleted), then import deletions from ${earliest} on`,
    { earliestAvailable: earliest },
  );
  return context.fail('crm', error.message, { crmError: error });
}

/** Runs (or plans) an import of deleted records. */
export async function runImportDeleted(context: RunContext, sink: RecordSink, job: ImportDeletedJob): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  context.progress('validate');
  const start = parseInstant(job.start);
  const issues = [];
  if (start === undefined) issues.push({ path: 'start', message: `"${job.start}" is not an ISO 8601 date-time with an offset, e.g. 2024-06-01T00:00:00Z` });
  const givenEnd = job.end === undefined ? undefined : parseInstant(job.end);
  if (job.end !== undefined && givenEnd === undefined) issues.push({ path: 'end', message: `"${job.end}" is not an ISO 8601 date-time with an offset` });
  const retentionDays = connector.capabilities.deletedRetentionDays;
  if (retentionDays === null) issues.push({ path: 'kind', message: `connector "${connector.id}" cannot report deleted records; use a full re-sync instead` });
  if (issues.length > 0 || start === undefined) {
    return err(context.fail('invalid-job', `import-deleted job "${job.activity}": ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues }));
  }
  let now: Instant;
  if (connector.serverTime && connector.capabilities.serverTime) {
    const serverTime = connector.serverTime.bind(connector);
    const fetched = await context.call('server time', () => serverTime());
    if (fetched.isErr()) return err(fetched.error);
    now = fetched.value;
  } else {
    // Only a bound check: the CRM's own earliestDateAvailable is checked on the answer as well.
    now = context.deps.clock().toISOString();
  }
  const end = givenEnd ?? now;
  if (end < start) {
    return err(context.fail('invalid-job', `import-deleted job "${job.activity}": end ${end} is before start ${start}; swap them`, { issues: [{ path: 'end', message: 'before start' }] }));
  }
  const earliest = new Date(Date.parse(now) - retentionDays! * DAY_MS).toISOString();
  if (start < earliest) return err(retentionError(context, job, start, earliest));
  if (context.options.dryRun) {
    return ok(
      context.summary({
        plan: {
          operation: 'import-deleted',
          activity: job.activity,
          object: job.object,
          queries: [{ object: job.object, fields: ['id', 'deletedAt'], description: `deleted between ${start} and ${end}, both inclusive` }],
          estimatedApiCalls: context.apiCalls() + 1,
          notes: ['dry run: nothing was written'],
        },
      }),
    );
  }
  let cursor: string | undefined;
  let pageNumber = 0;
  do {
    pageNumber += 1;
    const current = cursor;
    const request = { object: job.object, start, end, ...(job.pageSize === undefined ? {} : { pageSize: job.pageSize }) };
    const page: Result<DeletedPage, RunError> = await context.call(`deleted page ${pageNumber}`, () => connector.getDeleted(request, current));
    if (page.isErr()) {
      const crm = page.error.crmError;
      if (crm?.kind === 'retention-exceeded') return err(retentionError(context, job, start, crm.earliestAvailable ?? earliest));
      return err(page.error);
    }
    const { records, earliestDateAvailable, nextCursor } = page.value;
    if (earliestDateAvailable !== undefined && earliestDateAvailable > start) return err(retentionError(context, job, start, earliestDateAvailable));
    context.counts.read += records.length;
    try {
      if (records.length > 0) await sink.markDeleted(job.table, records.map((record) => ({ crmId: record.id, deletedAt: record.deletedAt })), undefined, context.fence);
    } catch (error) {
      return err(storeFailure(context, error, `applying ${records.length} deletions to table ${job.table}`));
    }
    context.counts.written += records.length;
    context.counts.deleted += records.length;
    context.progress('read');
    cursor = nextCursor;
  } while (cursor !== undefined);
  context.note(`read deletions from ${start} to ${end}, both inclusive`);
  context.progress('done');
  return ok(context.summary());
}

async function* idsOf(job: DeleteJob, source: RecordSource): AsyncIterable<string> {
  if (job.ids !== undefined) {
    for await (const id of job.ids) yield id;
    return;
  }
  for await (const batch of source.read(job.table!, job.keys === undefined ? {} : { keys: job.keys })) {
    for (const record of batch) if (record.crmId !== undefined) yield record.crmId;
  }
}

/** Sends of one id within a delete run, the first included. */
const DELETE_ATTEMPTS = 3;
/** Wait before resending ids refused with a retryable reject, times the attempt number. */
const RETRYABLE_REJECT_WAIT_MS = 500;

/** Runs (or plans) a delete job (O4). */
export async function runDelete(context: RunContext, source: RecordSource, job: DeleteJob): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  context.progress('validate');
  if ((job.ids === undefined) === (job.table === undefined)) {
    return err(context.fail('invalid-job', `delete job "${job.activity}": give either ids or table (exactly one)`, { issues: [{ path: 'ids', message: 'give either ids or table' }] }));
  }
  const batchSize = Math.min(job.batchSize ?? connector.capabilities.maxDeleteBatch, connector.capabilities.maxDeleteBatch);
  let batch: string[] = [];
  let batchNumber = 0;
  const flush = async (): Promise<Result<void, RunError>> => {
    if (batch.length === 0) return ok(undefined);
    batchNumber += 1;
    const ids = batch;
    batch = [];
    if (context.options.dryRun) return ok(undefined);
    // Deletes are idempotent, so ids refused with a retryable reject (a row lock) are simply sent
    // again, up to DELETE_ATTEMPTS sends in all; only a lock that outlasts them is a reject.
    let pending = ids;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const sent = pending;
      const result: Result<readonly WriteOutcome[], RunError> = await context.call(`delete batch ${batchNumber}`, () => connector.delete({ object: job.object, ids: sent }));
      if (result.isErr()) return err(result.error);
      if (result.value.length !== sent.length) {
        return err(context.fail('crm', `delete batch ${batchNumber}: connector "${connector.id}" returned ${result.value.length} outcomes for ${sent.length} ids`));
      }
      pending = [];
      result.value.forEach((outcome, index) => {
        const id = sent[index]!;
        // Already gone counts as deleted: a retried delete is harmless.
        if (outcome.ok || outcome.reject.code === 'not-found' || outcome.reject.code === 'deleted-in-crm') context.counts.deleted += 1;
        else if (outcome.reject.retryable && attempt < DELETE_ATTEMPTS) pending.push(id);
        else context.reject(outcome.reject, { crmId: id });
      });
      if (pending.length > 0) await context.deps.sleep(RETRYABLE_REJECT_WAIT_MS * attempt, context.options.signal);
    }
    const flushed = await flushRejectsOrFail(context);
    if (flushed.isErr()) return err(flushed.error);
    context.progress('write');
    return ok(undefined);
  };
  try {
    for await (const id of idsOf(job, source)) {
      context.counts.read += 1;
      batch.push(id);
      if (batch.length >= batchSize) {
        const flushed = await flush();
        if (flushed.isErr()) return err(flushed.error);
      }
    }
  } catch (error) {
    return err(storeFailure(context, error, 'reading the ids to delete'));
  }
  const flushed = await flush();
  if (flushed.isErr()) return err(flushed.error);
  context.progress('done');
  if (context.options.dryRun) {
    return ok(
      context.summary({
        plan: {
          operation: 'delete',
          activity: job.activity,
          object: job.object,
          queries: [],
          batches: batchNumber,
          records: context.counts.read,
          estimatedApiCalls: batchNumber,
          notes: [`${context.counts.read} ids in ${batchNumber} batches of at most ${batchSize}; nothing was deleted (dry run)`],
        },
      }),
    );
  }
  return ok(context.summary());
}
