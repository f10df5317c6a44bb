import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../src/index.js';

/** A clock that starts at `start` and moves one second per call, so stamps are distinct and predictable. */
export function steppingClock(start = '2026-01-01T00:00:00.000Z'): () => Date {
  let ms = Date.parse(start);
  return () => {
    const now = new Date(ms);
    ms += 1000;
    return now;
  };
}

/** A fresh temporary directory and a way to remove it. */
export function makeTempDir(): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'crm-sync-store-sqlite-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens a store, failing the test with the store's own message when it cannot. */
export function openOrThrow(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const result = openSqliteStore(path, options);
  if (result.isErr()) throw result.error;
  return result.value;
}

/** Collects every batch of an async iterable. */
export async function collectBatches<T>(iterable: AsyncIterable<readonly T[]>): Promise<T[][]> {
  const batches: T[][] = [];
  for await (const batch of iterable) batches.push([...batch]);
  return batches;
}
