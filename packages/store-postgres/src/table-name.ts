/**
 * Local table names come from job files, so they are checked against an allow-list before they
 * get anywhere near SQL: a hostile name is a clear error, never SQL.
 *
 * @module
 */
import { PostgresStoreError } from './errors.js';
import { RESERVED_TABLE_NAMES } from './schema.js';

/** A plain identifier: a letter or `_`, then letters, digits or `_`, at most 63 characters (PostgreSQL's limit). */
const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks a local table name and returns it as stored: lower-cased, so that `Contacts` and
 * `contacts` are one table, as in SQLite (and as unquoted names are in PostgreSQL). Throws a
 * {@link PostgresStoreError} with code `invalid-table-name` that says what is wrong and how to fix it.
 */
export function checkLocalTableName(name: unknown): string {
  if (typeof name !== 'string' || !TABLE_NAME_PATTERN.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name) : String(name);
    throw new PostgresStoreError(
      'invalid-table-name',
      `Local table name ${shown} is not allowed: use 1 to 63 letters, digits or underscores, starting with a letter or underscore (e.g. "contacts"). Set it in the job's local.table.`,
    );
  }
  const lower = name.toLowerCase();
  if (RESERVED_TABLE_NAMES.includes(lower) || lower.startsWith('pg_') || lower.startsWith('crm_sync_')) {
    throw new PostgresStoreError(
      'invalid-table-name',
      `Local table name "${name}" is reserved by crm-sync or PostgreSQL (reserved: ${RESERVED_TABLE_NAMES.join(', ')}, pg_*, crm_sync_*). Choose another name in the job's local.table.`,
    );
  }
  return lower;
}

/** A schema name: the same rule as table names; `pg_*` is PostgreSQL's own. */
export function checkSchemaName(name: unknown): string {
  if (typeof name !== 'string' || !TABLE_NAME_PATTERN.test(name) || name.toLowerCase().startsWith('pg_') || name !== name.toLowerCase()) {
    throw new PostgresStoreError(
      'invalid-argument',
      `schema ${JSON.stringify(name)} is not allowed: use 1 to 63 lower-case letters, digits or underscores, starting with a letter or underscore, not pg_* (e.g. "crm_sync").`,
    );
  }
  return name;
}
