/**
 * Paging helpers for a fake CRM: a keyset page over a sorted list, and opaque cursors that carry
 * the keyset (base64url JSON), the way most CRMs page.
 *
 * @module
 */
import type { FakeValue } from './store.js';

/** A sort key: the values a keyset compares, in order (close it with the id so it is total). */
export type FakeSortKey = readonly FakeValue[];

/** Compares two values: null first, then numbers or strings in their natural order. */
export function compareFakeValues(a: FakeValue | undefined, b: FakeValue | undefined): number {
  const left = a ?? null;
  const right = b ?? null;
  if (left === right) return 0;
  if (left === null) return -1;
  if (right === null) return 1;
  return left < right ? -1 : 1;
}

/** Compares two sort keys position by position; `descending[i]` reverses position i. */
export function compareSortKeys(a: FakeSortKey, b: FakeSortKey, descending: readonly boolean[] = []): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const order = compareFakeValues(a[i], b[i]);
    if (order !== 0) return descending[i] ? -order : order;
  }
  return 0;
}

/** One page of a keyset read. */
export interface FakePage<T> {
  /** The items of this page. */
  readonly items: T[];
  /** The sort key of the last item when more items follow; absent on the last page. */
  readonly nextKey?: FakeSortKey;
}

/**
 * Sorts `items` by `keyOf` (ascending, except positions marked in `descending`), keeps those
 * strictly after `after`, and returns the first `limit`. Items written or deleted between pages
 * never shift the next page (unlike an offset).
 */
export function keysetPage<T>(items: readonly T[], keyOf: (item: T) => FakeSortKey, limit: number, after?: FakeSortKey, descending: readonly boolean[] = []): FakePage<T> {
  const sorted = items.map((item) => ({ item, key: keyOf(item) })).sort((a, b) => compareSortKeys(a.key, b.key, descending));
  const rest = after === undefined ? sorted : sorted.filter((entry) => compareSortKeys(entry.key, after, descending) > 0);
  const page = rest.slice(0, Math.max(1, limit));
  const last = page.at(-1);
  return { items: page.map((entry) => entry.item), ...(rest.length > page.length && last ? { nextKey: last.key } : {}) };
}

/** Encodes any JSON value as an opaque cursor (base64url), as a CRM's `nextCursor`. */
export function encodeFakeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeFakeCursor}; `undefined` when it is not one (answer 400). */
export function decodeFakeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A keyset page behind an opaque cursor: decodes `cursor` (a sort key), pages, and encodes the
 * next one. `undefined` when the cursor is not one this helper made.
 */
export function cursorPage<T>(items: readonly T[], keyOf: (item: T) => FakeSortKey, limit: number, cursor?: string): { items: T[]; nextCursor?: string } | undefined {
  let after: FakeSortKey | undefined;
  if (cursor !== undefined) {
    const decoded = decodeFakeCursor(cursor);
    if (!Array.isArray(decoded)) return undefined;
    after = decoded as FakeSortKey;
  }
  const page = keysetPage(items, keyOf, limit, after);
  return { items: page.items, ...(page.nextKey ? { nextCursor: encodeFakeCursor(page.nextKey) } : {}) };
}
