/**
 * An in-memory application side: named tables that are both a {@link RecordSink} (imports land
 * here) and a {@link RecordSource} (exports read from here).
 *
 * @module
 */
import type { FieldValue, Instant } from '../contract/values.js';
import type { Fence, MemoryLeaseStore } from './lease.js';
import type { MemoryOptionStore } from './memory-option-store.js';
import type {
  Checkpoint,
  CrmIdConflict,
  CrmIdLink,
  LinkCrmIdsResult,
  LocalDeletion,
  LocalRecord,
  RecordSink,
  RecordSource,
  SourceReadOptions,
  SourceRecord,
} from './types.js';

/** One row of a memory table. */
export interface MemoryRow {
  /** The local key (export side) or the CRM id (rows created by an import). */
  readonly key: string;
  crmId?: string;
  values: Record<string, FieldValue>;
  changedAt?: Instant;
  /** Set by `markDeleted`. */
  deletedAt?: Instant;
  /** How many times an import wrote this row (1 means exactly once). */
  writes: number;
}

/**
 * Tables in memory. Imported rows are keyed by CRM id; rows added with {@link MemoryRecordStore.put}
 * are keyed by their local key. With an option store, checkpoints are stored in the same
 * synchronous step as the records, which is what `atomicCheckpoint` promises.
 */
export class MemoryRecordStore implements RecordSink, RecordSource {
  readonly atomicCheckpoint: boolean;
  private readonly tables = new Map<string, Map<string, MemoryRow>>();
  /** Per table, rows by CRM id: imports look rows up by CRM id, so this keeps a write O(1). */
  private readonly byCrmId = new Map<string, Map<string, MemoryRow>>();

  private readonly leases: MemoryLeaseStore | undefined;

  /**
   * @param options Where checkpoints go; without it the orchestrator stores them itself.
   * @param leases Checks the fences of fenced writes (default: the option store's); without one
   *   fences are ignored (no zombie protection).
   */
  constructor(
    private readonly options?: MemoryOptionStore,
    leases?: MemoryLeaseStore,
  ) {
    this.atomicCheckpoint = options !== undefined;
    this.leases = leases ?? options?.leases;
  }

  async write(table: string, records: readonly LocalRecord[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    this.fenced(fence);
    const rows = this.table(table);
    const index = this.index(table);
    for (const record of records) {
      const existing = index.get(record.crmId);
      if (existing) {
        existing.values = { ...existing.values, ...record.values };
        if (record.changedAt !== undefined) existing.changedAt = record.changedAt;
        existing.writes += 1;
        delete existing.deletedAt;
      } else {
        const row: MemoryRow = {
          key: record.crmId,
          crmId: record.crmId,
          values: { ...record.values },
          ...(record.changedAt === undefined ? {} : { changedAt: record.changedAt }),
          writes: 1,
        };
        rows.set(record.crmId, row);
        index.set(record.crmId, row);
      }
    }
    this.storeCheckpoint(checkpoint);
  }

  async markDeleted(table: string, deletions: readonly LocalDeletion[], checkpoint?: Checkpoint, fence?: Fence): Promise<void> {
    this.fenced(fence);
    const index = this.index(table);
    for (const deletion of deletions) {
      const row = index.get(deletion.crmId);
      if (row) row.deletedAt = deletion.deletedAt;
    }
    this.storeCheckpoint(checkpoint);
  }

  async *read(table: string, options: SourceReadOptions = {}): AsyncIterable<readonly SourceRecord[]> {
    const batchSize = Math.max(1, options.batchSize ?? 500);
    const keys = options.keys === undefined ? undefined : new Set(options.keys);
    const selected = [...this.table(table).values()]
      .filter((row) => row.deletedAt === undefined)
      .filter((row) => keys === undefined || keys.has(row.key))
      .filter((row) => options.changedSince === undefined || (row.changedAt !== undefined && row.changedAt >= options.changedSince))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (let offset = 0; offset < selected.length; offset += batchSize) {
      yield selected.slice(offset, offset + batchSize).map((row) => ({
        key: row.key,
        values: { ...row.values },
        ...(row.crmId === undefined ? {} : { crmId: row.crmId }),
        ...(row.changedAt === undefined ? {} : { changedAt: row.changedAt }),
      }));
    }
  }

  /** Links rows by local key; never removes a row: a CRM id already on another row is a conflict. */
  async linkCrmIds(table: string, links: readonly CrmIdLink[], fence?: Fence): Promise<LinkCrmIdsResult> {
    this.fenced(fence);
    const rows = this.table(table);
    const index = this.index(table);
    const conflicts: CrmIdConflict[] = [];
    for (const link of links) {
      const row = rows.get(link.key);
      if (!row) continue;
      const holder = index.get(link.crmId);
      if (holder !== undefined && holder !== row) {
        conflicts.push({ key: link.key, crmId: link.crmId, heldBy: holder.key });
        continue;
      }
      this.setCrmId(table, row, link.crmId);
    }
    return { conflicts };
  }

  /**
   * Every field name some row of the table holds (deleted rows included); `undefined` for a table
   * without rows. See {@link RecordSource.columns}.
   */
  async columns(table: string): Promise<ReadonlySet<string> | undefined> {
    const rows = this.tables.get(table);
    if (rows === undefined || rows.size === 0) return undefined;
    const names = new Set<string>();
    for (const row of rows.values()) for (const name of Object.keys(row.values)) names.add(name);
    return names;
  }

  /** Adds or replaces a local row (export side), keyed by its local key. */
  put(table: string, key: string, values: Record<string, FieldValue>, options: { crmId?: string; changedAt?: Instant } = {}): void {
    const previous = this.table(table).get(key);
    if (previous?.crmId !== undefined) this.index(table).delete(previous.crmId);
    const row: MemoryRow = { key, values: { ...values }, writes: 0, ...(options.changedAt === undefined ? {} : { changedAt: options.changedAt }) };
    this.table(table).set(key, row);
    if (options.crmId !== undefined) this.setCrmId(table, row, options.crmId);
  }

  /** The rows of a table, in insertion order. */
  rows(table: string): readonly MemoryRow[] {
    return [...this.table(table).values()];
  }

  /** One row by local key or CRM id. */
  get(table: string, keyOrCrmId: string): MemoryRow | undefined {
    return this.table(table).get(keyOrCrmId) ?? this.index(table).get(keyOrCrmId);
  }

  private table(name: string): Map<string, MemoryRow> {
    let rows = this.tables.get(name);
    if (!rows) {
      rows = new Map();
      this.tables.set(name, rows);
    }
    return rows;
  }

  private index(table: string): Map<string, MemoryRow> {
    let index = this.byCrmId.get(table);
    if (!index) {
      index = new Map();
      this.byCrmId.set(table, index);
    }
    return index;
  }

  private setCrmId(table: string, row: MemoryRow, crmId: string): void {
    const index = this.index(table);
    if (row.crmId !== undefined) index.delete(row.crmId);
    row.crmId = crmId;
    index.set(crmId, row);
  }

  /** Refuses a write whose fence is stale, before anything changes. */
  private fenced(fence: Fence | undefined): void {
    if (fence !== undefined) this.leases?.assertFence(fence);
  }

  private storeCheckpoint(checkpoint: Checkpoint | undefined): void {
    if (checkpoint && this.options) this.options.setOptionNow(checkpoint.optionName, checkpoint.value, checkpoint.meta);
  }
}
