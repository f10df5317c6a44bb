/**
 * An in-memory record store for a fake CRM: server-assigned ids, server-assigned change times
 * (epoch milliseconds, so a fake can answer them in any format), and a deletion log with a
 * retention the fake enforces.
 *
 * @module
 */

/** A value a fake stores: JSON scalars only. */
export type FakeValue = string | number | boolean | null;

/** One stored record. */
export interface FakeRecord {
  /** The id the store assigned. */
  readonly id: string;
  /** When the record was created, epoch milliseconds. */
  readonly createdAt: number;
  /** When the record last changed, epoch milliseconds. */
  readonly changedAt: number;
  /** The field values (never the id or the times). */
  readonly values: Readonly<Record<string, FakeValue>>;
}

/** One entry of the deletion log. */
export interface FakeDeletion {
  /** The id of the deleted record. */
  readonly id: string;
  /** When it was deleted, epoch milliseconds. */
  readonly deletedAt: number;
}

/** Options of {@link FakeRecordStore}. */
export interface FakeRecordStoreOptions {
  /** Builds the n-th id (n from 0). Default `rec_` and n in base 36 padded to 12 characters. */
  readonly newId?: (n: number) => string;
  /** The store's clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** How long the deletion log keeps an entry, in days. Default 30. */
  readonly retentionDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Records of one object, with ids and change times the server assigns, and a deletion log. */
export class FakeRecordStore {
  private readonly records = new Map<string, FakeRecord>();
  private readonly deletions: FakeDeletion[] = [];
  private sequence = 0;
  private readonly newId: (n: number) => string;
  /** The store's clock, epoch milliseconds. */
  readonly now: () => number;
  /** How long deletions are kept, in days (what the fake's CRM reports as its retention). */
  readonly retentionDays: number;

  /** @param options ids, clock and retention; all optional. */
  constructor(options: FakeRecordStoreOptions = {}) {
    this.newId = options.newId ?? ((n) => `rec_${n.toString(36).padStart(12, '0')}`);
    this.now = options.now ?? Date.now;
    this.retentionDays = options.retentionDays ?? 30;
  }

  /** Creates a record with a new id; `at` (epoch ms) overrides the change time (for seeding). */
  insert(values: Readonly<Record<string, FakeValue>>, at: number = this.now()): FakeRecord {
    const record: FakeRecord = { id: this.newId(this.sequence++), createdAt: at, changedAt: at, values: { ...values } };
    this.records.set(record.id, record);
    return record;
  }

  /** Merges `values` into a record and stamps a new change time; `undefined` when there is no such record. */
  update(id: string, values: Readonly<Record<string, FakeValue>>, at: number = this.now()): FakeRecord | undefined {
    const existing = this.records.get(id);
    if (!existing) return undefined;
    const record: FakeRecord = { ...existing, changedAt: at, values: { ...existing.values, ...values } };
    this.records.set(id, record);
    return record;
  }

  /** The record with this id, if any. */
  get(id: string): FakeRecord | undefined {
    return this.records.get(id);
  }

  /** Every record, in insertion order. */
  all(): FakeRecord[] {
    return [...this.records.values()];
  }

  /** The first record whose `field` equals `value` (a unique-key lookup), if any. */
  findBy(field: string, value: FakeValue): FakeRecord | undefined {
    if (value === null || value === undefined) return undefined;
    return this.all().find((record) => record.values[field] === value);
  }

  /** Deletes a record and logs the deletion at `at`; false when there was no such record. */
  delete(id: string, at: number = this.now()): boolean {
    if (!this.records.delete(id)) return false;
    this.deletions.push({ id, deletedAt: at });
    return true;
  }

  /** The oldest instant (epoch ms) the deletion log still covers: now minus the retention. */
  earliestDeletion(): number {
    return this.now() - this.retentionDays * DAY_MS;
  }

  /**
   * Deletions in `[from, to]` (both inclusive, epoch ms), ordered by `(deletedAt, id)`, or
   * `undefined` when `from` is older than the retention (the fake must refuse such a window).
   */
  deletedBetween(from: number, to: number): FakeDeletion[] | undefined {
    if (from < this.earliestDeletion()) return undefined;
    return this.deletions
      .filter((entry) => entry.deletedAt >= from && entry.deletedAt <= to)
      .sort((a, b) => a.deletedAt - b.deletedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Forgets records and deletions (ids keep counting, so an old id never comes back). */
  reset(): void {
    this.records.clear();
    this.deletions.length = 0;
  }
}
