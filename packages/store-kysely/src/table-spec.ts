/**
 * How an application describes one of its typed tables to the adapter, and how values cross
 * between crm-sync's field values and the table's typed columns.
 *
 * @module
 */
import type { FieldValue, LocalRecord } from '@crm-sync/sdk';
import type { KyselyDialectName } from './dialect.js';

/**
 * The type of a column, as the adapter checks and stores values:
 * - `text`: strings (`maxLength` checked);
 * - `integer`: whole numbers (a string of digits is accepted);
 * - `number`: finite numbers (a numeric string is accepted);
 * - `boolean`: `true`/`false` (SQLite stores 1/0);
 * - `timestamp`: an ISO 8601 instant (SQLite: ISO text; PostgreSQL: `timestamptz` or `text`);
 * - `date`: `YYYY-MM-DD`;
 * - `json`: any field value, stored as JSON (SQLite: text; PostgreSQL: `jsonb` or `text`).
 */
export type KyselyColumnType = 'text' | 'integer' | 'number' | 'boolean' | 'timestamp' | 'date' | 'json';

/** One field of the table: the column it lives in and what the column accepts. */
export interface KyselyFieldColumn {
  /** The SQL column. */
  readonly column: string;
  readonly type: KyselyColumnType;
  /** False when the column is NOT NULL: a `null` is then refused before it reaches the database. Default true. */
  readonly nullable?: boolean;
  /** For `text`: the longest value the column takes (e.g. `varchar(80)`), checked before writing. */
  readonly maxLength?: number;
}

/** The table's key column. */
export interface KyselyKeyColumn {
  readonly column: string;
  /** `integer` keys are ordered numerically and given to crm-sync as decimal strings (`"42"`). */
  readonly type: 'text' | 'integer';
  /**
   * True when the database assigns the key of a new row (`INTEGER PRIMARY KEY`, `serial`,
   * `identity`, a default): an imported record then inserts without it. Default: true for
   * `integer`, false for `text` (a new row's key is `newKey(record)`, else its CRM id).
   */
  readonly generated?: boolean;
}

/** An application table as the adapter sees it. */
export interface KyselyTableSpec {
  /** The name jobs use for it (`table` of an import or export job). */
  readonly name: string;
  /** The SQL table, when it differs from `name`. */
  readonly table?: string;
  /** The PostgreSQL schema of the table (default: the search path). */
  readonly schema?: string;
  readonly key: KyselyKeyColumn;
  /** The column holding the CRM id (text; unique in practice: one CRM record is one row). */
  readonly crmId: string;
  /**
   * The column with the time the application last changed the row (`timestamp` or ISO text):
   * an export's `changedSince` filters on it and it is the record's `changedAt`. Imports never set it.
   */
  readonly changedAt?: string;
  /** The column set to the time of the last import write or CRM-id link of the row (ISO). */
  readonly syncedAt?: string;
  /** The column an import stores the CRM's change time of the record in (ISO). */
  readonly crmChangedAt?: string;
  /**
   * The column a CRM deletion sets to the deletion time (soft delete). Rows where it is set are
   * not exported, and an import of the record clears it. Without it (and without
   * `removeDeletedRows`), applying deletions fails with a message saying so.
   */
  readonly deletedAt?: string;
  /** True to delete the row itself when the record is deleted in the CRM (hard delete: explicit intent). */
  readonly removeDeletedRows?: boolean;
  /** Fields (the local names of jobs' field mappings) and their columns: a type, or the full description. */
  readonly fields: Readonly<Record<string, KyselyFieldColumn | KyselyColumnType>>;
  /** The key of a new row for an imported record, when the key is neither generated nor the CRM id. */
  readonly newKey?: (record: LocalRecord) => string | number;
}

/** A field with its column, resolved. */
export interface ResolvedField {
  readonly field: string;
  readonly column: string;
  readonly type: KyselyColumnType;
  readonly nullable: boolean;
  readonly maxLength?: number;
}

/** A table spec with its defaults applied and checked. */
export interface ResolvedTable {
  readonly spec: KyselyTableSpec;
  readonly sqlName: string;
  readonly keyGenerated: boolean;
  readonly fields: ReadonlyMap<string, ResolvedField>;
  /** Field by column name (for database errors that name a column). */
  readonly byColumn: ReadonlyMap<string, ResolvedField>;
}

const TYPES: ReadonlySet<string> = new Set(['text', 'integer', 'number', 'boolean', 'timestamp', 'date', 'json']);

/** Applies the defaults and refuses a spec that cannot work, saying what to change. */
export function resolveTable(spec: KyselyTableSpec): ResolvedTable {
  const where = `[crm-sync] [store-kysely] table "${spec.name}"`;
  if (typeof spec.name !== 'string' || spec.name === '') throw new Error(`[crm-sync] [store-kysely] a table spec needs a name (the table name jobs use).`);
  if (spec.key?.type !== 'text' && spec.key?.type !== 'integer') throw new Error(`${where}: key.type must be 'text' or 'integer'.`);
  const keyGenerated = spec.key.generated ?? spec.key.type === 'integer';
  if (!keyGenerated && spec.key.type === 'integer' && spec.newKey === undefined) {
    throw new Error(`${where}: an integer key the database does not generate needs newKey(record) to key new rows; or set key.generated: true.`);
  }
  const fields = new Map<string, ResolvedField>();
  const byColumn = new Map<string, ResolvedField>();
  for (const [field, given] of Object.entries(spec.fields)) {
    const column: KyselyFieldColumn = typeof given === 'string' ? { column: field, type: given } : given;
    if (!TYPES.has(column.type)) throw new Error(`${where}: field "${field}" has type ${JSON.stringify(column.type)}; use one of ${[...TYPES].join(', ')}.`);
    const reserved = [spec.key.column, spec.crmId, spec.changedAt, spec.syncedAt, spec.crmChangedAt, spec.deletedAt];
    if (reserved.includes(column.column)) throw new Error(`${where}: field "${field}" maps to column "${column.column}", which the spec already uses as key, CRM id or time column.`);
    const resolved: ResolvedField = { field, column: column.column, type: column.type, nullable: column.nullable ?? true, ...(column.maxLength === undefined ? {} : { maxLength: column.maxLength }) };
    fields.set(field, resolved);
    byColumn.set(column.column, resolved);
  }
  return { spec, sqlName: spec.table ?? spec.name, keyGenerated, fields, byColumn };
}

/** A value the column refuses, with why. */
export interface ValueProblem {
  readonly field: string;
  readonly message: string;
}

function describe(value: FieldValue): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The value to store in the column for a field value, or the problem (type mismatch, NOT NULL,
 * too long). Checked here because SQLite stores almost anything in any column.
 */
export function toColumnValue(field: ResolvedField, value: FieldValue, dialect: KyselyDialectName): { ok: true; value: unknown } | { ok: false; problem: ValueProblem } {
  const refuse = (why: string) => ({ ok: false as const, problem: { field: field.field, message: `column "${field.column}" (${field.type}) refuses ${describe(value)}: ${why}` } });
  if (value === null) return field.nullable ? { ok: true, value: null } : refuse('the column is NOT NULL');
  switch (field.type) {
    case 'text':
      if (typeof value !== 'string') return refuse('not text');
      if (field.maxLength !== undefined && [...value].length > field.maxLength) return refuse(`longer than ${field.maxLength} characters`);
      return { ok: true, value };
    case 'integer': {
      const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
      if (typeof number !== 'number' || !Number.isSafeInteger(number)) return refuse('not a whole number');
      return { ok: true, value: number };
    }
    case 'number': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isFinite(number)) return refuse('not a number');
      return { ok: true, value: number };
    }
    case 'boolean':
      if (typeof value !== 'boolean') return refuse('not true or false');
      return { ok: true, value: dialect === 'sqlite' ? (value ? 1 : 0) : value };
    case 'timestamp':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) return refuse('not an ISO 8601 instant');
      return { ok: true, value: new Date(value).toISOString() };
    case 'date':
      if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) return refuse('not a YYYY-MM-DD date');
      return { ok: true, value };
    case 'json':
      return { ok: true, value: JSON.stringify(value) };
  }
}

/** A column's stored value as a field value. */
export function fromColumnValue(field: ResolvedField, stored: unknown): FieldValue {
  if (stored === null || stored === undefined) return null;
  switch (field.type) {
    case 'boolean':
      return stored === true || stored === 1 || stored === '1' || stored === 't' || stored === 'true';
    case 'integer':
    case 'number':
      return typeof stored === 'number' ? stored : Number(stored);
    case 'timestamp':
      return stored instanceof Date ? stored.toISOString() : new Date(String(stored)).toISOString();
    case 'date':
      return stored instanceof Date ? stored.toISOString().slice(0, 10) : String(stored);
    case 'json': {
      const parsed: unknown = typeof stored === 'string' ? JSON.parse(stored) : stored;
      return parsed === null || typeof parsed === 'string' || typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : JSON.stringify(parsed);
    }
    case 'text':
      return typeof stored === 'string' ? stored : String(stored);
  }
}

/** An instant column's stored value as an ISO instant, or `undefined`. */
export function toInstant(stored: unknown): string | undefined {
  if (stored === null || stored === undefined) return undefined;
  const date = stored instanceof Date ? stored : new Date(String(stored));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
