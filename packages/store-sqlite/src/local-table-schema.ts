/**
 * The shape of one local record table and its prepared statements.
 *
 * Field values live in one JSON column (`data`) rather than one SQL column per field: jobs choose
 * their fields freely and change them between runs, so real columns would need an `ALTER TABLE`
 * migration per mapping change; and JSON keeps a value's exact type (SQLite would store `true` as
 * `1`, and a text column would lose the difference between `"1"` and `1`).
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import type { FieldValue } from '@crm-sync/sdk';
import { SqliteStoreError } from './errors.js';
import { fromJsonColumn } from './json-column.js';

/** One row of a local table as stored. */
export interface LocalTableRow {
  readonly key: string;
  readonly crm_id: string | null;
  readonly data: string;
  readonly crm_changed_at: string | null;
  readonly local_changed_at: string | null;
  readonly deleted_at: string | null;
  readonly exported_at: string | null;
}

/** A row of a local table, as the helpers of {@link LocalTables} return it. */
export interface LocalRow {
  /** The local key: for imported rows, the CRM id unless the row was created locally. */
  readonly key: string;
  /** The CRM id, once the row is linked to a CRM record. Unique in the table. */
  readonly crmId?: string;
  /** Field values by local field name. */
  readonly values: Readonly<Record<string, FieldValue>>;
  /** The CRM's change time of the last import of this row. */
  readonly crmChangedAt?: string;
  /** When the application last changed the row ({@link LocalTables.upsertLocal}). */
  readonly localChangedAt?: string;
  /** When the CRM deleted the record (set by `markDeleted`, cleared by a later import). */
  readonly deletedAt?: string;
  /** When the row was last exported ({@link LocalTables.markExported}). */
  readonly exportedAt?: string;
}

const COLUMNS = ['key', 'crm_id', 'data', 'crm_changed_at', 'local_changed_at', 'deleted_at', 'exported_at'] as const;

/** Prepared statements of one local table; `name` is already checked, so quoting it is safe. */
export interface LocalTableStatements {
  readonly selectByKey: Statement<[string], LocalTableRow>;
  readonly selectByCrmId: Statement<[string], LocalTableRow>;
  readonly insertRow: Statement<[string, string | null, string, string | null, string | null]>;
  /** (data, crm_id, crm_changed_at, key): an import over an existing row; clears `deleted_at`. */
  readonly updateImported: Statement<[string, string, string | null, string]>;
  /** (data, local_changed_at, key). */
  readonly updateLocal: Statement<[string, string, string]>;
  /** (crm_id, key). */
  readonly updateCrmId: Statement<[string, string]>;
  readonly deleteByKey: Statement<[string]>;
  /** (deleted_at, crm_id). */
  readonly updateDeleted: Statement<[string, string]>;
  /** (exported_at, key). */
  readonly updateExported: Statement<[string, string]>;
  readonly countLive: Statement<[], { readonly n: number }>;
  readonly countAll: Statement<[], { readonly n: number }>;
  /** (after key, limit): a keyset page of live rows. */
  readonly pageLive: Statement<[string, number], LocalTableRow>;
  /** (after key, changed since, limit): a keyset page of live rows changed locally since. */
  readonly pageLiveChangedSince: Statement<[string, string, number], LocalTableRow>;
  /** Every field name some row's `data` holds (deleted rows included), once each. */
  readonly columnNames: Statement<[], { readonly name: string }>;
}

/**
 * Creates the table (and registers it) when `create` is true and it is missing; then prepares its
 * statements. Returns `undefined` when the table is missing and `create` is false. Throws when a
 * table of that name exists but was not made by crm-sync.
 */
export function openLocalTable(db: Database, name: string, create: boolean, now: () => Date): LocalTableStatements | undefined {
  const quoted = `"${name}"`;
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE").get(name) !== undefined;
  if (!exists && !create) return undefined;
  if (!exists) {
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS ${quoted} (
        key              TEXT PRIMARY KEY NOT NULL,
        crm_id           TEXT UNIQUE,
        data             TEXT NOT NULL,
        crm_changed_at   TEXT,
        local_changed_at TEXT,
        deleted_at       TEXT,
        exported_at      TEXT
      )`);
      db.exec(`CREATE INDEX IF NOT EXISTS "crm_sync_idx_${name}_local_changed_at" ON ${quoted} (local_changed_at)`);
      db.prepare('INSERT INTO local_tables (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(
        name,
        now().toISOString(),
      );
    })();
  } else {
    const present = new Set(db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${name}')`).all().map((c) => c.name));
    const missing = COLUMNS.filter((column) => !present.has(column));
    if (missing.length > 0) {
      throw new SqliteStoreError(
        'invalid-table-name',
        `Table "${name}" exists in this SQLite file but is not a crm-sync local table (missing columns: ${missing.join(', ')}). Use another local.table name in the job.`,
      );
    }
  }
  const select = `SELECT ${COLUMNS.join(', ')} FROM ${quoted}`;
  return {
    selectByKey: db.prepare(`${select} WHERE key = ?`),
    selectByCrmId: db.prepare(`${select} WHERE crm_id = ?`),
    insertRow: db.prepare(`INSERT INTO ${quoted} (key, crm_id, data, crm_changed_at, local_changed_at) VALUES (?, ?, ?, ?, ?)`),
    updateImported: db.prepare(
      `UPDATE ${quoted} SET data = ?, crm_id = ?, crm_changed_at = COALESCE(?, crm_changed_at), deleted_at = NULL WHERE key = ?`,
    ),
    updateLocal: db.prepare(`UPDATE ${quoted} SET data = ?, local_changed_at = ? WHERE key = ?`),
    updateCrmId: db.prepare(`UPDATE ${quoted} SET crm_id = ? WHERE key = ?`),
    deleteByKey: db.prepare(`DELETE FROM ${quoted} WHERE key = ?`),
    updateDeleted: db.prepare(`UPDATE ${quoted} SET deleted_at = ? WHERE crm_id = ?`),
    updateExported: db.prepare(`UPDATE ${quoted} SET exported_at = ? WHERE key = ?`),
    countLive: db.prepare(`SELECT count(*) AS n FROM ${quoted} WHERE deleted_at IS NULL`),
    countAll: db.prepare(`SELECT count(*) AS n FROM ${quoted}`),
    pageLive: db.prepare(`${select} WHERE key > ? AND deleted_at IS NULL ORDER BY key LIMIT ?`),
    pageLiveChangedSince: db.prepare(
      `${select} WHERE key > ? AND deleted_at IS NULL AND local_changed_at >= ? ORDER BY key LIMIT ?`,
    ),
    columnNames: db.prepare(`SELECT DISTINCT f.key AS name FROM ${quoted} AS t, json_each(t.data) AS f`),
  };
}

/** Parses the `data` column of a row. */
export function rowValues(row: LocalTableRow, table: string): Record<string, FieldValue> {
  return fromJsonColumn<Record<string, FieldValue>>(row.data, `${table}.data of key "${row.key}"`) ?? {};
}

/** A stored row as a {@link LocalRow}. */
export function toLocalRow(row: LocalTableRow, table: string): LocalRow {
  return {
    key: row.key,
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
    values: rowValues(row, table),
    ...(row.crm_changed_at === null ? {} : { crmChangedAt: row.crm_changed_at }),
    ...(row.local_changed_at === null ? {} : { localChangedAt: row.local_changed_at }),
    ...(row.deleted_at === null ? {} : { deletedAt: row.deleted_at }),
    ...(row.exported_at === null ? {} : { exportedAt: row.exported_at }),
  };
}
