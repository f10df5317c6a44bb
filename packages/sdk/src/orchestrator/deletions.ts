/**
 * O3, import the records deleted in the CRM, and O4, delete records in the CRM.
 *
 * The deleted-record window is checked by the CRM itself (its retention error, carrying its own
 * earliest date) and against what it answers (`earliestDateAvailable`): a window the CRM no longer
 * covers is refused, never answered with a silently partial list. A dry run, which calls nothing,
 * checks the connector's retention instead. The run's end is what the CRM's answer covered
 * (`latestDateCovered`), never more. Deletes go in batches; a record that is
 * already gone counts as deleted, so a retry is harmless.
 *
 * Both are guarded: deleting every linked row of a table needs `confirm: 'all-linked-rows'`, and
 * a `maxDeletes` limit is checked before the first delete request (every id is read first,
 * distinct as the CRM compares them) and before the first local row is marked deleted (every
 * page is read first). Over it, nothing is deleted or marked.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { DeletedPage, DeletedRecord, RecordPage, WriteOutcome } from '../contract/requests.js';
import { idNormalizer } from '../contract/normalize-id.js';
import { parseInstant, type Instant } from '../contract/values.js';
import { crmError } from '../errors/crm-error.js';
import type { RecordSource } from '../stores/types.js';
import { flushRejectsOrFail, storeFailure, type RunContext } from './context.js';
import type { ImportStores } from './import-write.js';
import { DEFAULT_MAX_DELETES, defaultDeletedOption, type DeleteJob, type DeleteLimit, type ImportDeletedJob } from './job.js';
import type { RunError, RunSummary } from './types.js';
import { formatWatermark, minInstant, readWatermark, watermarkCheckpoint } from './watermark.js';

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

/** A `maxDeletes` percentage: `10%`, `2.5%`. */
const PERCENT = /^(\d+(?:\.\d+)?)%$/;

/** A checked `maxDeletes`: a count, or a percentage still to be applied to the object's count. */
type LimitSetting = { readonly count: number; readonly given: boolean } | { readonly percent: number; readonly text: string };

/** The limit a run enforces, with how it was reached for messages. */
interface DeleteLimitInForce {
  readonly max: number;
  /** `the default 500`, `maxDeletes 100`, `maxDeletes "10%" of the 2944 records of Contact`. */
  readonly described: string;
}

/** Checks `maxDeletes` without calling anything; a message for the `maxDeletes` issue otherwise. */
function parseDeleteLimit(value: DeleteLimit | undefined): LimitSetting | string {
  if (value === undefined) return { count: DEFAULT_MAX_DELETES, given: false };
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 1) return { count: value, given: true };
    return `${String(value)} is not a whole number >= 1; give a count such as 500 or a percentage of the object such as "10%"`;
  }
  const match = typeof value === 'string' ? PERCENT.exec(value.trim()) : null;
  const percent = match === null ? Number.NaN : Number(match[1]);
  if (percent > 0 && percent <= 100) return { percent, text: value.trim() };
  return `"${String(value)}" is not a count or a percentage above 0% and at most 100%; give e.g. 500 or "10%"`;
}

/**
 * Counts the records of `object` in the CRM for a percentage limit. The contract has no count
 * call, so this pages through an id-only query at the connector's largest page size: one call
 * per `maxPageSize` records (2 calls for 2,944 Salesforce contacts).
 */
async function countRecords(context: RunContext, object: string): Promise<Result<number, RunError>> {
  const { connector } = context.deps;
  let total = 0;
  let cursor: string | undefined;
  let pageNumber = 0;
  do {
    pageNumber += 1;
    const current = cursor;
    const page: Result<RecordPage, RunError> = await context.call(`count of ${object} page ${pageNumber}`, () =>
      connector.query({ object, fields: [], pageSize: connector.capabilities.maxPageSize }, current),
    );
    if (page.isErr()) return err(page.error);
    total += page.value.records.length;
    cursor = page.value.nextCursor;
  } while (cursor !== undefined);
  return ok(total);
}

/** The limit in force: the count, or the percentage applied to the object's current record count. */
async function limitInForce(context: RunContext, object: string, setting: LimitSetting): Promise<Result<DeleteLimitInForce, RunError>> {
  if ('count' in setting) return ok({ max: setting.count, described: setting.given ? `maxDeletes ${setting.count}` : `the default limit of ${setting.count} (maxDeletes)` });
  const total = await countRecords(context, object);
  if (total.isErr()) return err(total.error);
  const max = Math.floor((total.value * setting.percent) / 100);
  return ok({ max, described: `maxDeletes "${setting.text}" of the ${total.value} records of ${object} (${max})` });
}

/** The refusal of a run over its limit: nothing was deleted or marked. */
function overLimit(context: RunContext, what: string, count: string, limit: DeleteLimitInForce, nothing: string): RunError {
  const needed = count.startsWith('more than ') ? `a count above ${count.slice('more than '.length)}` : count;
  const message = `${count} ${what}, more than ${limit.described}; ${nothing}. If that many is intended, raise the limit in the job: maxDeletes: ${needed} (or a percentage of the object, e.g. "50%")`;
  return context.fail('invalid-job', `${context.job.kind} job "${context.job.activity}": ${message}`, { issues: [{ path: 'maxDeletes', message }] });
}

/** The change field name stored in the meta of a deleted-records index option. */
const DELETED_INDEX_FIELD = 'deletedAt';

/**
 * Runs (or plans) an import of deleted records.
 *
 * The run reports, as its end, what the CRM's answer really covered: the smallest
 * `latestDateCovered` of its pages, never later than the asked end (Salesforce does not report the
 * deletions of the current minute yet). With an automatic index the window starts at the previous
 * run's covered end and the new covered end is stored with the last page's deletions, so a
 * deletion the CRM had not replicated yet is read by the next window instead of being lost.
 */
export async function runImportDeleted(context: RunContext, stores: ImportStores, job: ImportDeletedJob): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  const { sink } = stores;
  context.progress('validate');
  let start = parseInstant(job.start);
  const issues = [];
  if (start === undefined) issues.push({ path: 'start', message: `"${job.start}" is not an ISO 8601 date-time with an offset, e.g. 2024-06-01T00:00:00Z` });
  const givenEnd = job.end === undefined ? undefined : parseInstant(job.end);
  if (job.end !== undefined && givenEnd === undefined) issues.push({ path: 'end', message: `"${job.end}" is not an ISO 8601 date-time with an offset` });
  const retentionDays = connector.capabilities.deletedRetentionDays;
  if (retentionDays === null) issues.push({ path: 'kind', message: `connector "${connector.id}" cannot report deleted records; use a full re-sync instead` });
  const limitSetting = parseDeleteLimit(job.maxDeletes);
  if (typeof limitSetting === 'string') issues.push({ path: 'maxDeletes', message: limitSetting });
  if (issues.length > 0 || start === undefined || typeof limitSetting === 'string') {
    return err(context.fail('invalid-job', `import-deleted job "${job.activity}": ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues }));
  }
  let optionName: string | undefined;
  if (job.automaticIndex?.enabled) {
    optionName = job.automaticIndex.option ?? defaultDeletedOption(job);
    let stored;
    try {
      stored = await stores.options.getOption(optionName);
    } catch (error) {
      return err(storeFailure(context, error, `reading option ${optionName}`));
    }
    const position = readWatermark(stored, DELETED_INDEX_FIELD);
    if (position.isErr()) return err(context.fail('watermark', position.error));
    if (position.value !== undefined) {
      start = position.value.at;
      context.note(`the window starts at ${start}, where the previous run's answer ended (option ${optionName})`);
    }
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
  if (context.options.dryRun) {
    // A plan makes no CRM call, so the connector's retention is the only bound it can check. A
    // real run asks the CRM, which answers with its own earliest date.
    if (start < earliest) return err(retentionError(context, job, start, earliest));
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
  const limit = await limitInForce(context, job.object, limitSetting);
  if (limit.isErr()) return err(limit.error);
  // Every page is read before the first row is marked, so that a window over the limit marks
  // nothing. Only up to the limit is kept; past it the rest is only counted, for the message.
  const pending: DeletedRecord[][] = [];
  let found = 0;
  let cursor: string | undefined;
  let pageNumber = 0;
  let covered = end;
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
    const { records, earliestDateAvailable, latestDateCovered, nextCursor } = page.value;
    if (earliestDateAvailable !== undefined && earliestDateAvailable > start) return err(retentionError(context, job, start, earliestDateAvailable));
    covered = minInstant(covered, latestDateCovered);
    context.counts.read += records.length;
    found += records.length;
    if (found <= limit.value.max && records.length > 0) pending.push([...records]);
    else pending.length = 0;
    context.progress('read');
    cursor = nextCursor;
  } while (cursor !== undefined);
  if (found > limit.value.max) {
    return err(overLimit(context, `deleted records of ${job.object} to mark deleted in table ${job.table}`, String(found), limit.value, 'no local row was marked'));
  }
  // A covered end before the start means the answer covered nothing new: the next window starts
  // where this one did.
  const coveredEnd = covered < start ? start : covered;
  // The last write stores the covered end (with its deletions when the sink can do both at once).
  const checkpoint = optionName === undefined ? undefined : watermarkCheckpoint(optionName, DELETED_INDEX_FIELD, { at: coveredEnd });
  const batches: DeletedRecord[][] = pending.length > 0 ? pending : [[]];
  for (const [index, records] of batches.entries()) {
    const last = index === batches.length - 1;
    const atomic = last && checkpoint !== undefined && sink.atomicCheckpoint ? checkpoint : undefined;
    try {
      if (records.length > 0 || atomic !== undefined) {
        await sink.markDeleted(job.table, records.map((record) => ({ crmId: record.id, deletedAt: record.deletedAt })), atomic, context.fence);
      }
      if (last && checkpoint !== undefined && !sink.atomicCheckpoint) await stores.options.setOption(checkpoint.optionName, checkpoint.value, checkpoint.meta, context.fence);
    } catch (error) {
      return err(storeFailure(context, error, `applying ${records.length} deletions to table ${job.table}`));
    }
    context.counts.written += records.length;
    context.counts.deleted += records.length;
    context.progress('write');
  }
  if (coveredEnd < end) {
    context.note(`the CRM covered deletions up to ${coveredEnd} only (asked up to ${end}); deletions after it are left to the next window, which must start at ${coveredEnd}`);
  }
  context.note(`read deletions from ${start} to ${coveredEnd}, both inclusive`);
  context.progress('done');
  return ok(
    context.summary({
      deletedWindow: { start, end: coveredEnd, requestedEnd: end, ...(optionName === undefined ? {} : { optionName }) },
      variables: {
        ...(optionName === undefined ? {} : { crmOptionName: optionName }),
        crmStartImport: formatWatermark(start),
        crmEndDate: formatWatermark(coveredEnd),
      },
    }),
  );
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

/** Ids a dry run lists; a refusal names the count only. */
const IDS_IN_PLAN = 10;
/** Past the limit, distinct ids are still counted for the message, up to this many. */
const MAX_IDS_COUNTED = 1_000_000;

/** The ids of a delete run, distinct as the CRM compares them, read in full before any is sent. */
interface IdsToDelete {
  /** Canonical ids, in first-seen order; complete when `over` is false. */
  readonly ids: readonly string[];
  /** Distinct ids read (exact up to {@link MAX_IDS_COUNTED}). */
  readonly count: number;
  /** More ids than the limit: nothing may be sent. */
  readonly over: boolean;
  /** Ids read again in another form (or twice), sent once. */
  readonly duplicates: number;
}

/** Reads every id to delete before the first delete request, keeping at most `limit + 1`. */
async function collectIds(context: RunContext, job: DeleteJob, source: RecordSource, limit: number): Promise<Result<IdsToDelete, RunError>> {
  const normalize = idNormalizer(context.deps.connector, job.object);
  const seen = new Set<string>();
  const ids: string[] = [];
  let duplicates = 0;
  try {
    for await (const id of idsOf(job, source)) {
      context.counts.read += 1;
      const canonical = normalize(id);
      if (seen.has(canonical)) {
        duplicates += 1;
        continue;
      }
      if (seen.size >= MAX_IDS_COUNTED && seen.size > limit) break;
      seen.add(canonical);
      // Past the limit the ids are only counted: nothing will be sent.
      if (ids.length <= limit) ids.push(canonical);
    }
  } catch (error) {
    return err(storeFailure(context, error, 'reading the ids to delete'));
  }
  return ok({ ids, count: seen.size, over: seen.size > limit, duplicates });
}

/** Checks what a delete job asks for, before any call; the issues otherwise. */
function checkDeleteJob(job: DeleteJob): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if ((job.ids === undefined) === (job.table === undefined)) {
    issues.push({ path: 'ids', message: 'give either ids or table (exactly one)' });
  } else if (job.confirm !== undefined && job.confirm !== 'all-linked-rows') {
    issues.push({ path: 'confirm', message: `"${String(job.confirm)}" is not a confirmation; the only one is "all-linked-rows"` });
  } else if (job.table !== undefined && job.keys === undefined && job.confirm === undefined) {
    issues.push({
      path: 'confirm',
      message: `this deletes the CRM record of every linked row of table ${job.table}; if that is intended, add confirm: all-linked-rows to the job, otherwise name the records (keys or ids)`,
    });
  } else if (job.confirm !== undefined && (job.ids !== undefined || job.keys !== undefined)) {
    issues.push({ path: 'confirm', message: `confirm: all-linked-rows is for deleting every linked row of a table; this job names its records (${job.ids !== undefined ? 'ids' : 'keys'}), so remove confirm` });
  }
  return issues;
}

/** Runs (or plans) a delete job (O4). */
export async function runDelete(context: RunContext, source: RecordSource, job: DeleteJob): Promise<Result<RunSummary, RunError>> {
  const { connector } = context.deps;
  context.progress('validate');
  const issues = checkDeleteJob(job);
  const limitSetting = parseDeleteLimit(job.maxDeletes);
  if (typeof limitSetting === 'string') issues.push({ path: 'maxDeletes', message: limitSetting });
  if (issues.length > 0 || typeof limitSetting === 'string') {
    return err(context.fail('invalid-job', `delete job "${job.activity}": ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, { issues }));
  }
  const limit = await limitInForce(context, job.object, limitSetting);
  if (limit.isErr()) return err(limit.error);
  const batchSize = Math.min(job.batchSize ?? connector.capabilities.maxDeleteBatch, connector.capabilities.maxDeleteBatch);
  const collected = await collectIds(context, job, source, limit.value.max);
  if (collected.isErr()) return err(collected.error);
  const { ids, count, over, duplicates } = collected.value;
  const counted = count >= MAX_IDS_COUNTED ? `more than ${MAX_IDS_COUNTED}` : String(count);
  if (duplicates > 0) context.note(`${duplicates} ids name a record already listed (the same id, or another form of it) and are sent once`);
  if (context.options.dryRun) {
    const batches = Math.ceil(ids.length / batchSize);
    const first = ids.slice(0, IDS_IN_PLAN).join(', ');
    return ok(
      context.summary({
        plan: {
          operation: 'delete',
          activity: job.activity,
          object: job.object,
          queries: [],
          batches: over ? 0 : batches,
          records: count,
          estimatedApiCalls: over ? 0 : batches,
          notes: [
            over
              ? `${counted} ids to delete, more than ${limit.value.described}: a real run would be refused and delete nothing; raise maxDeletes to run it`
              : `${count} ids in ${batches} batches of at most ${batchSize}, within ${limit.value.described}; nothing was deleted (dry run)`,
            ...(count > 0 ? [`first ids: ${first}${count > IDS_IN_PLAN ? `, ... (${counted} in all)` : ''}`] : []),
          ],
        },
      }),
    );
  }
  if (over) {
    return err(overLimit(context, `records of ${job.object} to delete${job.table === undefined ? '' : ` (linked rows of table ${job.table})`}`, counted, limit.value, 'nothing was deleted'));
  }
  let batchNumber = 0;
  const send = async (sentIds: readonly string[]): Promise<Result<void, RunError>> => {
    batchNumber += 1;
    // Deletes are idempotent, so ids refused with a retryable reject (a row lock) are simply sent
    // again, up to DELETE_ATTEMPTS sends in all; only a lock that outlasts them is a reject.
    let pending = sentIds;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const sent = pending;
      const result: Result<readonly WriteOutcome[], RunError> = await context.call(`delete batch ${batchNumber}`, () => connector.delete({ object: job.object, ids: sent }));
      if (result.isErr()) return err(result.error);
      if (result.value.length !== sent.length) {
        return err(context.fail('crm', `delete batch ${batchNumber}: connector "${connector.id}" returned ${result.value.length} outcomes for ${sent.length} ids`));
      }
      const retry: string[] = [];
      result.value.forEach((outcome, index) => {
        const id = sent[index]!;
        // Already gone counts as deleted: a retried delete is harmless.
        if (outcome.ok || outcome.reject.code === 'not-found' || outcome.reject.code === 'deleted-in-crm') context.counts.deleted += 1;
        else if (outcome.reject.retryable && attempt < DELETE_ATTEMPTS) retry.push(id);
        else context.reject(outcome.reject, { crmId: id });
      });
      pending = retry;
      if (pending.length > 0) await context.deps.sleep(RETRYABLE_REJECT_WAIT_MS * attempt, context.options.signal);
    }
    const flushed = await flushRejectsOrFail(context);
    if (flushed.isErr()) return err(flushed.error);
    context.progress('write');
    return ok(undefined);
  };
  for (let start = 0; start < ids.length; start += batchSize) {
    const sent = await send(ids.slice(start, start + batchSize));
    if (sent.isErr()) return err(sent.error);
  }
  context.progress('done');
  return ok(context.summary());
}
