/**
 * `@crm-sync/store-sqlite`: crm-sync's options (watermarks), export journal and local record
 * tables over one SQLite file (better-sqlite3, WAL).
 *
 * @packageDocumentation
 */
export {
  openSqliteStore,
  DEFAULT_SYNCHRONOUS,
  DEFAULT_BUSY_TIMEOUT_MS,
  type SqliteStore,
  type SqliteStoreOptions,
  type SqliteSynchronous,
  type SqliteRecordTables,
} from './open-store.js';
export { SqliteStoreError, type SqliteStoreErrorCode } from './errors.js';
export { DEFAULT_READ_BATCH_SIZE, type LocalTables } from './local-tables.js';
export type { LocalRow } from './local-table-schema.js';
export { checkLocalTableName } from './table-name.js';
export { RESERVED_TABLE_NAMES, SCHEMA_VERSION } from './schema.js';
