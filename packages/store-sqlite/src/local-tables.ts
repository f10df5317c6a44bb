/**
 * The application's side (the seed's "deduplicate and update the database" step): one table per
 * job's `local.table`, where imports upsert by CRM id (one CRM record is one local row), O3 marks
 * rows deleted, and exports read rows back in key order.
 *
 * @module
 */
import type { Database } from 'better-sqlite3';
import type {
  Checkpoint,
  CrmIdConflict,
  CrmIdLink,
  Fence,
  FieldValue,
  Instant,
  LocalDeletion,
  LocalRecord,
  LinkCrmIdsResult,
  RecordSink,
  RecordSource,
  SourceReadOptions,
  SourceRecord,
} from '@crm-sync/sdk';
import { SqliteStoreError, toStoreError } from './errors.js';
import { type LocalRow, type LocalTableRow, type LocalTableStatements, openLocalTable, rowValues, toLocalRow } from './local-table-schema.js';
import type { SqliteLeaseStore } from './lease-store.js';
import type { OptionWriter } from './option-store.js';
import { checkLocalTableName } from './table-name.js';

/** Rows per batch of the store's {@link @crm-sync/sdk!RecordSource.read | RecordSource.read} when the caller does not say. */
export const DEFAULT_READ_BATCH_SIZE = 500;

/** Keys per `IN (...)` query: far below SQLite's bound-parameter limit. */
const KEYS_PER_QUERY = 500;

/** Helpers around local tables for the CLI, the demo and applications. */
export interface LocalTables {
  /**
   * An application-side change: creates the row or merges `values` into it, and sets
   * `local_changed_at` (to now, or to `options.changedAt` when loading history) so that an
   * incremental export picks it up.
   */
  upsertLocal(
    table: string,
    key: string,
    values: Readonly<Record<string, FieldValue>>,
    options?: { readonly changedAt?: Instant },
  ): Promise<void>;
  /** The row with that local key, deleted or not; `undefined` when absent. */
  getLocal(table: string, key: string): Promise<LocalRow | undefined>;
  /** Rows in the table, without the deleted ones unless `includeDeleted`. 0 for a missing table. */
  countLocal(table: string, options?: { readonly includeDeleted?: boolean }): Promise<number>;
  /** Names of the local tables in this store, sorted. */
  listTables(): Promise<readonly string[]>;
  /** Sets `exported_at` on these keys (unknown keys are ignored). */
  markExported(table: string, keys: readonly string[], at: Instant): Promise<void>;
}

/** {@link RecordSink}, {@link RecordSource} and {@link LocalTables} over one SQLite file. */
export class SqliteLocalTables implements RecordSink, RecordSource, LocalTables {
  /** Records and the checkpoint commit in one SQLite transaction. */
  readonly atomicCheckpoint = true;
  private readonly tables = new Map<string, LocalTableStatements>();

  /**
   * `optionWriter` joins checkpoints to the records' transaction; `now` stamps local changes;
   * `leases` checks the fence of a fenced write inside its transaction.
   */
  constructor(
    private readonly db: Database,
    private readonly optionWriter: OptionWriter,
    private readonly now: () => Date,
    private readonly leases: SqliteLeaseStore,
  ) {}

  /**
   * Upserts records by `crmId` and stores `checkpoint` in the same transaction: either all of it
   * is durable when the promise resolves, or none of it (the promise rejects). New rows take the
   * CRM id as their local key; values merge into an existing row, keeping local-only fields; an
   * import clears `deleted_at`. A stale `fence` writes nothing.
   */
  async write(table: string, records: readonly LocalRecord[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    try {
      const statements = this.statements(table, true);
      this.db.transaction(() => {
        this.leases.check(fence);
        records.forEach((record, index) => this.importRecord(statements, table, record, index));
        if (checkpoint !== undefined) this.optionWriter.write(checkpoint.optionName, checkpoint.value, checkpoint.meta);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Writing ${records.length} records to local table "${String(table)}"`);
    }
  }

  /** Sets `deleted_at` on rows by CRM id, with `checkpoint` in the same transaction. Unknown ids are ignored. */
  async markDeleted(table: string, deletions: readonly LocalDeletion[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    try {
      const statements = this.statements(table, true);
      this.db.transaction(() => {
        this.leases.check(fence);
        for (const deletion of deletions) statements.updateDeleted.run(deletion.deletedAt, deletion.crmId);
        if (checkpoint !== undefined) this.optionWriter.write(checkpoint.optionName, checkpoint.value, checkpoint.meta);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Marking ${deletions.length} records deleted in local table "${String(table)}"`);
    }
  }

  /**
   * Streams live (not deleted) rows in key order, `batchSize` rows at a time. Each batch is its own
   * keyset query (`key > last key`), so no cursor stays open between batches: memory is bounded
   * and the caller may write to the store while reading. `changedSince` keeps rows whose
   * `local_changed_at >= changedSince`. A missing table yields nothing.
   */
  async *read(table: string, options: SourceReadOptions = {}): AsyncIterable<readonly SourceRecord[]> {
    const batchSize = options.batchSize ?? DEFAULT_READ_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SqliteStoreError('invalid-argument', `read: batchSize must be a whole number >= 1, got ${batchSize}.`);
    }
    const statements = this.statementsOrThrow(table, false, 'Reading');
    if (statements === undefined) return;
    if (options.keys !== undefined) {
      yield* this.readKeys(table, options.keys, batchSize, options.changedSince);
      return;
    }
    let afterKey = '';
    for (;;) {
      const rows = this.query(`Reading local table "${table}"`, () =>
        options.changedSince === undefined
          ? statements.pageLive.all(afterKey, batchSize)
          : statements.pageLiveChangedSince.all(afterKey, options.changedSince, batchSize),
      );
      if (rows.length === 0) return;
      yield rows.map((row) => toSourceRecord(row, table));
      if (rows.length < batchSize) return;
      afterKey = rows[rows.length - 1]!.key;
    }
  }

  /**
   * Links local rows to the CRM ids an export created, in one transaction. Never deletes a row:
   * when another row already holds the CRM id (an import brought that record in under its own
   * key, or two runs exported the same row), both rows stay, the link is not made, and it comes
   * back in `conflicts` for the caller to report.
   */
  async linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult> {
    try {
      const statements = this.statements(table, true);
      const conflicts: CrmIdConflict[] = [];
      this.db.transaction(() => {
        this.leases.check(fence);
        for (const link of links) {
          const target = statements.selectByKey.get(link.key);
          if (target === undefined) continue;
          const holder = statements.selectByCrmId.get(link.crmId);
          if (holder !== undefined && holder.key !== link.key) {
            conflicts.push({ key: link.key, crmId: link.crmId, heldBy: holder.key });
            continue;
          }
          statements.updateCrmId.run(link.crmId, link.key);
        }
      }).immediate();
      return { conflicts };
    } catch (error) {
      throw toStoreError(error, `Linking ${links.length} CRM ids in local table "${String(table)}"`);
    }
  }

  /**
   * Every field name some row of the table holds in its JSON `data` (deleted rows included, a
   * `null` value counts); `undefined` for a missing or empty table. See
   * {@link @crm-sync/sdk!RecordSource.columns | RecordSource.columns}. One scan of the table.
   */
  async columns(table: string): Promise<ReadonlySet<string> | undefined> {
    const statements = this.statementsOrThrow(table, false, 'Reading the columns of');
    if (statements === undefined) return undefined;
    return this.query(`Reading the columns of local table "${table}"`, () => {
      if ((statements.countAll.get()?.n ?? 0) === 0) return undefined;
      return new Set(statements.columnNames.all().map((row) => row.name));
    });
  }

  /** See {@link LocalTables.upsertLocal}. */
  async upsertLocal(
    table: string,
    key: string,
    values: Readonly<Record<string, FieldValue>>,
    options: { readonly changedAt?: Instant } = {},
  ): Promise<void> {
    try {
      checkKey(key, 'upsertLocal');
      const statements = this.statements(table, true);
      const changedAt = options.changedAt ?? this.now().toISOString();
      this.db.transaction(() => {
        const existing = statements.selectByKey.get(key);
        if (existing === undefined) {
          statements.insertRow.run(key, null, JSON.stringify(values), null, changedAt);
        } else {
          statements.updateLocal.run(JSON.stringify({ ...rowValues(existing, table), ...values }), changedAt, key);
        }
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Changing key "${key}" of local table "${String(table)}"`);
    }
  }

  /** See {@link LocalTables.getLocal}. */
  async getLocal(table: string, key: string): Promise<LocalRow | undefined> {
    const statements = this.statementsOrThrow(table, false, 'Reading');
    if (statements === undefined) return undefined;
    const row = this.query(`Reading key "${key}" of local table "${table}"`, () => statements.selectByKey.get(key));
    return row === undefined ? undefined : toLocalRow(row, table);
  }

  /** See {@link LocalTables.countLocal}. */
  async countLocal(table: string, options: { readonly includeDeleted?: boolean } = {}): Promise<number> {
    const statements = this.statementsOrThrow(table, false, 'Counting');
    if (statements === undefined) return 0;
    const counter = options.includeDeleted === true ? statements.countAll : statements.countLive;
    return this.query(`Counting rows of local table "${table}"`, () => counter.get()?.n ?? 0);
  }

  /** See {@link LocalTables.listTables}. */
  async listTables(): Promise<readonly string[]> {
    return this.query('Listing local tables', () =>
      this.db.prepare<[], { name: string }>('SELECT name FROM local_tables ORDER BY name').all().map((row) => row.name),
    );
  }

  /** See {@link LocalTables.markExported}. */
  async markExported(table: string, keys: readonly string[], at: Instant): Promise<void> {
    try {
      const statements = this.statements(table, true);
      this.db.transaction(() => {
        for (const key of keys) statements.updateExported.run(at, key);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, `Marking ${keys.length} rows exported in local table "${String(table)}"`);
    }
  }

  private importRecord(statements: LocalTableStatements, table: string, record: LocalRecord, index: number): void {
    if (typeof record.crmId !== 'string' || record.crmId === '') {
      throw new SqliteStoreError(
        'invalid-argument',
        `Record #${index} written to local table "${table}" has no crmId (got ${JSON.stringify(record.crmId)}); every imported record needs the CRM's id. Nothing of this write was stored.`,
      );
    }
    const changedAt = record.changedAt ?? null;
    const linked = statements.selectByCrmId.get(record.crmId);
    if (linked !== undefined) {
      const merged = { ...rowValues(linked, table), ...record.values };
      statements.updateImported.run(JSON.stringify(merged), record.crmId, changedAt, linked.key);
      return;
    }
    const sameKey = statements.selectByKey.get(record.crmId);
    if (sameKey === undefined) {
      statements.insertRow.run(record.crmId, record.crmId, JSON.stringify(record.values), changedAt, null);
      return;
    }
    // A local row whose key happens to equal the CRM id: adopt it only if it is not linked elsewhere.
    if (sameKey.crm_id !== null) {
      throw new SqliteStoreError(
        'constraint',
        `Local table "${table}" already has key "${record.crmId}" linked to CRM id "${sameKey.crm_id}"; the import of CRM id "${record.crmId}" cannot take that key. Rename the local row.`,
      );
    }
    const merged = { ...rowValues(sameKey, table), ...record.values };
    statements.updateImported.run(JSON.stringify(merged), record.crmId, changedAt, sameKey.key);
  }

  private async *readKeys(
    table: string,
    keys: readonly string[],
    batchSize: number,
    changedSince: Instant | undefined,
  ): AsyncGenerator<readonly SourceRecord[]> {
    // Sorted by UTF-8 bytes, as SQLite's BINARY collation orders `key`, so batches stay in key order.
    const sorted = [...new Set(keys)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const chunkSize = Math.min(batchSize, KEYS_PER_QUERY);
    let pending: SourceRecord[] = [];
    for (let start = 0; start < sorted.length; start += chunkSize) {
      const chunk = sorted.slice(start, start + chunkSize);
      const since = changedSince === undefined ? '' : ' AND local_changed_at >= ?';
      const params: string[] = changedSince === undefined ? chunk : [...chunk, changedSince];
      const rows = this.query(`Reading keys of local table "${table}"`, () =>
        this.db
          .prepare<string[], LocalTableRow>(
            `SELECT * FROM "${table}" WHERE key IN (${chunk.map(() => '?').join(', ')}) AND deleted_at IS NULL${since} ORDER BY key`,
          )
          .all(...params),
      );
      pending.push(...rows.map((row) => toSourceRecord(row, table)));
      while (pending.length >= batchSize) {
        yield pending.slice(0, batchSize);
        pending = pending.slice(batchSize);
      }
    }
    if (pending.length > 0) yield pending;
  }

  private statements(table: string, create: true): LocalTableStatements;
  private statements(table: string, create: boolean): LocalTableStatements | undefined;
  private statements(table: string, create: boolean): LocalTableStatements | undefined {
    const name = checkLocalTableName(table);
    const cacheKey = name.toLowerCase();
    const cached = this.tables.get(cacheKey);
    if (cached !== undefined) return cached;
    const opened = openLocalTable(this.db, name, create, this.now);
    // Inside the application's transaction (a shared connection) the table may have just been
    // created by it and be rolled back with it: cache only what is known to be committed.
    if (opened !== undefined && !this.db.inTransaction) this.tables.set(cacheKey, opened);
    return opened;
  }

  private statementsOrThrow(table: string, create: boolean, verb: string): LocalTableStatements | undefined {
    try {
      return this.statements(table, create);
    } catch (error) {
      throw toStoreError(error, `${verb} local table "${String(table)}"`);
    }
  }

  private query<T>(operation: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }
}

function checkKey(key: unknown, where: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new SqliteStoreError('invalid-argument', `${where}: the local key must be a non-empty string, got ${JSON.stringify(key)}.`);
  }
}

function toSourceRecord(row: LocalTableRow, table: string): SourceRecord {
  return {
    key: row.key,
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
    values: rowValues(row, table),
    ...(row.local_changed_at === null ? {} : { changedAt: row.local_changed_at }),
  };
}
