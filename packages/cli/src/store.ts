/**
 * Opens the SQLite file the CLI keeps options, journals and local tables in.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openSqliteStore, type SqliteStore } from '@crm-sync/store-sqlite';
import { err, ok, type Result } from 'neverthrow';
import { describeThrown, invalidInput, type CliError } from './cli-error.js';
import type { CliIo } from './io.js';

/** The default database file, relative to the working directory (git-ignored `.crm-sync/`). */
const DEFAULT_DB_FILE = '.crm-sync/crm-sync.sqlite';

/** The database path: `--db`, else `$CRM_SYNC_DB`, else {@link DEFAULT_DB_FILE}; absolute. */
export function databasePath(io: CliIo, option: string | undefined): string {
  const chosen = option ?? (io.env.CRM_SYNC_DB !== undefined && io.env.CRM_SYNC_DB !== '' ? io.env.CRM_SYNC_DB : DEFAULT_DB_FILE);
  return resolve(io.cwd, chosen);
}

/** Opens (creating the directory and the file if needed) the store at `path`. */
export function openStore(path: string): Result<SqliteStore, CliError> {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (thrown) {
    return err(invalidInput(`cannot create the directory of the database "${path}": ${describeThrown(thrown)}`));
  }
  const opened = openSqliteStore(path);
  if (opened.isErr()) return err(invalidInput(opened.error.message));
  return ok(opened.value);
}
