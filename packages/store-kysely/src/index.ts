/**
 * `@crm-sync/store-kysely`: the application's own typed tables as crm-sync's record sink and
 * source, through the application's Kysely instance (SQLite or PostgreSQL dialect), in its own
 * transactions, with watermarks committed atomically with the rows.
 *
 * @packageDocumentation
 */
export { kyselyRecordTables, type KyselyRecordTables, type KyselyRecordTablesOptions } from './record-tables.js';
export { KyselyOptionStore, OPTIONS_TABLE_DDL, type KyselyOptionStoreOptions } from './option-store.js';
export type { KyselyColumnType, KyselyFieldColumn, KyselyKeyColumn, KyselyTableSpec } from './table-spec.js';
export type { KyselyDialectName } from './dialect.js';
