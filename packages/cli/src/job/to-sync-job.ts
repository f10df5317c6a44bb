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
  type DeleteJob,
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
import type { JobFile } from './job-schema.js';
import type { LoadedJob } from './load-job.js';
import type { FileIssue } from './schema-issues.js';

const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

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
      return ok(importJob(loaded, base, timeZone));
    case 'export':
      return ok(exportJob(job, base, timeZone));
    case 'import-deleted':
      return importDeletedJob(job, base, timeZone, now);
    case 'delete': {
      const deleteJob: DeleteJob = {
        ...base,
        kind: 'delete',
        ...(loaded.ids !== undefined ? { ids: loaded.ids } : {}),
        ...(loaded.ids === undefined && job.local !== undefined ? { table: job.local.table } : {}),
        ...(job.batchSize !== undefined ? { batchSize: job.batchSize } : {}),
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

function importJob(loaded: LoadedJob, base: Omit<ImportJob, 'kind' | 'fields' | 'table'>, timeZone: string): ImportJob {
  const job = loaded.job;
  const index = job.automaticIndex;
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
            ...(index.initialStart !== undefined ? { initialStart: parseInstant(index.initialStart) ?? index.initialStart } : {}),
          };
  return {
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
  };
}

function exportJob(job: JobFile, base: Omit<ExportJob, 'kind' | 'fields' | 'table' | 'mode'>, timeZone: string): ExportJob {
  const settings = job.export ?? {};
  return {
    ...base,
    kind: 'export',
    fields: fields(job),
    table: job.local?.table ?? job.object,
    mode: settings.mode ?? 'auto',
    timeZone,
    ...(settings.syncKey !== undefined ? { syncKey: { remoteField: settings.syncKey } } : {}),
    ...(settings.inDoubtPolicy !== undefined ? { inDoubtPolicy: settings.inDoubtPolicy } : {}),
    ...(settings.resendRejected !== undefined ? { resendRejected: settings.resendRejected } : {}),
    ...(settings.changedSince !== undefined ? { changedSince: parseInstant(settings.changedSince) ?? settings.changedSince } : {}),
    ...(job.batchSize !== undefined ? { batchSize: job.batchSize } : {}),
  };
}

function importDeletedJob(
  job: JobFile,
  base: Omit<ImportDeletedJob, 'kind' | 'start' | 'table'>,
  timeZone: string,
  now: Date,
): Result<ImportDeletedJob, FileIssue[]> {
  const window = job.window;
  if (window === undefined) return err([{ path: ['window'], message: 'is required for operation import-deleted' }]);
  const start = windowBound(window.start, 'start', timeZone, now);
  const end = window.end === undefined ? ok(undefined) : windowBound(window.end, 'end', timeZone, now);
  const issues = [...(start.isErr() ? [start.error] : []), ...(end.isErr() ? [end.error] : [])];
  if (start.isErr() || end.isErr()) return err(issues);
  if (end.value !== undefined && end.value < start.value) {
    return err([{ path: ['window', 'end'], message: `the window ends (${end.value}) before it starts (${start.value}); swap start and end` }]);
  }
  return ok({
    ...base,
    kind: 'import-deleted',
    start: start.value,
    table: job.local?.table ?? job.object,
    ...(end.value !== undefined ? { end: end.value } : {}),
    ...(job.pageSize !== undefined ? { pageSize: job.pageSize } : {}),
  });
}

/**
 * A window bound: an ISO date-time, a date (the start of that day, or for `end` its last
 * millisecond, both in the job's time zone: the window includes both days), or an expression.
 */
function windowBound(value: string | { expr: string }, which: 'start' | 'end', timeZone: string, now: Date): Result<Instant, FileIssue> {
  const path = ['window', which];
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
    return err({ path, message: `expected a date "YYYY-MM-DD", an ISO date-time with offset or { expr: "daysAgo(7)" }, got "${text}"` });
  }
  return ok(instant);
}
