/**
 * Maps a checked job file onto the SDK's job types (`ImportJob`, `ExportJob`, `ImportDeletedJob`,
 * `DeleteJob`), one option to one field, so that the CLI adds no behaviour of its own.
 *
 * @module
 */
import {
  evaluateExpression,
  midnightInZone,
  parseInstant,
  zoneFor,
  SINCE_LAST_EXPORT,
  type DeleteJob,
  type DeleteLimit,
  type ErrorRetryPolicy,
  type ExportJob,
  type ImportDeletedJob,
  type ImportJob,
  type Instant,
  type OrderBy,
  type SyncJob,
} from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import { parseDuration } from './duration.js';
import { DELETE_ALL_LINKED_ROWS, type JobFile } from './job-schema.js';
import type { LoadedJob } from './load-job.js';
import type { FileIssue } from './schema-issues.js';

const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
/** What an instant setting without expressions accepts, for messages. */
const PLAIN_INSTANT = 'a date "YYYY-MM-DD" or an ISO date-time with offset such as "2024-06-01T00:00:00Z"';

/** Builds the SDK job. `now` fixes expressions (`daysAgo(7)`) for the whole run. */
export function toSyncJob(loaded: LoadedJob, now: Date): Result<SyncJob, FileIssue[]> {
  const job = loaded.job;
  const base = {
    activity: job.activity,
    object: job.object,
    ...(job.instance !== undefined ? { instance: job.instance } : {}),
    ...(job.behavior?.processRejects !== undefined ? { processRejects: job.behavior.processRejects } : {}),
    ...(job.behavior?.processErrors !== undefined ? { processErrors: errorPolicy(job.behavior.processErrors) } : {}),
  };
  const timeZone = job.timeZone ?? 'UTC';
  switch (job.operation) {
    case 'import':
      return importJob(loaded, base, timeZone, now);
    case 'export':
      return exportJob(job, base, timeZone, now);
    case 'import-deleted':
      return importDeletedJob(job, base, timeZone, now);
    case 'delete': {
      // Checked here, not in the schema, so that the message is the fix without a "got" tail.
      if (loaded.ids === undefined && job.local !== undefined && job.confirm === undefined) {
        return err([
          {
            path: ['local'],
            message: `this deletes the CRM record of every linked row of table ${job.local.table}; if that is intended, add confirm: ${DELETE_ALL_LINKED_ROWS} to the job, otherwise list the records to delete in ids`,
          },
        ]);
      }
      const deleteJob: DeleteJob = {
        ...base,
        kind: 'delete',
        ...(loaded.ids !== undefined ? { ids: loaded.ids } : {}),
        ...(loaded.ids === undefined && job.local !== undefined ? { table: job.local.table } : {}),
        ...(job.batchSize !== undefined ? { batchSize: job.batchSize } : {}),
        ...(job.confirm !== undefined ? { confirm: job.confirm } : {}),
        ...(job.maxDeletes !== undefined ? { maxDeletes: job.maxDeletes as DeleteLimit } : {}),
      };
      return ok(deleteJob);
    }
  }
}

function errorPolicy(value: boolean | { retry: { attempts: number; wait: string | number } }): boolean | ErrorRetryPolicy {
  if (typeof value === 'boolean') return value;
  return { retries: value.retry.attempts, waitMs: parseDuration(value.retry.wait) ?? 0 };
}

function fields(job: JobFile) {
  return (job.fields ?? []).map((field) => ({
    remote: field.remote,
    local: field.local ?? field.remote,
    ...(field.conversion !== undefined ? { conversion: field.conversion } : {}),
  }));
}

/** `"LastName desc"` or `{ field, direction }` to an SDK sort key. */
function orderBy(entry: string | { field: string; direction?: 'asc' | 'desc' | undefined }): OrderBy {
  if (typeof entry !== 'string') return { field: entry.field, direction: entry.direction ?? 'asc' };
  const [field = entry, direction] = entry.trim().split(/\s+/);
  return { field, direction: direction?.toLowerCase() === 'desc' ? 'desc' : 'asc' };
}

function importJob(loaded: LoadedJob, base: Omit<ImportJob, 'kind' | 'fields' | 'table'>, timeZone: string, now: Date): Result<ImportJob, FileIssue[]> {
  const job = loaded.job;
  const index = job.automaticIndex;
  // Checked here so that a mistyped start is an input error (exit 2) before anything is opened,
  // not a query the CRM refuses after the database was created.
  const initialStart =
    typeof index === 'object' && index.initialStart !== undefined
      ? instantBound(index.initialStart, ['automaticIndex', 'initialStart'], 'start', timeZone, now, PLAIN_INSTANT)
      : ok(undefined);
  if (initialStart.isErr()) return err([initialStart.error]);
  const automaticIndex =
    index === undefined
      ? undefined
      : typeof index === 'boolean'
        ? { enabled: index }
        : {
            enabled: index.enabled ?? true,
            ...(index.option !== undefined ? { option: index.option } : {}),
            ...(index.changeField !== undefined ? { changeField: index.changeField } : {}),
            ...(index.safetyLag !== undefined ? { safetyLagMs: parseDuration(index.safetyLag) ?? 0 } : {}),
            ...(index.overlap !== undefined ? { overlapMs: parseDuration(index.overlap) ?? 0 } : {}),
            ...(initialStart.value !== undefined ? { initialStart: initialStart.value } : {}),
          };
  return ok({
    ...base,
    kind: 'import',
    fields: fields(job),
    table: job.local?.table ?? job.object,
    timeZone,
    ...(loaded.filter !== undefined ? { filter: loaded.filter.node } : {}),
    ...(job.filterProfile !== undefined ? { filterProfile: job.filterProfile } : {}),
    ...(job.variables !== undefined ? { variables: job.variables } : {}),
    ...(job.orderBy !== undefined ? { orderBy: job.orderBy.map(orderBy) } : {}),
    ...(automaticIndex !== undefined ? { automaticIndex } : {}),
    ...(job.pageSize !== undefined ? { pageSize: job.pageSize } : {}),
    ...(loaded.ids !== undefined ? { ids: loaded.ids } : {}),
  });
}

function exportJob(job: JobFile, base: Omit<ExportJob, 'kind' | 'fields' | 'table' | 'mode'>, timeZone: string, now: Date): Result<ExportJob, FileIssue[]> {
  const settings = job.export ?? {};
  const changedSince =
    settings.changedSince === undefined
      ? ok(undefined)
      : settings.changedSince === SINCE_LAST_EXPORT
        ? ok(SINCE_LAST_EXPORT)
        : instantBound(settings.changedSince, ['export', 'changedSince'], 'start', timeZone, now, `${PLAIN_INSTANT}, or ${SINCE_LAST_EXPORT}`);
  if (changedSince.isErr()) return err([changedSince.error]);
  return ok({
    ...base,
    kind: 'export',
    fields: fields(job),
    table: job.local?.table ?? job.object,
    mode: settings.mode ?? 'auto',
    timeZone,
    ...(settings.syncKey !== undefined ? { syncKey: { remoteField: settings.syncKey } } : {}),
    ...(settings.inDoubtPolicy !== undefined ? { inDoubtPolicy: settings.inDoubtPolicy } : {}),
    ...(settings.resendRejected !== undefined ? { resendRejected: settings.resendRejected } : {}),
    ...(changedSince.value !== undefined ? { changedSince: changedSince.value } : {}),
    ...(job.batchSize !== undefined ? { batchSize: job.batchSize } : {}),
  });
}

function importDeletedJob(
  job: JobFile,
  base: Omit<ImportDeletedJob, 'kind' | 'start' | 'table'>,
  timeZone: string,
  now: Date,
): Result<ImportDeletedJob, FileIssue[]> {
  const window = job.window;
  if (window === undefined) return err([{ path: ['window'], message: 'is required for operation import-deleted' }]);
  const start = instantBound(window.start, ['window', 'start'], 'start', timeZone, now);
  const end = window.end === undefined ? ok(undefined) : instantBound(window.end, ['window', 'end'], 'end', timeZone, now);
  const issues = [...(start.isErr() ? [start.error] : []), ...(end.isErr() ? [end.error] : [])];
  if (start.isErr() || end.isErr()) return err(issues);
  if (end.value !== undefined && end.value < start.value) {
    return err([{ path: ['window', 'end'], message: `the window ends (${end.value}) before it starts (${start.value}); swap start and end` }]);
  }
  const index = job.automaticIndex;
  // The window's start serves the first run; later runs start where the previous answer ended.
  const automaticIndex =
    index === undefined
      ? undefined
      : typeof index === 'boolean'
        ? { enabled: index }
        : { enabled: index.enabled ?? true, ...(index.option !== undefined ? { option: index.option } : {}) };
  return ok({
    ...base,
    kind: 'import-deleted',
    start: start.value,
    table: job.local?.table ?? job.object,
    ...(end.value !== undefined ? { end: end.value } : {}),
    ...(job.pageSize !== undefined ? { pageSize: job.pageSize } : {}),
    ...(job.maxDeletes !== undefined ? { maxDeletes: job.maxDeletes as DeleteLimit } : {}),
    ...(automaticIndex !== undefined ? { automaticIndex } : {}),
  });
}

/**
 * An instant the job file gives (a window bound, an initial start, `changedSince`): an ISO
 * date-time, a date (the start of that day, or for an `end` its last millisecond, both in the
 * job's time zone: a window includes both days), or an expression.
 */
function instantBound(
  value: string | { expr: string },
  path: readonly (string | number)[],
  which: 'start' | 'end',
  timeZone: string,
  now: Date,
  expected = 'a date "YYYY-MM-DD", an ISO date-time with offset or { expr: "daysAgo(7)" }',
): Result<Instant, FileIssue> {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    const evaluated = evaluateExpression(value.expr, { timeZone, now });
    if (evaluated.isErr()) return err({ path: [...path, 'expr'], message: evaluated.error.message });
    if (evaluated.value.kind === 'number') {
      return err({ path: [...path, 'expr'], message: `"${value.expr}" is a number; a window bound needs a date, e.g. daysAgo(7)` });
    }
    text = evaluated.value.value;
  }
  if (CALENDAR_DATE.test(text)) {
    const midnight = midnightInZone(text, zoneFor(timeZone));
    if (midnight === undefined) return err({ path, message: `"${text}" is not a calendar date` });
    return ok(new Date(which === 'start' ? midnight : midnight + DAY_MS - 1).toISOString());
  }
  const instant = parseInstant(text);
  if (instant === undefined) {
    return err({ path, message: `expected ${expected}, got "${text}"` });
  }
  return ok(instant);
}
