/**
 * What differs between the dialects the adapter supports: how a value is stored and read back,
 * and which database errors refuse one record rather than the whole write.
 *
 * @module
 */
import { PostgresAdapter, SqliteAdapter, type Kysely } from 'kysely';

/** The SQL dialects the adapter supports. */
export type KyselyDialectName = 'sqlite' | 'postgres';

/** The dialect of a Kysely instance or transaction, from its adapter. */
export function detectDialect(db: Kysely<any>, given: KyselyDialectName | undefined): KyselyDialectName {
  if (given !== undefined) return given;
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  const name = adapter.constructor.name;
  if (/sqlite/i.test(name)) return 'sqlite';
  if (/postgres/i.test(name)) return 'postgres';
  throw new Error(
    `[crm-sync] [store-kysely] the Kysely instance uses ${name}, which the adapter does not support: use the SQLite or PostgreSQL dialect, or pass dialect: 'sqlite' | 'postgres' when yours behaves like one of them.`,
  );
}

/** A database error that refuses one record: the value or a constraint, not the connection. */
export interface RefusedByDatabase {
  readonly column?: string;
  readonly message: string;
  readonly duplicate: boolean;
}

/**
 * When `error` is a data or constraint error of one statement (PostgreSQL SQLSTATE classes 22 and
 * 23; SQLite `SQLITE_CONSTRAINT*` and `SQLITE_MISMATCH`), what it says; otherwise `undefined`
 * (the error is not about the record: the write fails as a whole).
 */
export function refusedByDatabase(error: unknown): RefusedByDatabase | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { code, message, column } = error as { code?: unknown; message?: unknown; column?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (typeof code !== 'string') return undefined;
  if (/^2[23][0-9A-Z]{3}$/.test(code)) {
    return { ...(typeof column === 'string' && column !== '' ? { column } : {}), message: text, duplicate: code === '23505' };
  }
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') {
    const named = /failed: [^.\s]+\.([^\s,]+)/.exec(text);
    return { ...(named?.[1] === undefined ? {} : { column: named[1] }), message: text, duplicate: code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' };
  }
  return undefined;
}
