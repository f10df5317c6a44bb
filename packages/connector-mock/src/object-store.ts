/**
 * The storage of one object of the in-memory CRM: records in insertion order, lookups by id and
 * by unique field, the recycle bin, and cached orderings. Kept apart from the engine's rules so
 * that the hot paths (insert, read all, page by change time) stay plain array and map work, fast
 * enough for a million records.
 *
 * @module
 */
import type { FieldDescription, FieldValue, FieldValues, Instant } from '@crm-sync/sdk';
import { createIdGenerator, type IdGenerator } from './ids.js';
import type { MockObjectSchema } from './schema.js';

/** A record as the engine keeps it. Values are replaced (never mutated) on each write. */
export interface StoredRecord {
  /** The primary key. */
  readonly id: string;
  /** All stored values, including the primary key and the system-stamped fields. */
  readonly values: FieldValues;
  /** The change field's value: when the record was last written (or stamped). */
  readonly changedAt: Instant;
  /** When the record was inserted. */
  readonly createdAt: Instant;
  /** Set while the record sits in the recycle bin. */
  readonly deletedAt?: Instant;
}

/** The engine's mutable view of a {@link StoredRecord}. */
export class MutableRecord implements StoredRecord {
  deletedAt?: Instant;
  constructor(
    readonly id: string,
    public values: FieldValues,
    public changedAt: Instant,
    readonly createdAt: Instant,
    /** Insertion sequence, for insertion-order ties. */
    readonly sequence: number,
  ) {}
}

/** Map key of a unique value: strings and numbers never collide with each other. */
type UniqueKey = string | number | boolean;

/** One object's records and indexes. */
export class ObjectStore {
  schema!: MockObjectSchema;
  /** Fields by name. */
  fields = new Map<string, FieldDescription>();
  /** Unique fields other than the primary key (external ids among them). */
  uniqueFields: string[] = [];
  /** Fields that must have a value on insert. */
  requiredOnInsert: string[] = [];
  /** Values an insert gets when it names none (non-nullable checkboxes start unchecked). */
  insertDefaults: FieldValues = {};
  /** Active and recycle-binned records, in insertion order. */
  all: MutableRecord[] = [];
  readonly byId = new Map<string, MutableRecord>();
  readonly unique = new Map<string, Map<UniqueKey, MutableRecord>>();
  readonly recycleBin = new Set<MutableRecord>();
  /** Bumped on every write; cached orderings compare it. */
  version = 0;
  nextId!: IdGenerator;
  #sequence = 0;
  #activeCache: MutableRecord[] | undefined;
  /** The oldest deletion time in the recycle bin; `undefined` when empty, `null` when it must be recomputed. */
  #oldestDeletedAt: Instant | undefined | null = undefined;
  #orderings = new Map<string, { version: number; records: MutableRecord[] }>();

  constructor(schema: MockObjectSchema, readonly seed: number) {
    this.setSchema(schema);
    this.nextId = createIdGenerator(schema, seed);
  }

  /** Applies a (new) schema and rebuilds the indexes that depend on it. */
  setSchema(schema: MockObjectSchema): void {
    this.schema = schema;
    this.fields = new Map(schema.fields.map((field) => [field.name, field]));
    const stamped = new Set([schema.primaryKey, schema.changeField, schema.createdField, ...(schema.extraChangeFields ?? [])]);
    this.uniqueFields = schema.fields
      .filter((field) => (field.unique === true || field.externalId) && field.name !== schema.primaryKey)
      .map((field) => field.name);
    this.requiredOnInsert = schema.fields
      .filter((field) => field.required && field.createable && !stamped.has(field.name))
      .map((field) => field.name);
    this.insertDefaults = {};
    for (const field of schema.fields) {
      if (field.type === 'boolean' && !field.nullable && field.createable) this.insertDefaults[field.name] = false;
    }
    this.unique.clear();
    for (const name of this.uniqueFields) this.unique.set(name, new Map());
    for (const record of this.all) if (record.deletedAt === undefined) this.indexUnique(record);
    this.touch();
  }

  /** Drops every record and restarts the id sequence. */
  clear(): void {
    this.all = [];
    this.byId.clear();
    this.recycleBin.clear();
    this.#oldestDeletedAt = undefined;
    for (const index of this.unique.values()) index.clear();
    this.nextId = createIdGenerator(this.schema, this.seed);
    this.#sequence = 0;
    this.touch();
  }

  /**
   * Captures the records, indexes and recycle bin; the returned function puts them back as they
   * were (ids minted in between stay used). For all-or-none writes.
   */
  snapshot(): () => void {
    const all = [...this.all];
    const states = all.map((record) => ({ record, values: record.values, changedAt: record.changedAt, deletedAt: record.deletedAt }));
    const recycleBin = [...this.recycleBin];
    return () => {
      for (const state of states) {
        state.record.values = state.values;
        state.record.changedAt = state.changedAt;
        if (state.deletedAt === undefined) delete state.record.deletedAt;
        else state.record.deletedAt = state.deletedAt;
      }
      this.all = all;
      this.byId.clear();
      for (const record of all) this.byId.set(record.id, record);
      this.recycleBin.clear();
      for (const record of recycleBin) this.recycleBin.add(record);
      this.#oldestDeletedAt = null;
      this.#activeCache = undefined;
      for (const index of this.unique.values()) index.clear();
      for (const record of all) if (record.deletedAt === undefined) this.indexUnique(record);
      this.touch();
    };
  }

  /** Marks a write: cached orderings are stale. */
  touch(): void {
    this.version++;
  }

  /** Creates and stores a new active record. */
  add(id: string, values: FieldValues, at: Instant): MutableRecord {
    const record = new MutableRecord(id, values, at, at, ++this.#sequence);
    this.all.push(record);
    this.#activeCache?.push(record);
    this.byId.set(id, record);
    this.indexUnique(record);
    this.touch();
    return record;
  }

  /** The record holding `value` in unique field `field`, if any (active records only). */
  findUnique(field: string, value: FieldValue): MutableRecord | undefined {
    return value === null ? undefined : this.unique.get(field)?.get(value);
  }

  indexUnique(record: MutableRecord): void {
    for (const name of this.uniqueFields) {
      const value = record.values[name];
      if (value !== null && value !== undefined) this.unique.get(name)?.set(value, record);
    }
  }

  unindexUnique(record: MutableRecord): void {
    for (const name of this.uniqueFields) {
      const value = record.values[name];
      if (value === null || value === undefined) continue;
      const index = this.unique.get(name);
      if (index?.get(value) === record) index.delete(value);
    }
  }

  /** Moves a record to the recycle bin. */
  moveToBin(record: MutableRecord, at: Instant): void {
    record.deletedAt = at;
    this.recycleBin.add(record);
    if (this.#oldestDeletedAt !== null && (this.#oldestDeletedAt === undefined || at < this.#oldestDeletedAt)) this.#oldestDeletedAt = at;
    this.unindexUnique(record);
    this.#activeCache = undefined;
    this.touch();
  }

  /** Takes a record out of the recycle bin. */
  restore(record: MutableRecord): void {
    delete record.deletedAt;
    this.recycleBin.delete(record);
    this.#oldestDeletedAt = null;
    this.indexUnique(record);
    this.#activeCache = undefined;
    this.touch();
  }

  /**
   * Drops recycle-binned records deleted before `cutoff` for good. Called before every operation,
   * so the common case (nothing expired) is one comparison with the oldest deletion time.
   */
  purgeDeletedBefore(cutoff: Instant): void {
    if (this.#oldestDeletedAt === null) this.#oldestDeletedAt = this.#findOldestDeletion();
    if (this.#oldestDeletedAt === undefined || this.#oldestDeletedAt >= cutoff) return;
    for (const record of [...this.recycleBin]) {
      if ((record.deletedAt as Instant) >= cutoff) continue;
      this.recycleBin.delete(record);
      this.byId.delete(record.id);
    }
    this.all = this.all.filter((record) => record.deletedAt === undefined || this.recycleBin.has(record));
    this.#oldestDeletedAt = this.#findOldestDeletion();
    this.touch();
  }

  #findOldestDeletion(): Instant | undefined {
    let oldest: Instant | undefined;
    for (const record of this.recycleBin) {
      const at = record.deletedAt as Instant;
      if (oldest === undefined || at < oldest) oldest = at;
    }
    return oldest;
  }

  /** Active records in insertion order; the same array until a delete or undelete. */
  active(): readonly MutableRecord[] {
    if (this.recycleBin.size === 0) return this.all;
    this.#activeCache ??= this.all.filter((record) => record.deletedAt === undefined);
    return this.#activeCache;
  }

  /** Number of active records. */
  activeCount(): number {
    return this.all.length - this.recycleBin.size;
  }

  /**
   * Active records with a non-null text value in `field`, ordered by `(value, id)` ascending
   * (code-unit order, which is chronological for canonical instants). Cached until the next write,
   * so paging through a large window sorts once.
   */
  orderedBy(field: string): readonly MutableRecord[] {
    const cached = this.#orderings.get(field);
    if (cached && cached.version === this.version) return cached.records;
    const records = this.active().filter((record) => typeof record.values[field] === 'string');
    records.sort((a, b) => {
      const left = a.values[field] as string;
      const right = b.values[field] as string;
      if (left !== right) return left < right ? -1 : 1;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    this.#orderings.set(field, { version: this.version, records });
    return records;
  }
}
