/**
 * Loads a job file: YAML syntax, no secrets, the schema, then the filter's portable rules. All of
 * it happens before anything is opened or called, so an invalid file changes nothing.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkLocalTableName, SqliteStoreError } from '@crm-sync/store-sqlite';
import { err, ok, type Result } from 'neverthrow';
import { invalidInput, type CliError } from '../cli-error.js';
import { parseYamlText, readYamlFile, type YamlFile } from '../yaml-file.js';
import { filterFromYaml, type ConvertedFilter } from './filter-from-yaml.js';
import { jobFileSchema, type JobFile } from './job-schema.js';
import { formatFileIssues, zodIssuesToFileIssues, type FileIssue } from './schema-issues.js';
import { findSecretsInJob } from './secrets-in-job.js';

/** A job file that passed every check that needs no CRM. */
export interface LoadedJob {
  /** The job file, as parsed (filter still raw). */
  readonly job: JobFile;
  /** The converted filter, when the job has one. */
  readonly filter?: ConvertedFilter;
  /** The ids to import or delete, read from the list or the file. */
  readonly ids?: readonly string[];
  /** The YAML source, for line numbers in later errors. */
  readonly source: YamlFile;
  /** The directory of the job file; relative paths inside it (ids, outputs) resolve from here. */
  readonly directory: string;
}

/** Reads and checks a job file. Every problem found is reported at once, one line each. */
export function loadJobFile(path: string): Result<LoadedJob, CliError> {
  const read = readYamlFile(path, 'job file');
  if (read.isErr()) return err(read.error);
  return checkJobSource(read.value, dirname(resolve(path)));
}

/**
 * Checks a job's YAML `text` the way {@link loadJobFile} checks a file: a queued job on a worker
 * (`crm-sync worker`), named `path` in messages; relative paths in it resolve from `directory`.
 */
export function loadJobText(text: string, path: string, directory: string): Result<LoadedJob, CliError> {
  const read = parseYamlText(text, path);
  if (read.isErr()) return err(read.error);
  return checkJobSource(read.value, directory);
}

function checkJobSource(source: YamlFile, directory: string): Result<LoadedJob, CliError> {
  const path = source.path;
  if (typeof source.data !== 'object' || source.data === null || Array.isArray(source.data)) {
    return err(invalidInput(`${path}: expected a job (a map with activity, connector, account, operation, object, ...), got ${source.data === null ? 'an empty file' : 'something else'}`));
  }
  const secrets = findSecretsInJob(source.data);
  if (secrets.length > 0) return err(fileError(source, secrets));
  const parsed = jobFileSchema.safeParse(source.data, { reportInput: true });
  if (!parsed.success) return err(fileError(source, zodIssuesToFileIssues(parsed.error.issues)));
  const job = parsed.data;
  const beyond = issuesBeyondSchema(job);
  if (beyond.length > 0) return err(fileError(source, beyond));
  let filter: ConvertedFilter | undefined;
  if (job.filter !== undefined) {
    const converted = filterFromYaml(job.filter, job.filterProfile ?? 'portable');
    if (converted.isErr()) return err(fileError(source, converted.error));
    filter = converted.value;
  }
  const ids = readIds(job, directory, source);
  if (ids.isErr()) return err(ids.error);
  return ok({ job, source, directory, ...(filter ? { filter } : {}), ...(ids.value ? { ids: ids.value } : {}) });
}

/** An input error listing `issues` of `source`, each with its line. */
export function fileError(source: YamlFile, issues: readonly FileIssue[]): CliError {
  const withLines = issues.map((issue) => {
    const line = source.lineOf(issue.path);
    return line === undefined ? issue : { ...issue, message: `${issue.message} (line ${line})` };
  });
  return invalidInput(formatFileIssues(source.path, withLines));
}

/**
 * Rules the schema does not state: `local.table` follows the store's rules for table names (a
 * plain identifier, not reserved), so a bad name is an input error before any CRM call and before
 * the database file is created; `batchSize` (records per CRM write) on a job that writes nothing
 * to the CRM, and `pageSize` (records per page read) on one that reads no pages, are refused
 * rather than silently ignored.
 */
function issuesBeyondSchema(job: JobFile): FileIssue[] {
  const issues: FileIssue[] = [];
  if (job.local !== undefined) {
    try {
      checkLocalTableName(job.local.table);
    } catch (thrown) {
      if (!(thrown instanceof SqliteStoreError)) throw thrown;
      issues.push({ path: ['local', 'table'], message: thrown.message.replace(/^\[crm-sync\] \[store-sqlite\] /, '') });
    }
  }
  if (job.pageSize !== undefined && (job.operation === 'export' || job.operation === 'delete')) {
    issues.push({
      path: ['pageSize'],
      message: `only applies to operations import and import-deleted (records per page read from the CRM), not ${job.operation}, which would ignore it; remove it (batchSize sets the records per CRM write)`,
    });
  }
  if (job.batchSize !== undefined && (job.operation === 'import' || job.operation === 'import-deleted')) {
    issues.push({
      path: ['batchSize'],
      message: `only applies to operations export and delete (records per CRM write), not ${job.operation}, which would ignore it; remove it (pageSize sets the records per page read)`,
    });
  }
  return issues;
}

function readIds(job: JobFile, directory: string, source: YamlFile): Result<readonly string[] | undefined, CliError> {
  if (job.ids === undefined) return ok(undefined);
  if (Array.isArray(job.ids)) return ok(job.ids.map(String));
  const file = resolve(directory, job.ids);
  try {
    const lines = readFileSync(file, 'utf8').split(/\r?\n/).map((line) => line.trim());
    return ok(lines.filter((line) => line !== '' && !line.startsWith('#')));
  } catch {
    return err(fileError(source, [{ path: ['ids'], message: `cannot read the ids file "${file}"; give a file with one CRM id per line, relative to the job file, or a list` }]));
  }
}
