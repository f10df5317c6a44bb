/**
 * `@crm-sync/store-postgres`: crm-sync's options (watermarks), export journal, local record tables
 * (JSONB) and run leases in one PostgreSQL schema, over a node-postgres pool.
 *
 * @packageDocumentation
 */
export {
  openPostgresStore,
  dropPostgresSchema,
  isPostgresUrl,
  DEFAULT_SCHEMA,
  DEFAULT_POOL_SIZE,
  DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  type PostgresStore,
  type PostgresClientStore,
  type PostgresStoreOptions,
  type PostgresRecordTables,
} from './open-store.js';
export { PostgresStoreError, redactConnectionString, type PostgresStoreErrorCode } from './errors.js';
export { DEFAULT_READ_BATCH_SIZE, type LocalTables, type LocalRow } from './local-tables.js';
export { checkLocalTableName } from './table-name.js';
export { RESERVED_TABLE_NAMES, SCHEMA_VERSION } from './schema.js';
export { TRANSACTION_RETRIES } from './database.js';
