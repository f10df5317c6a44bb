/**
 * Checks an export job's `local` names against the columns of its local table in the database,
 * before the CRM is called at all: an unknown column (in no row of the table, e.g. a typo) would
 * export nothing for its field, so it is an input error with the job file's line.
 *
 * @module
 */
import { checkLocalColumns, type SyncJob } from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import { describeThrown, runFailed, type CliError } from '../cli-error.js';
import { databaseExists, openStore, shownDatabase } from '../store.js';
import { fileError, type LoadedJob } from './load-job.js';
import type { FileIssue } from './schema-issues.js';

/**
 * An input error naming every mapping of an export job whose local column the table at `dbPath`
 * does not have; ok for other operations, and when there is no database yet or the table has no
 * rows (nothing would be exported).
 */
export async function checkJobLocalColumns(loaded: LoadedJob, syncJob: SyncJob, dbPath: string): Promise<Result<void, CliError>> {
  if (syncJob.kind !== 'export' || !databaseExists(dbPath)) return ok(undefined);
  const store = await openStore(dbPath);
  if (store.isErr()) return err(store.error);
  let issues;
  try {
    issues = await checkLocalColumns(syncJob, store.value.records);
  } catch (thrown) {
    return err(runFailed(`reading the columns of local table "${syncJob.table}" in ${shownDatabase(dbPath)} failed: ${describeThrown(thrown)}`));
  } finally {
    await store.value.close();
  }
  if (issues.length === 0) return ok(undefined);
  const fileIssues = issues.map((issue): FileIssue => {
    const index = Number(/^fields\[(\d+)\]/.exec(issue.path)?.[1]);
    // Without `local:` the local name is the remote one: point at the line that names it.
    const path = loaded.job.fields?.[index]?.local === undefined ? ['fields', index, 'remote'] : ['fields', index, 'local'];
    return { path, message: issue.message };
  });
  return err(fileError(loaded.source, fileIssues));
}
