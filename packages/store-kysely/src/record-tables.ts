/**
 * The table adapter: the application's own typed tables as crm-sync's `RecordSink` (imports write
 * typed columns, upserting by CRM id) and `RecordSource` (exports read them), on the application's
 * Kysely instance or inside its transaction, with the watermark committed in the same transaction
 * when the options live in the same database. A value a column refuses becomes a reject of that
 * record, never a failed page.
 *
 * @module
 */
import { sql, type Kysely } from 'kysely';
import type {
  Checkpoint,
  CrmIdConflict,
  CrmIdLink,
  Fence,
  FieldValue,
  LinkCrmIdsResult,
  LocalDeletion,
  LocalRecord,
  RecordSink,
  RecordSource,
  SinkReject,
  SinkWriteResult,
  SourceReadOptions,
  SourceRecord,
} from '@crm-sync/sdk';
import { detectDialect, refusedByDatabase, type KyselyDialectName } from './dialect.js';
import type { KyselyOptionStore } from './option-store.js';
import { fromColumnValue, resolveTable, toColumnValue, toInstant, type KyselyTableSpec, type ResolvedTable } from './table-spec.js';

/** Options of {@link kyselyRecordTables}. */
export interface KyselyRecordTablesOptions {
  /** The application's tables crm-sync jobs read and write. */
  readonly tables: readonly KyselyTableSpec[];
  /**
   * crm-sync's options in the same database: checkpoints (watermarks) are then written in the
   * same transaction as the rows (`atomicCheckpoint: true`), and fences are checked there against
   * its lease table. Without it the orchestrator sets the watermark right after each write, and
   * fences are not checked.
   */
  readonly options?: KyselyOptionStore;
  /** Default: detected from the Kysely instance. */
  readonly dialect?: KyselyDialectName;
  /** The clock for the synced-time column. Default the system clock. */
  readonly now?: () => Date;
  /** Rows per statement when looking up CRM ids. Default 500. */
  readonly lookupChunk?: number;
}

/** The adapter: sink and source of the declared tables, bound to a Kysely instance or transaction. */
export interface KyselyRecordTables extends RecordSink, RecordSource {
  /** True when an option store was given: checkpoints commit with the rows. */
  readonly atomicCheckpoint: boolean;
  /** The dialect in use. */
  readonly dialect: KyselyDialectName;
  /**
   * Upserts records by CRM id into the table's typed columns, clears its deleted mark, sets its
   * synced time, and, with an option store, stores the checkpoint in the same transaction. Only
   * the fields a record carries are written: an absent field never nulls a column. A record
   * whose value a column refuses (type, NOT NULL, length, a constraint) is not written and comes
   * back in `rejects`; the others and the checkpoint commit.
   */
  write(table: string, records: readonly LocalRecord[], checkpoint?: Checkpoint, fence?: Fence): Promise<SinkWriteResult>;
  /** See {@link @crm-sync/sdk!RecordSource.linkCrmIds}: never deletes a row, returns the conflicts. */
  linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult>;
  /** The declared fields of a declared table; `undefined` for a table not declared. */
  columns(table: string): Promise<ReadonlySet<string> | undefined>;
  /**
   * The same adapter running on `trx`, the application's transaction: every write joins it (a
   * record's refusal is undone with a savepoint), and nothing commits until the application does.
   */
  inTransaction(trx: Kysely<any>): KyselyRecordTables;
}

/**
 * Builds the table adapter over the application's Kysely instance (or a transaction of it).
 *
 * @example
 * ```ts
 * const options = new KyselyOptionStore(db);
 * const tables = kyselyRecordTables(db, {
 *   options,
 *   tables: [{
 *     name: 'customers', key: { column: 'id', type: 'integer' }, crmId: 'crm_id',
 *     changedAt: 'updated_at', syncedAt: 'synced_at', deletedAt: 'deleted_at',
 *     fields: { name: { column: 'name', type: 'text', nullable: false, maxLength: 80 }, age: 'integer' },
 *   }],
 * });
 * const orchestrator = new Orchestrator({ connector, options, journal, sink: tables, source: tables });
 * ```
 */
export function kyselyRecordTables(db: Kysely<any>, options: KyselyRecordTablesOptions): KyselyRecordTables {
  const tables = new Map<string, ResolvedTable>();
  for (const spec of options.tables) {
    if (tables.has(spec.name)) throw new Error(`[crm-sync] [store-kysely] table "${spec.name}" is declared twice.`);
    tables.set(spec.name, resolveTable(spec));
  }
  const dialect = detectDialect(db, options.dialect ?? options.options?.dialect);
  return new Adapter(db, tables, { ...options, dialect });
}

const DEFAULT_LOOKUP_CHUNK = 500;

/** A record ready to write: its column values, and the existing row's key when it has one. */
interface Prepared {
  readonly record: LocalRecord;
  readonly columns: Record<string, unknown>;
  readonly existingKey: unknown;
}

class Adapter implements KyselyRecordTables {
  readonly atomicCheckpoint: boolean;
  readonly dialect: KyselyDialectName;
  private readonly now: () => Date;
  private savepoints = 0;

  constructor(
    private readonly db: Kysely<any>,
    private readonly tables: ReadonlyMap<string, ResolvedTable>,
    private readonly options: KyselyRecordTablesOptions & { readonly dialect: KyselyDialectName },
  ) {
    this.atomicCheckpoint = options.options !== undefined;
    this.dialect = options.dialect;
    this.now = options.now ?? (() => new Date());
  }

  inTransaction(trx: Kysely<any>): KyselyRecordTables {
    return new Adapter(trx, this.tables, { ...this.options, ...(this.options.options === undefined ? {} : { options: this.options.options.inTransaction(trx) }) });
  }

  async columns(table: string): Promise<ReadonlySet<string> | undefined> {
    const resolved = this.tables.get(table);
    return resolved === undefined ? undefined : new Set(resolved.fields.keys());
  }

  async write(table: string, records: readonly LocalRecord[], checkpoint?: Checkpoint, fence?: Fence): Promise<SinkWriteResult> {
    const t = this.table(table, 'write to');
    const rejects: SinkReject[] = [];
    const stamp = this.now().toISOString();
    const valid: { record: LocalRecord; columns: Record<string, unknown> }[] = [];
    for (const record of records) {
      const columns: Record<string, unknown> = {};
      let refused: SinkReject | undefined;
      for (const [field, value] of Object.entries(record.values)) {
        const column = t.fields.get(field);
        if (column === undefined) {
          throw new Error(
            `[crm-sync] [store-kysely] table "${table}" has no field "${field}" (the job maps it; the table declares ${[...t.fields.keys()].join(', ') || 'none'}). Declare it in the table's fields, or remove it from the job's field mappings.`,
          );
        }
        const converted = toColumnValue(column, value, this.dialect);
        if (!converted.ok) {
          refused = { crmId: record.crmId, field, message: converted.problem.message };
          break;
        }
        columns[column.column] = converted.value;
      }
      if (refused !== undefined) {
        rejects.push(refused);
        continue;
      }
      if (t.spec.syncedAt !== undefined) columns[t.spec.syncedAt] = stamp;
      if (t.spec.crmChangedAt !== undefined && record.changedAt !== undefined) columns[t.spec.crmChangedAt] = record.changedAt;
      if (t.spec.deletedAt !== undefined) columns[t.spec.deletedAt] = null;
      valid.push({ record, columns });
    }
    await this.transaction(async (trx) => {
      await this.checkFence(trx, fence);
      const existing = await this.keysByCrmId(trx, t, records.map((record) => record.crmId));
      // A record refused before writing names the row it would have updated.
      for (const [index, reject] of rejects.entries()) {
        const key = existing.get(reject.crmId);
        if (key !== undefined) rejects[index] = { ...reject, localKey: String(key) };
      }
      // Later records of the page win over earlier ones with the same CRM id (one row per CRM id).
      const prepared: Prepared[] = valid.map((entry) => ({ ...entry, existingKey: existing.get(entry.record.crmId) }));
      const failed = await this.tryAll(trx, t, prepared);
      if (failed) {
        // One of them was refused by the database: write them one by one, each under a savepoint.
        for (const entry of prepared) {
          const reason = await this.underSavepoint(trx, () => this.writeOne(trx, t, entry, existing));
          if (reason !== undefined) {
            const field = reason.column === undefined ? undefined : t.byColumn.get(reason.column)?.field;
            const key = existing.get(entry.record.crmId);
            rejects.push({
              crmId: entry.record.crmId,
              ...(key === undefined ? {} : { localKey: String(key) }),
              ...(field === undefined ? {} : { field }),
              message: `the database refused the row: ${reason.message}`,
              code: reason.duplicate ? 'duplicate' : 'invalid-value',
            });
          }
        }
      }
      if (checkpoint !== undefined && this.options.options !== undefined) {
        await this.options.options.writeOption(trx, checkpoint.optionName, checkpoint.value, checkpoint.meta);
      }
    });
    return { rejects };
  }

  async markDeleted(table: string, deletions: readonly LocalDeletion[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    const t = this.table(table, 'apply deletions to');
    if (t.spec.deletedAt === undefined && t.spec.removeDeletedRows !== true) {
      throw new Error(
        `[crm-sync] [store-kysely] table "${table}" cannot apply CRM deletions: declare deletedAt (a column the deletion time goes to) or removeDeletedRows: true (delete the rows) in its spec.`,
      );
    }
    await this.transaction(async (trx) => {
      await this.checkFence(trx, fence);
      for (const deletion of deletions) {
        if (t.spec.deletedAt !== undefined) {
          await this.from(trx, t)
            .updateTable(t.sqlName)
            .set({ [t.spec.deletedAt]: deletion.deletedAt })
            .where(t.spec.crmId, '=', deletion.crmId)
            .execute();
        } else {
          await this.from(trx, t).deleteFrom(t.sqlName).where(t.spec.crmId, '=', deletion.crmId).execute();
        }
      }
      if (checkpoint !== undefined && this.options.options !== undefined) {
        await this.options.options.writeOption(trx, checkpoint.optionName, checkpoint.value, checkpoint.meta);
      }
    });
  }

  async *read(table: string, options: SourceReadOptions = {}): AsyncIterable<readonly SourceRecord[]> {
    const t = this.table(table, 'read');
    const batchSize = Math.max(1, options.batchSize ?? 500);
    const keys = options.keys === undefined ? undefined : options.keys.map((key) => this.keyValue(t, key)).filter((key) => key !== undefined);
    if (keys !== undefined && keys.length === 0) return;
    const columns = [t.spec.key.column, t.spec.crmId, ...(t.spec.changedAt === undefined ? [] : [t.spec.changedAt]), ...[...t.fields.values()].map((f) => f.column)];
    let after: unknown;
    for (;;) {
      let query = this.from(this.db, t).selectFrom(t.sqlName).select([...new Set(columns)]).orderBy(t.spec.key.column).limit(batchSize);
      if (t.spec.deletedAt !== undefined) query = query.where(t.spec.deletedAt, 'is', null);
      if (options.changedSince !== undefined && t.spec.changedAt !== undefined) query = query.where(t.spec.changedAt, '>=', this.instantParam(options.changedSince));
      if (keys !== undefined) query = query.where(t.spec.key.column, 'in', keys);
      if (after !== undefined) query = query.where(t.spec.key.column, '>', after);
      const rows = (await query.execute()) as Record<string, unknown>[];
      if (rows.length === 0) return;
      yield rows.map((row) => this.toSource(t, row));
      if (rows.length < batchSize) return;
      after = rows[rows.length - 1]![t.spec.key.column];
    }
  }

  async linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult> {
    const t = this.table(table, 'link CRM ids in');
    const conflicts: CrmIdConflict[] = [];
    const stamp = this.now().toISOString();
    await this.transaction(async (trx) => {
      await this.checkFence(trx, fence);
      const holders = await this.keysByCrmId(trx, t, links.map((link) => link.crmId));
      for (const link of links) {
        const key = this.keyValue(t, link.key);
        if (key === undefined) continue;
        const holder = holders.get(link.crmId);
        if (holder !== undefined && String(holder) !== String(key)) {
          conflicts.push({ key: link.key, crmId: link.crmId, heldBy: String(holder) });
          continue;
        }
        await this.from(trx, t)
          .updateTable(t.sqlName)
          .set({ [t.spec.crmId]: link.crmId, ...(t.spec.syncedAt === undefined ? {} : { [t.spec.syncedAt]: stamp }) })
          .where(t.spec.key.column, '=', key)
          .execute();
        holders.set(link.crmId, key);
      }
    });
    return { conflicts };
  }

  private table(name: string, verb: string): ResolvedTable {
    const t = this.tables.get(name);
    if (t === undefined) {
      throw new Error(
        `[crm-sync] [store-kysely] cannot ${verb} table "${name}": it is not declared (declared: ${[...this.tables.keys()].join(', ') || 'none'}). Add its spec to kyselyRecordTables({ tables }).`,
      );
    }
    return t;
  }

  private from(db: Kysely<any>, t: ResolvedTable): Kysely<any> {
    return t.spec.schema === undefined ? db : db.withSchema(t.spec.schema);
  }

  private async transaction<T>(body: (trx: Kysely<any>) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return body(this.db);
    return this.db.transaction().execute(body);
  }

  private async checkFence(trx: Kysely<any>, fence: Fence | undefined): Promise<void> {
    if (fence !== undefined && this.options.options !== undefined) await this.options.options.checkFence(trx, fence);
  }

  /** Keys of the rows holding these CRM ids. */
  private async keysByCrmId(trx: Kysely<any>, t: ResolvedTable, crmIds: readonly string[]): Promise<Map<string, unknown>> {
    const found = new Map<string, unknown>();
    const unique = [...new Set(crmIds)];
    const chunk = this.options.lookupChunk ?? DEFAULT_LOOKUP_CHUNK;
    for (let i = 0; i < unique.length; i += chunk) {
      const rows = (await this.from(trx, t)
        .selectFrom(t.sqlName)
        .select([t.spec.key.column, t.spec.crmId])
        .where(t.spec.crmId, 'in', unique.slice(i, i + chunk))
        .execute()) as Record<string, unknown>[];
      for (const row of rows) found.set(String(row[t.spec.crmId]), row[t.spec.key.column]);
    }
    return found;
  }

  /** Writes every record under one savepoint; true (and nothing written) when the database refused one. */
  private async tryAll(trx: Kysely<any>, t: ResolvedTable, prepared: readonly Prepared[]): Promise<boolean> {
    if (prepared.length === 0) return false;
    const known = new Map<string, unknown>();
    for (const entry of prepared) if (entry.existingKey !== undefined) known.set(entry.record.crmId, entry.existingKey);
    const reason = await this.underSavepoint(trx, async () => {
      for (const entry of prepared) await this.writeOne(trx, t, entry, known);
    });
    return reason !== undefined;
  }

  /** Updates the row holding the CRM id, or inserts one; `known` learns the keys of inserted rows. */
  private async writeOne(trx: Kysely<any>, t: ResolvedTable, entry: Prepared, known: Map<string, unknown>): Promise<void> {
    const crmId = entry.record.crmId;
    const key = known.get(crmId);
    const db = this.from(trx, t);
    if (key !== undefined) {
      if (Object.keys(entry.columns).length > 0) await db.updateTable(t.sqlName).set(entry.columns).where(t.spec.key.column, '=', key).execute();
      return;
    }
    const row: Record<string, unknown> = { ...entry.columns, [t.spec.crmId]: crmId };
    if (!t.keyGenerated) row[t.spec.key.column] = t.spec.newKey?.(entry.record) ?? crmId;
    const inserted = (await db.insertInto(t.sqlName).values(row).returning(t.spec.key.column).executeTakeFirst()) as Record<string, unknown> | undefined;
    known.set(crmId, inserted?.[t.spec.key.column] ?? row[t.spec.key.column]);
  }

  /**
   * Runs `body` under a savepoint: on a data or constraint error it rolls back to it and resolves
   * with what the database said; any other error rolls back and rejects (the write fails).
   */
  private async underSavepoint(trx: Kysely<any>, body: () => Promise<void>): Promise<ReturnType<typeof refusedByDatabase>> {
    const name = sql.raw(`crm_sync_sp_${++this.savepoints}`);
    await sql`savepoint ${name}`.execute(trx);
    try {
      await body();
    } catch (error) {
      await sql`rollback to savepoint ${name}`.execute(trx);
      await sql`release savepoint ${name}`.execute(trx);
      const refused = refusedByDatabase(error);
      if (refused === undefined) throw error;
      return refused;
    }
    await sql`release savepoint ${name}`.execute(trx);
    return undefined;
  }

  /** A local key (always a string in crm-sync) as the key column's value; `undefined` when it cannot be one. */
  private keyValue(t: ResolvedTable, key: string): unknown {
    if (t.spec.key.type === 'text') return key;
    return /^-?\d+$/.test(key) && Number.isSafeInteger(Number(key)) ? Number(key) : undefined;
  }

  private instantParam(instant: string): unknown {
    return new Date(instant).toISOString();
  }

  private toSource(t: ResolvedTable, row: Record<string, unknown>): SourceRecord {
    const values: Record<string, FieldValue> = {};
    for (const field of t.fields.values()) values[field.field] = fromColumnValue(field, row[field.column]);
    const crmId = row[t.spec.crmId];
    const changedAt = t.spec.changedAt === undefined ? undefined : toInstant(row[t.spec.changedAt]);
    return {
      key: String(row[t.spec.key.column]),
      ...(crmId === null || crmId === undefined ? {} : { crmId: String(crmId) }),
      values,
      ...(changedAt === undefined ? {} : { changedAt }),
    };
  }
}
