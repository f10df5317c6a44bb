/**
 * The application's side (the seed's "deduplicate and update the database" step): one table per
 * job's `local.table`, where imports upsert by CRM id (one CRM record is one local row), O3 marks
 * rows deleted, and exports read rows back in key order.
 *
 * Field values live in one JSONB column (`data`): jobs choose their fields freely and change them
 * between runs, so real columns would need an `ALTER TABLE` per mapping change; JSONB keeps each
 * value's JSON type, and the application queries it with `data->>'email'` and the like. Times are
 * ISO-8601 UTC text, exactly as the SDK passes them, so they round-trip unchanged and sort
 * correctly. Keys use the `"C"` collation: byte order, as in SQLite, whatever the database's locale.
 *
 * Every batch write is a fixed number of statements over the whole batch (a page of new rows as
 * one `COPY ... FROM STDIN`, a page to merge as one JSON text through `jsonb_to_recordset`,
 * `unnest` of text arrays), in one transaction with its checkpoint and fence check.
 *
 * @module
 */
import type { PoolClient } from 'pg';
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
import { copyFrom, copyJson, copyText, isPipelined } from './copy.js';
import { prepared, type Database } from './database.js';
import { PostgresStoreError, toStoreError } from './errors.js';
import type { OptionWriter } from './option-store.js';
import { checkLocalTableName } from './table-name.js';

/** Rows per batch of the store's {@link @crm-sync/sdk!RecordSource.read | RecordSource.read} when the caller does not say. */
export const DEFAULT_READ_BATCH_SIZE = 500;

/** One row of a local table as stored. */
interface LocalTableRow {
  readonly key: string;
  readonly crm_id: string | null;
  readonly data: Record<string, FieldValue>;
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

/** Helpers around local tables for the CLI, the demo and applications (the same as `@crm-sync/store-sqlite`'s). */
export interface LocalTables {
  /**
   * An application-side change: creates the row or merges `values` into it, and sets
   * `local_changed_at` (to now, or to `options.changedAt` when loading history) so that an
   * incremental export picks it up.
   */
  upsertLocal(table: string, key: string, values: Readonly<Record<string, FieldValue>>, options?: { readonly changedAt?: Instant }): Promise<void>;
  /** The row with that local key, deleted or not; `undefined` when absent. */
  getLocal(table: string, key: string): Promise<LocalRow | undefined>;
  /** Rows in the table, without the deleted ones unless `includeDeleted`. 0 for a missing table. */
  countLocal(table: string, options?: { readonly includeDeleted?: boolean }): Promise<number>;
  /** Names of the local tables in this store, sorted. */
  listTables(): Promise<readonly string[]>;
  /** Sets `exported_at` on these keys (unknown keys are ignored). */
  markExported(table: string, keys: readonly string[], at: Instant): Promise<void>;
}

const COLUMNS = ['key', 'crm_id', 'data', 'crm_changed_at', 'local_changed_at', 'deleted_at', 'exported_at'] as const;
const SELECT_COLUMNS = COLUMNS.join(', ');

/** {@link RecordSink}, {@link RecordSource} and {@link LocalTables} over one PostgreSQL schema. */
export class PostgresLocalTables implements RecordSink, RecordSource, LocalTables {
  /** Records and the checkpoint commit in one transaction. */
  readonly atomicCheckpoint = true;
  /** Tables known to exist (lower-case name). */
  private readonly known = new Set<string>();
  /** Tables whose last page held rows they already had: their next page merges at once (see {@link PostgresLocalTables.write}). */
  private readonly merging = new Set<string>();

  /** `optionWriter` joins checkpoints to the records' transaction; `now` stamps local changes. */
  constructor(
    private readonly db: Database,
    private readonly optionWriter: OptionWriter,
    private readonly now: () => Date,
  ) {}

  /**
   * Upserts records by `crmId` and stores `checkpoint` in the same transaction: either all of it
   * is durable when the promise resolves, or none of it. New rows take the CRM id as their local
   * key; values merge into an existing row, keeping local-only fields; an import clears
   * `deleted_at`. A stale `fence` writes nothing.
   *
   * Two ways, the same outcome. While a table's pages hold only records it does not have yet (a
   * first import), a page is one `COPY ... FROM STDIN` (no lookup, no `ON CONFLICT` arbiter work,
   * each record's JSON parsed once, multi-row heap inserts): when a
   * row of the page exists after all, the server refuses it with a unique violation, the
   * transaction rolls back whole, and the page runs again the merging way. The merging way (one
   * lookup of the linked CRM ids, an `UPDATE` of those rows, an `INSERT ... ON CONFLICT` that
   * adopts unlinked rows keyed by the CRM id) is then kept for the table's next pages, until one
   * page of only new records lets the table go back to plain inserts.
   */
  async write(table: string, records: readonly LocalRecord[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    const operation = `Writing ${records.length} records to local table "${String(table)}"`;
    const name = await this.ensureTable(table, operation);
    const batch = mergeByCrmId(records, String(table));
    if (batch.length > 0 && !this.merging.has(name)) {
      let existing = false;
      try {
        await this.db.transaction(
          operation,
          async (client) => {
            try {
              if (isPipelined(client)) {
                // node-postgres refuses a COPY on a client in pipeline mode (an application's): the same rows as one INSERT.
                await client.query(
                  prepared(
                    `INSERT INTO ${this.db.table(name)} (key, crm_id, data, crm_changed_at)
                     SELECT x.i, x.i, x.d, x.c FROM jsonb_to_recordset($1::jsonb) AS x(i text, c text, d jsonb)`,
                    [JSON.stringify(batch)],
                  ),
                );
              } else {
                await copyFrom(client, `COPY ${this.db.table(name)} (key, crm_id, data, crm_changed_at) FROM STDIN`, copyRows(batch));
              }
            } catch (error) {
              // 23505: unique violation (the key or the CRM id is taken).
              existing = (error as { code?: unknown } | null)?.code === '23505';
              throw error;
            }
            if (checkpoint !== undefined) await this.optionWriter.write(client, checkpoint.optionName, checkpoint.value, checkpoint.meta);
          },
          fence,
        );
        return;
      } catch (error) {
        // A row of the page exists: nothing of the attempt stayed; merge.
        if (!existing) throw error;
        this.merging.add(name);
      }
    }
    // The merging way reads the page as one JSON text, made by one JSON.stringify: a text[]
    // parameter per column costs the client an escaping pass per element (pg's array literal).
    const page = batch.length > 0 ? JSON.stringify(batch) : undefined;
    const allNew = await this.db.transaction(
      operation,
      async (client) => {
        const fresh = page === undefined ? false : await this.mergePage(client, name, batch, page);
        if (checkpoint !== undefined) await this.optionWriter.write(client, checkpoint.optionName, checkpoint.value, checkpoint.meta);
        return fresh;
      },
      fence,
    );
    if (allNew) this.merging.delete(name);
  }

  /**
   * The merging way of {@link PostgresLocalTables.write}, inside its transaction: returns true when
   * every record of the page was a new row (the next page may try a plain insert again).
   */
  private async mergePage(client: PoolClient, name: string, batch: readonly PageRecord[], page: string): Promise<boolean> {
    const t = this.db.table(name);
    // 1. Which CRM ids are already linked to a row (no JSON involved).
    const linked = await client.query<{ crm_id: string }>(
      prepared(`SELECT crm_id FROM ${t} WHERE crm_id = ANY($1::text[]) FOR UPDATE`, [batch.map((record) => record.i)]),
    );
    const done = new Set(linked.rows.map((row) => row.crm_id));
    const known = done.size === 0 ? [] : batch.filter((record) => done.has(record.i));
    const rest = done.size === 0 ? batch : batch.filter((record) => !done.has(record.i));
    if (known.length > 0) {
      // 2. Merge the values into the linked rows.
      await client.query(
        prepared(
          `UPDATE ${t} AS t SET data = t.data || x.d, crm_changed_at = COALESCE(x.c, t.crm_changed_at), deleted_at = NULL
           FROM jsonb_to_recordset($1::jsonb) AS x(i text, c text, d jsonb)
           WHERE t.crm_id = x.i`,
          [known.length === batch.length ? page : JSON.stringify(known)],
        ),
      );
    }
    if (rest.length === 0) return false;
    // 3. New rows keyed by the CRM id; a row with that key and no CRM id is adopted; a row with
    //    that key linked elsewhere is a conflict (not counted, named below).
    const written = await client.query<{ n: number; fresh: number }>(
      prepared(
        `WITH w AS (
           INSERT INTO ${t} AS t (key, crm_id, data, crm_changed_at)
           SELECT x.i, x.i, x.d, x.c FROM jsonb_to_recordset($1::jsonb) AS x(i text, c text, d jsonb)
           ON CONFLICT (key) DO UPDATE SET data = t.data || excluded.data, crm_id = excluded.crm_id,
             crm_changed_at = COALESCE(excluded.crm_changed_at, t.crm_changed_at), deleted_at = NULL
           WHERE t.crm_id IS NULL
           RETURNING t.xmax = 0 AS fresh)
         SELECT count(*)::int AS n, count(*) FILTER (WHERE fresh)::int AS fresh FROM w`,
        [rest.length === batch.length ? page : JSON.stringify(rest)],
      ),
    );
    const counted = written.rows[0] ?? { n: 0, fresh: 0 };
    if (counted.n < rest.length) {
      // Inside this transaction: every row of `rest` is now linked to its own CRM id but the blocked ones.
      const blocked = (
        await client.query<{ key: string; crm_id: string | null }>(`SELECT key, crm_id FROM ${t} WHERE key = ANY($1::text[]) AND crm_id IS DISTINCT FROM key`, [
          rest.map((record) => record.i),
        ])
      ).rows;
      const holderOf = new Map(blocked.map((row) => [row.key, row.crm_id]));
      const first = rest.find((record) => holderOf.has(record.i))?.i ?? rest[0]!.i;
      throw new PostgresStoreError(
        'constraint',
        `Local table "${name}" already has key "${first}" linked to CRM id "${holderOf.get(first) ?? '?'}"; the import of CRM id "${first}" cannot take that key. Rename the local row. Nothing of this write was stored.`,
      );
    }
    return known.length === 0 && counted.fresh === rest.length;
  }


  /** Sets `deleted_at` on rows by CRM id, with `checkpoint` in the same transaction. Unknown ids are ignored. */
  async markDeleted(table: string, deletions: readonly LocalDeletion[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    const operation = `Marking ${deletions.length} records deleted in local table "${String(table)}"`;
    const name = await this.ensureTable(table, operation);
    const last = new Map<string, string>();
    for (const deletion of deletions) last.set(deletion.crmId, deletion.deletedAt);
    await this.db.transaction(
      operation,
      async (client) => {
        if (last.size > 0) {
          await client.query(
            `UPDATE ${this.db.table(name)} AS t SET deleted_at = x.deleted_at
             FROM jsonb_to_recordset($1::jsonb) AS x(crm_id text, deleted_at text) WHERE t.crm_id = x.crm_id`,
            [JSON.stringify([...last].map(([crm_id, deleted_at]) => ({ crm_id, deleted_at })))],
          );
        }
        if (checkpoint !== undefined) await this.optionWriter.write(client, checkpoint.optionName, checkpoint.value, checkpoint.meta);
      },
      fence,
    );
  }

  /**
   * Streams live (not deleted) rows in key order, `batchSize` rows at a time. Each batch is its own
   * keyset query (`key > last key`), so no cursor stays open between batches. `changedSince` keeps
   * rows whose `local_changed_at >= changedSince`. A missing table yields nothing.
   */
  async *read(table: string, options: SourceReadOptions = {}): AsyncIterable<readonly SourceRecord[]> {
    const batchSize = options.batchSize ?? DEFAULT_READ_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new PostgresStoreError('invalid-argument', `read: batchSize must be a whole number >= 1, got ${batchSize}.`);
    }
    const name = await this.existingTable(table, 'Reading');
    if (name === undefined) return;
    const t = this.db.table(name);
    const since = options.changedSince;
    if (options.keys !== undefined) {
      const keys = [...new Set(options.keys)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (let start = 0; start < keys.length; start += batchSize) {
        const chunk = keys.slice(start, start + batchSize);
        const rows = await this.db.query<LocalTableRow>(
          `Reading keys of local table "${name}"`,
          `SELECT ${SELECT_COLUMNS} FROM ${t} WHERE key = ANY($1::text[]) AND deleted_at IS NULL ${since === undefined ? '' : 'AND local_changed_at >= $2'} ORDER BY key`,
          since === undefined ? [chunk] : [chunk, since],
        );
        if (rows.length > 0) yield rows.map(toSourceRecord);
      }
      return;
    }
    let afterKey = '';
    for (;;) {
      const rows = await this.db.query<LocalTableRow>(
        `Reading local table "${name}"`,
        `SELECT ${SELECT_COLUMNS} FROM ${t} WHERE key > $1 AND deleted_at IS NULL ${since === undefined ? '' : 'AND local_changed_at >= $3'} ORDER BY key LIMIT $2`,
        since === undefined ? [afterKey, batchSize] : [afterKey, batchSize, since],
        { prepared: true },
      );
      if (rows.length === 0) return;
      yield rows.map(toSourceRecord);
      if (rows.length < batchSize) return;
      afterKey = rows[rows.length - 1]!.key;
    }
  }

  /**
   * Links local rows to the CRM ids an export created, in one transaction. Never deletes a row:
   * when another row already holds the CRM id, both rows stay, the link is not made, and it comes
   * back in `conflicts`. The links are decided in order (as one update per link would), on rows
   * locked `FOR UPDATE`, then written with two statements.
   */
  async linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult> {
    const operation = `Linking ${links.length} CRM ids in local table "${String(table)}"`;
    const name = await this.ensureTable(table, operation);
    const t = this.db.table(name);
    return this.db.transaction(
      operation,
      async (client) => {
        const conflicts: CrmIdConflict[] = [];
        if (links.length === 0) return { conflicts };
        const rows = (
          await client.query<{ key: string; crm_id: string | null }>(
            `SELECT key, crm_id FROM ${t} WHERE key = ANY($1::text[]) OR crm_id = ANY($2::text[]) ORDER BY key FOR UPDATE`,
            [links.map((link) => link.key), links.map((link) => link.crmId)],
          )
        ).rows;
        const crmIdOf = new Map(rows.map((row) => [row.key, row.crm_id]));
        const heldBefore = new Map(crmIdOf);
        const holderOf = new Map<string, string>();
        for (const row of rows) if (row.crm_id !== null) holderOf.set(row.crm_id, row.key);
        const changed = new Map<string, string>();
        for (const link of links) {
          if (!crmIdOf.has(link.key)) continue;
          const holder = holderOf.get(link.crmId);
          if (holder !== undefined && holder !== link.key) {
            conflicts.push({ key: link.key, crmId: link.crmId, heldBy: holder });
            continue;
          }
          const previous = crmIdOf.get(link.key);
          // Already linked to that id (and not moved off it earlier in this call): nothing to write.
          if (previous === link.crmId && !changed.has(link.key)) continue;
          if (previous !== null && previous !== undefined) holderOf.delete(previous);
          crmIdOf.set(link.key, link.crmId);
          holderOf.set(link.crmId, link.key);
          changed.set(link.key, link.crmId);
        }
        if (changed.size > 0) {
          const keys = [...changed.keys()];
          // Clear first the rows that give up an id, so that moving ids between rows never trips
          // the unique index mid-statement. Only those: an UPDATE rewrites every row it matches,
          // even to the value it holds, and most links fill a row that had no id.
          const moving = keys.filter((key) => heldBefore.get(key) != null);
          if (moving.length > 0) await client.query(`UPDATE ${t} SET crm_id = NULL WHERE key = ANY($1::text[])`, [moving]);
          await client.query(`UPDATE ${t} AS t SET crm_id = x.crm_id FROM unnest($1::text[], $2::text[]) AS x(key, crm_id) WHERE t.key = x.key`, [
            keys,
            [...changed.values()],
          ]);
        }
        return { conflicts };
      },
      fence,
    );
  }

  /**
   * Every field name some row of the table holds in its `data` (deleted rows included, a `null`
   * value counts); `undefined` for a missing or empty table. One scan of the table.
   */
  async columns(table: string): Promise<ReadonlySet<string> | undefined> {
    const name = await this.existingTable(table, 'Reading the columns of');
    if (name === undefined) return undefined;
    const t = this.db.table(name);
    const operation = `Reading the columns of local table "${name}"`;
    const any = await this.db.query(operation, `SELECT 1 FROM ${t} LIMIT 1`);
    if (any.length === 0) return undefined;
    const rows = await this.db.query<{ name: string }>(operation, `SELECT DISTINCT jsonb_object_keys(data) AS name FROM ${t}`);
    return new Set(rows.map((row) => row.name));
  }

  /** See {@link LocalTables.upsertLocal}. */
  async upsertLocal(table: string, key: string, values: Readonly<Record<string, FieldValue>>, options: { readonly changedAt?: Instant } = {}): Promise<void> {
    const operation = `Changing key "${String(key)}" of local table "${String(table)}"`;
    if (typeof key !== 'string' || key === '') {
      throw new PostgresStoreError('invalid-argument', `upsertLocal: the local key must be a non-empty string, got ${JSON.stringify(key)}.`);
    }
    const name = await this.ensureTable(table, operation);
    const changedAt = options.changedAt ?? this.now().toISOString();
    await this.db.transaction(operation, async (client) => {
      await client.query(
        `INSERT INTO ${this.db.table(name)} AS t (key, data, local_changed_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET data = t.data || excluded.data, local_changed_at = excluded.local_changed_at`,
        [key, JSON.stringify(values), changedAt],
      );
    });
  }

  /** See {@link LocalTables.getLocal}. */
  async getLocal(table: string, key: string): Promise<LocalRow | undefined> {
    const name = await this.existingTable(table, 'Reading');
    if (name === undefined) return undefined;
    const rows = await this.db.query<LocalTableRow>(
      `Reading key "${key}" of local table "${name}"`,
      `SELECT ${SELECT_COLUMNS} FROM ${this.db.table(name)} WHERE key = $1`,
      [key],
    );
    return rows[0] === undefined ? undefined : toLocalRow(rows[0]);
  }

  /** See {@link LocalTables.countLocal}. */
  async countLocal(table: string, options: { readonly includeDeleted?: boolean } = {}): Promise<number> {
    const name = await this.existingTable(table, 'Counting');
    if (name === undefined) return 0;
    const rows = await this.db.query<{ n: string }>(
      `Counting rows of local table "${name}"`,
      `SELECT count(*) AS n FROM ${this.db.table(name)} ${options.includeDeleted === true ? '' : 'WHERE deleted_at IS NULL'}`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** See {@link LocalTables.listTables}. */
  async listTables(): Promise<readonly string[]> {
    const rows = await this.db.query<{ name: string }>('Listing local tables', `SELECT name FROM ${this.db.table('local_tables')} ORDER BY name COLLATE "C"`);
    return rows.map((row) => row.name);
  }

  /** See {@link LocalTables.markExported}. */
  async markExported(table: string, keys: readonly string[], at: Instant): Promise<void> {
    const operation = `Marking ${keys.length} rows exported in local table "${String(table)}"`;
    const name = await this.ensureTable(table, operation);
    await this.db.transaction(operation, async (client) => {
      await client.query(`UPDATE ${this.db.table(name)} SET exported_at = $1 WHERE key = ANY($2::text[])`, [at, keys]);
    });
  }

  /** Checks the name, and creates and registers the table when missing (in its own transaction). */
  private async ensureTable(table: string, operation: string): Promise<string> {
    const name = this.checkName(table, operation);
    if (this.known.has(name)) return name;
    if ((await this.tableExists(name, operation)) === false) {
      const t = this.db.table(name);
      await this.db.transaction(operation, async (client) => {
        // Two processes creating one table: the advisory lock makes the second wait, then find it.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`crm-sync table ${this.db.schema}.${name}`]);
        await client.query(`CREATE TABLE IF NOT EXISTS ${t} (
          key              text COLLATE "C" PRIMARY KEY,
          crm_id           text UNIQUE,
          data             jsonb NOT NULL DEFAULT '{}'::jsonb,
          crm_changed_at   text,
          local_changed_at text,
          deleted_at       text,
          exported_at      text
        )`);
        // Partial: only rows the application changed are ever looked up by local_changed_at (an
        // incremental export's `local_changed_at >= $n` implies NOT NULL), and imported rows have
        // none, so an import writes two index entries per row, not three. Tables made by earlier
        // releases keep their full index; both serve the same queries.
        await client.query(
          `CREATE INDEX IF NOT EXISTS "crm_sync_idx_${name}_local_changed_at" ON ${t} (local_changed_at) WHERE local_changed_at IS NOT NULL`,
        );
        await client.query(`INSERT INTO ${this.db.table('local_tables')} (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
          name,
          this.now().toISOString(),
        ]);
      });
    }
    // Created inside the application's open transaction: it may be rolled back with it.
    if (!this.db.applicationTransactionOpen) this.known.add(name);
    return name;
  }

  /** The checked name when the table exists; `undefined` when it does not. */
  private async existingTable(table: string, verb: string): Promise<string | undefined> {
    const operation = `${verb} local table "${String(table)}"`;
    const name = this.checkName(table, operation);
    if (this.known.has(name)) return name;
    if ((await this.tableExists(name, operation)) === false) return undefined;
    if (!this.db.applicationTransactionOpen) this.known.add(name);
    return name;
  }

  private checkName(table: string, operation: string): string {
    try {
      return checkLocalTableName(table);
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  /** Whether the table exists; throws when one exists that crm-sync did not make. */
  private async tableExists(name: string, operation: string): Promise<boolean> {
    const columns = await this.db.query<{ column_name: string }>(
      operation,
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [this.db.schema, name],
    );
    if (columns.length === 0) return false;
    const present = new Set(columns.map((column) => column.column_name));
    const missing = COLUMNS.filter((column) => !present.has(column));
    if (missing.length > 0) {
      throw new PostgresStoreError(
        'invalid-table-name',
        `Table "${name}" exists in schema "${this.db.schema}" but is not a crm-sync local table (missing columns: ${missing.join(', ')}). Use another local.table name in the job.`,
      );
    }
    return true;
  }
}

/** A record as the page's JSON carries it: CRM id, change time, values (short names: the JSON travels once per record). */
interface PageRecord {
  readonly i: string;
  c: string | null;
  d: Readonly<Record<string, FieldValue>>;
}

/**
 * One row per CRM id, duplicates merged in order (as sequential upserts would merge them). The
 * values object is the caller's own (not copied) unless a duplicate merges into it.
 */
function mergeByCrmId(records: readonly LocalRecord[], table: string): PageRecord[] {
  const page: PageRecord[] = [];
  const byId = new Map<string, PageRecord>();
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const crmId = record.crmId;
    if (typeof crmId !== 'string' || crmId === '') {
      throw new PostgresStoreError(
        'invalid-argument',
        `Record #${index} written to local table "${table}" has no crmId (got ${JSON.stringify(crmId)}); every imported record needs the CRM's id. Nothing of this write was stored.`,
      );
    }
    const earlier = byId.get(crmId);
    if (earlier !== undefined) {
      earlier.d = { ...earlier.d, ...record.values };
      if (record.changedAt !== undefined) earlier.c = record.changedAt;
      continue;
    }
    const item: PageRecord = { i: crmId, c: record.changedAt ?? null, d: record.values };
    byId.set(crmId, item);
    page.push(item);
  }
  return page;
}

/**
 * A page of new rows in COPY's text format: key and CRM id (both the CRM id), the values as JSON,
 * the change time or `\N` (null), one line per record.
 */
function copyRows(batch: readonly PageRecord[]): Buffer {
  const lines = new Array<string>(batch.length);
  for (let index = 0; index < batch.length; index++) {
    const record = batch[index]!;
    const id = copyText(record.i);
    lines[index] = `${id}\t${id}\t${copyJson(JSON.stringify(record.d))}\t${record.c === null ? '\\N' : copyText(record.c)}\n`;
  }
  return Buffer.from(lines.join(''), 'utf8');
}

function toSourceRecord(row: LocalTableRow): SourceRecord {
  return {
    key: row.key,
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
    values: row.data,
    ...(row.local_changed_at === null ? {} : { changedAt: row.local_changed_at }),
  };
}

function toLocalRow(row: LocalTableRow): LocalRow {
  return {
    key: row.key,
    ...(row.crm_id === null ? {} : { crmId: row.crm_id }),
    values: row.data,
    ...(row.crm_changed_at === null ? {} : { crmChangedAt: row.crm_changed_at }),
    ...(row.local_changed_at === null ? {} : { localChangedAt: row.local_changed_at }),
    ...(row.deleted_at === null ? {} : { deletedAt: row.deleted_at }),
    ...(row.exported_at === null ? {} : { exportedAt: row.exported_at }),
  };
}
