/**
 * The in-memory CRM engine: objects with schemas, CRM-style ids, a controllable server clock,
 * change stamps on every write, validation and uniqueness rejects, and a recycle bin with
 * retention. `MockConnector` and the Salesforce and Dataverse emulators all sit on top of it.
 *
 * @module
 */
import {
  toInstant,
  type DeletedRecord,
  type FieldValue,
  type FieldValues,
  type Instant,
  type ObjectDescription,
  type ObjectSummary,
  type Reject,
  type WriteOutcome,
} from '@crm-sync/sdk';
import { ManualClock, type CrmClock } from './clock.js';
import { checkFieldValue, rejectOf } from './field-checks.js';
import { ObjectStore, type MutableRecord, type StoredRecord } from './object-store.js';
import type { MockObjectSchema } from './schema.js';
import { standardMockSchemas } from './standard-schemas.js';

export type { StoredRecord } from './object-store.js';

/** How to build an {@link InMemoryCrm}. */
export interface InMemoryCrmOptions {
  /** The objects; default {@link standardMockSchemas}. */
  schemas?: MockObjectSchema[];
  /** The server clock; default a {@link ManualClock} at its default start. */
  clock?: CrmClock;
  /** How long deleted records stay in the recycle bin; default 15 (Salesforce's retention). */
  deletedRetentionDays?: number;
  /** Seeds the id generators, so ids repeat from run to run; default 1. */
  seed?: number;
}

/** Per-write overrides, for tests that need exact timestamps or ids. */
export interface WriteOptions {
  /** The change time to stamp instead of the clock's time (a canonical instant). */
  at?: Instant;
  /** Insert only: the id to give the new record instead of a generated one. */
  id?: string;
}

/** API-call counters. */
export interface CrmCallStats {
  /** All calls counted. */
  calls: number;
  /** Calls by operation name. */
  byOperation: Record<string, number>;
}

const DAY_MS = 86_400_000;

/** The in-memory CRM. Not thread-safe by design: JavaScript runs one call at a time. */
export class InMemoryCrm {
  /** The server clock every stamp comes from. */
  readonly clock: CrmClock;
  /** Days a deleted record stays in the recycle bin (and is reported by `deletedBetween`). */
  readonly deletedRetentionDays: number;
  /** API calls counted with {@link InMemoryCrm.countCall}. */
  readonly stats: CrmCallStats = { calls: 0, byOperation: {} };
  readonly #seed: number;
  readonly #stores = new Map<string, ObjectStore>();
  #lastNowMs = Number.NaN;
  #lastNow: Instant = '';
  #lastCutoffMs = Number.NaN;
  #lastCutoff: Instant = '';
  /** Per object, the instant before which the delete log was purged early (see {@link InMemoryCrm.purgeDeleted}). */
  readonly #purgedUntil = new Map<string, Instant>();

  constructor(options: InMemoryCrmOptions = {}) {
    this.clock = options.clock ?? new ManualClock();
    this.deletedRetentionDays = options.deletedRetentionDays ?? 15;
    this.#seed = options.seed ?? 1;
    for (const schema of options.schemas ?? standardMockSchemas()) this.defineObject(schema);
  }

  /**
   * Adds an object, or replaces the schema of an existing one (its records stay). Throws on a
   * schema whose primary key, change field or created field is not among its fields.
   */
  defineObject(schema: MockObjectSchema): void {
    const names = new Set(schema.fields.map((field) => field.name));
    const needed = [schema.primaryKey, schema.changeField, ...(schema.extraChangeFields ?? [])];
    if (schema.createdField !== undefined) needed.push(schema.createdField);
    const missing = needed.filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new TypeError(
        `[crm-sync] [connector-mock] object '${schema.name}': fields ${missing.join(', ')} are named as primary key or system fields but are not in 'fields'; add them`,
      );
    }
    const existing = this.#stores.get(schema.name);
    if (existing) existing.setSchema(schema);
    else this.#stores.set(schema.name, new ObjectStore(schema, this.#seed));
  }

  /** The schema of `object`, or `undefined` when there is no such object. */
  schema(object: string): MockObjectSchema | undefined {
    return this.#stores.get(object)?.schema;
  }

  /** All objects, in definition order. */
  listObjects(): ObjectSummary[] {
    return [...this.#stores.values()].map(({ schema }) => summaryOf(schema));
  }

  /** The description of `object`, or `undefined` when there is no such object. */
  describe(object: string): ObjectDescription | undefined {
    const schema = this.schema(object);
    if (!schema) return undefined;
    return {
      ...summaryOf(schema),
      primaryKey: schema.primaryKey,
      fields: schema.fields,
      ...(schema.vendor === undefined ? {} : { vendor: schema.vendor }),
    };
  }

  /** Creates a record. Rejects: unknown or read-only fields, bad values, missing required fields, duplicates, rules. */
  insert(object: string, values: FieldValues, options: WriteOptions = {}): WriteOutcome {
    const store = this.#live(object);
    if (!store) return unknownObject(object);
    const { schema } = store;
    const invalid = this.#checkValues(store, values, 'insert');
    if (invalid) return { ok: false, reject: invalid };
    const missing = missingRequired(store.requiredOnInsert, values);
    if (missing !== undefined) {
      return { ok: false, reject: rejectOf('required-field-missing', 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing) };
    }
    let id = options.id;
    if (id !== undefined && store.byId.has(id)) {
      return { ok: false, reject: rejectOf('duplicate', 'DUPLICATE_VALUE', `duplicate value found: ${schema.primaryKey} duplicates value on record with id: ${id}`, [schema.primaryKey]) };
    }
    const at = options.at ?? this.#now();
    // Object.assign, not spread: V8 makes objects cloned by spread slow to extend (measured ~7x
    // slower for a million inserts that then get their system fields).
    const stored: FieldValues = Object.assign({}, values);
    for (const name in store.insertDefaults) if (stored[name] === undefined) stored[name] = store.insertDefaults[name] as FieldValue;
    stampChangeFields(schema, stored, at);
    if (schema.createdField !== undefined) stored[schema.createdField] = at;
    const conflict = duplicateOf(store, stored, undefined) ?? ruleViolation(schema, stored);
    if (conflict) return { ok: false, reject: conflict };
    // The id is minted last so that a rejected insert does not use up a sequence number.
    while (id === undefined || store.byId.has(id)) id = store.nextId();
    stored[schema.primaryKey] = id;
    store.add(id, stored, at);
    return { ok: true, id, action: 'created' };
  }

  /**
   * Updates a record; never creates. A missing record is a `not-found` reject (`NOT_FOUND`), a
   * recycle-binned one `deleted-in-crm` (`ENTITY_IS_DELETED`). A write that changes nothing still
   * stamps the change time, as CRMs do.
   */
  update(object: string, id: string, values: FieldValues, options: WriteOptions = {}): WriteOutcome {
    const store = this.#live(object);
    if (!store) return unknownObject(object);
    const record = store.byId.get(id);
    if (!record) return { ok: false, id, reject: notFound(object, id) };
    if (record.deletedAt !== undefined) {
      return { ok: false, id, reject: rejectOf('deleted-in-crm', 'ENTITY_IS_DELETED', `entity is deleted: ${object} ${id} is in the recycle bin`) };
    }
    const invalid = this.#checkValues(store, values, 'update', id);
    if (invalid) return { ok: false, id, reject: invalid };
    const at = options.at ?? this.#now();
    const merged: FieldValues = Object.assign({}, record.values, values);
    merged[store.schema.primaryKey] = id;
    stampChangeFields(store.schema, merged, at);
    const conflict = duplicateOf(store, merged, record) ?? ruleViolation(store.schema, merged);
    if (conflict) return { ok: false, id, reject: conflict };
    store.unindexUnique(record);
    record.values = merged;
    record.changedAt = at;
    store.indexUnique(record);
    store.touch();
    return { ok: true, id, action: 'updated' };
  }

  /** Updates the active record whose `externalIdField` equals `values[externalIdField]`, or creates one. */
  upsert(object: string, externalIdField: string, values: FieldValues, options: WriteOptions = {}): WriteOutcome {
    const store = this.#live(object);
    if (!store) return unknownObject(object);
    const field = store.fields.get(externalIdField);
    if (!field || !(field.externalId || field.unique === true)) {
      return {
        ok: false,
        reject: rejectOf('invalid-field', 'INVALID_FIELD', `${externalIdField} is not an external id field of ${object}; upsert needs a unique external-id field`, [externalIdField]),
      };
    }
    const key = values[externalIdField];
    if (key === undefined || key === null || key === '') {
      return { ok: false, reject: rejectOf('required-field-missing', 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${externalIdField}] (the upsert key)`, [externalIdField]) };
    }
    const existing = store.findUnique(externalIdField, key);
    return existing ? this.update(object, existing.id, values, { ...(options.at === undefined ? {} : { at: options.at }) }) : this.insert(object, values, options);
  }

  /** Moves a record to the recycle bin. Already deleted: ok `deleted`; never existed (or purged): `not-found` reject. */
  delete(object: string, id: string, options: WriteOptions = {}): WriteOutcome {
    const store = this.#live(object);
    if (!store) return unknownObject(object);
    const record = store.byId.get(id);
    if (!record) return { ok: false, id, reject: notFound(object, id) };
    if (record.deletedAt === undefined) store.moveToBin(record, options.at ?? this.#now());
    return { ok: true, id, action: 'deleted' };
  }

  /** Restores a recycle-binned record and stamps its change time, so incremental reads see it again. */
  undelete(object: string, id: string): WriteOutcome {
    const store = this.#live(object);
    if (!store) return unknownObject(object);
    const record = store.byId.get(id);
    if (!record) return { ok: false, id, reject: notFound(object, id) };
    if (record.deletedAt === undefined) {
      return { ok: false, id, reject: rejectOf('conflict', 'UNDELETE_FAILED', `${object} ${id} is not in the recycle bin`) };
    }
    const duplicate = duplicateOf(store, record.values, record);
    if (duplicate) return { ok: false, id, reject: duplicate };
    store.restore(record);
    this.#stamp(store, record, this.#now());
    return { ok: true, id, action: 'updated' };
  }

  /** The active record with this id. */
  get(object: string, id: string): StoredRecord | undefined {
    const record = this.#live(object)?.byId.get(id);
    return record?.deletedAt === undefined ? record : undefined;
  }

  /** Active records with these ids, in insertion order; unknown and deleted ids are left out. */
  getMany(object: string, ids: Iterable<string>): StoredRecord[] {
    const store = this.#live(object);
    if (!store) return [];
    const found = new Set<MutableRecord>();
    for (const id of ids) {
      const record = store.byId.get(id);
      if (record && record.deletedAt === undefined) found.add(record);
    }
    return [...found].sort((a, b) => a.sequence - b.sequence);
  }

  /** Active records whose `field` equals `value` (exact match), in insertion order. */
  findBy(object: string, field: string, value: FieldValue): StoredRecord[] {
    const store = this.#live(object);
    if (!store) return [];
    if (field === store.schema.primaryKey) return typeof value === 'string' ? this.getMany(object, [value]) : [];
    if (store.unique.has(field)) {
      const record = store.findUnique(field, value);
      return record ? [record] : [];
    }
    return store.active().filter((record) => (record.values[field] ?? null) === value);
  }

  /**
   * Records in insertion order: active ones, or with `includeDeleted` the recycle bin's too. The
   * array is shared (not copied) until the next delete, undelete or purge: do not mutate it.
   */
  records(object: string, options: { includeDeleted?: boolean } = {}): readonly StoredRecord[] {
    const store = this.#live(object);
    if (!store) return [];
    return options.includeDeleted ? store.all : store.active();
  }

  /**
   * Active records with a non-null text value in `field` (a change field, say), ordered by
   * `(field, id)` ascending: the order of windowed reads. Sorted once and cached until the next write.
   */
  recordsOrderedBy(object: string, field: string): readonly StoredRecord[] {
    return this.#live(object)?.orderedBy(field) ?? [];
  }

  /** Number of active records. */
  count(object: string): number {
    return this.#live(object)?.activeCount() ?? 0;
  }

  /** Recycle-binned records deleted in `[start, end]` (both inclusive), ordered by deletion time then id. */
  deletedBetween(object: string, start: Instant, end: Instant): DeletedRecord[] {
    const store = this.#live(object);
    if (!store) return [];
    const found: DeletedRecord[] = [];
    for (const record of store.recycleBin) {
      const deletedAt = record.deletedAt as Instant;
      if (deletedAt >= start && deletedAt <= end) found.push({ id: record.id, deletedAt });
    }
    return found.sort((a, b) => (a.deletedAt !== b.deletedAt ? (a.deletedAt < b.deletedAt ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The oldest deletion time still reported: now minus the retention, or later when the delete log
   * of `object` was purged early ({@link InMemoryCrm.purgeDeleted}).
   */
  earliestDeletedAvailable(object?: string): Instant {
    const ms = this.clock.now().getTime() - this.deletedRetentionDays * DAY_MS;
    if (ms !== this.#lastCutoffMs) {
      this.#lastCutoffMs = ms;
      this.#lastCutoff = toInstant(ms);
    }
    const purged = object === undefined ? undefined : this.#purgedUntil.get(object);
    return purged !== undefined && purged > this.#lastCutoff ? purged : this.#lastCutoff;
  }

  /**
   * Purges the delete log of `object` before `before`, earlier than the retention would: what a
   * CRM does when its delete log grows too large (Salesforce purges the recycle bin, Dataverse
   * deletes old audit logs). Recycle-binned records deleted before `before` are dropped for good,
   * and {@link InMemoryCrm.earliestDeletedAvailable} reports `before` from then on.
   */
  purgeDeleted(object: string, before: Instant): void {
    const store = this.#stores.get(object);
    if (!store) throw new RangeError(`[crm-sync] [connector-mock] purgeDeleted: no object '${object}'`);
    const previous = this.#purgedUntil.get(object);
    if (previous === undefined || before > previous) this.#purgedUntil.set(object, before);
    store.purgeDeletedBefore(before);
  }

  /**
   * Sets a record's change time (and change fields) to `at`, e.g. backwards, to model a long
   * transaction that commits with an earlier timestamp. Throws when there is no such record.
   */
  stampChange(object: string, id: string, at: Instant): void {
    const store = this.#stores.get(object);
    const record = store?.byId.get(id);
    if (!store || !record) throw new RangeError(`[crm-sync] [connector-mock] stampChange: no record ${id} in object '${object}'`);
    this.#stamp(store, record, at);
  }

  /**
   * Captures every object's records; calling the returned function puts them all back as they
   * were. Emulators use it for all-or-none requests: write, and roll back when one record fails.
   * Ids minted in between are not reused.
   */
  snapshot(): () => void {
    const restores = [...this.#stores.values()].map((store) => store.snapshot());
    return () => {
      for (const restore of restores) restore();
    };
  }

  /** Counts one API call of `operation`. */
  countCall(operation: string): void {
    this.stats.calls++;
    this.stats.byOperation[operation] = (this.stats.byOperation[operation] ?? 0) + 1;
  }

  /** Drops all records, restarts id sequences and zeroes the call counters; schemas stay. */
  reset(): void {
    for (const store of this.#stores.values()) store.clear();
    this.#purgedUntil.clear();
    this.stats.calls = 0;
    this.stats.byOperation = {};
  }

  #now(): Instant {
    // Bulk writes share a clock reading; formatting it once per distinct millisecond saves a toISOString per write.
    const ms = this.clock.now().getTime();
    if (ms !== this.#lastNowMs) {
      this.#lastNowMs = ms;
      this.#lastNow = toInstant(ms);
    }
    return this.#lastNow;
  }

  /** The store of `object` with expired recycle-bin entries purged (retention is applied lazily). */
  #live(object: string): ObjectStore | undefined {
    const store = this.#stores.get(object);
    if (store && store.recycleBin.size > 0) store.purgeDeletedBefore(this.earliestDeletedAvailable(object));
    return store;
  }

  #stamp(store: ObjectStore, record: MutableRecord, at: Instant): void {
    const values = Object.assign({}, record.values);
    stampChangeFields(store.schema, values, at);
    record.values = values;
    record.changedAt = at;
    store.touch();
  }

  /** Field names, writability, nullability and types of the values a caller sent. */
  #checkValues(store: ObjectStore, values: FieldValues, mode: 'insert' | 'update', id?: string): Reject | undefined {
    const { schema } = store;
    for (const name in values) {
      const value = values[name] as FieldValue;
      const field = store.fields.get(name);
      if (!field) return rejectOf('invalid-field', 'INVALID_FIELD', `No such column '${name}' on entity '${schema.name}'`, [name]);
      if (name === schema.primaryKey && mode === 'update' && value === id) continue;
      if (mode === 'insert' ? !field.createable : !field.updateable) {
        return rejectOf(
          'invalid-field',
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to ${mode === 'insert' ? 'create' : 'update'} field ${name} of ${schema.name}: it is not ${mode === 'insert' ? 'createable' : 'updateable'}`,
          [name],
        );
      }
      if (value === null) {
        if (!field.nullable) return rejectOf('required-field-missing', 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${name}]`, [name]);
        continue;
      }
      const bad = checkFieldValue(field, value);
      if (bad) return bad;
    }
    return undefined;
  }
}

function summaryOf(schema: MockObjectSchema): ObjectSummary {
  return {
    name: schema.name,
    ...(schema.label === undefined ? {} : { label: schema.label }),
    queryable: true,
    createable: true,
    updateable: true,
    deletable: true,
    custom: schema.custom ?? false,
  };
}

function stampChangeFields(schema: MockObjectSchema, values: FieldValues, at: Instant): void {
  values[schema.changeField] = at;
  if (schema.extraChangeFields) for (const name of schema.extraChangeFields) values[name] = at;
}

/** The required fields `values` leaves out or nulls; `undefined` when none (no allocation on the happy path). */
function missingRequired(required: readonly string[], values: FieldValues): string[] | undefined {
  let missing: string[] | undefined;
  for (const name of required) {
    const value = values[name];
    if (value === undefined || value === null) (missing ??= []).push(name);
  }
  return missing;
}

function unknownObject(object: string): WriteOutcome {
  return { ok: false, reject: rejectOf('not-found', 'INVALID_TYPE', `sObject type '${object}' is not supported; call listObjects for the known objects`) };
}

function notFound(object: string, id: string): Reject {
  return rejectOf('not-found', 'NOT_FOUND', `${object} ${id} does not exist`);
}

/** The uniqueness reject when `values` repeats another active record's unique value. */
function duplicateOf(store: ObjectStore, values: FieldValues, self: MutableRecord | undefined): Reject | undefined {
  for (const name of store.uniqueFields) {
    const value = values[name];
    if (value === undefined || value === null) continue;
    const holder = store.findUnique(name, value);
    if (holder && holder !== self) {
      return rejectOf('duplicate', 'DUPLICATE_VALUE', `duplicate value found: ${name} duplicates value on record with id: ${holder.id}`, [name]);
    }
  }
  return undefined;
}

function ruleViolation(schema: MockObjectSchema, values: FieldValues): Reject | undefined {
  if (!schema.rules) return undefined;
  for (const rule of schema.rules) {
    if (!rule.valid(values)) return rejectOf('validation', rule.symbol ?? 'FIELD_CUSTOM_VALIDATION_EXCEPTION', rule.message, rule.fields);
  }
  return undefined;
}
