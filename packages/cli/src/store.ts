/**
 * Opens the SQLite file the CLI keeps options, journals and local tables in.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openSqliteStore, type SqliteStore } from '@crm-sync/store-sqlite';
import { err, ok, type Result } from 'neverthrow';
import { describeThrown, invalidInput, runFailed, type CliError } from './cli-error.js';
import type { CliIo } from './io.js';

/** The default database file, relative to the working directory (git-ignored `.crm-sync/`). */
const DEFAULT_DB_FILE = '.crm-sync/crm-sync.sqlite';

/** The database path: `--db`, else `$CRM_SYNC_DB`, else {@link DEFAULT_DB_FILE}; absolute. */
export function databasePath(io: CliIo, option: string | undefined): string {
  const chosen = option ?? (io.env.CRM_SYNC_DB !== undefined && io.env.CRM_SYNC_DB !== '' ? io.env.CRM_SYNC_DB : DEFAULT_DB_FILE);
  return resolve(io.cwd, chosen);
}

/**
 * Opens (creating the directory and the file if needed) the store at `path`. The file is checked
 * first (`PRAGMA quick_check`, about 150 ms per 100,000 rows): a damaged file is a run failure
 * (exit 1) naming the path and what to do, before anything is read or written, so no command
 * reports success on it.
 */
export function openStore(path: string): Result<SqliteStore, CliError> {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (thrown) {
    return err(invalidInput(`cannot create the directory of the database "${path}": ${describeThrown(thrown)}`));
  }
  const opened = openSqliteStore(path, { quickCheck: true });
  if (opened.isErr()) return err(opened.error.code === 'corrupt' ? runFailed(opened.error.message) : invalidInput(opened.error.message));
  return ok(opened.value);
}
