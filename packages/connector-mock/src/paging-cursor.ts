/**
 * Opaque paging cursors: base64url JSON. A keyset cursor carries the last `(time, id)` served; a
 * snapshot cursor names a server-side list of matching ids and an offset into it.
 *
 * @module
 */

/** The decoded content of a cursor. */
type PagingCursor =
  | { readonly mode: 'keyset'; readonly object: string; readonly at: string; readonly id: string }
  | { readonly mode: 'snapshot'; readonly object: string; readonly snapshot: number; readonly offset: number };

/** Encodes a cursor for `nextCursor`. */
export function encodeCursor(cursor: PagingCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/** Decodes a cursor a caller passed back; `undefined` when it is not one of ours or names another object. */
export function decodeCursor(text: string, object: string): PagingCursor | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Record<string, unknown>>;
    if (value.object !== object) return undefined;
    if (value.mode === 'keyset' && typeof value.at === 'string' && typeof value.id === 'string') {
      return { mode: 'keyset', object, at: value.at, id: value.id };
    }
    if (value.mode === 'snapshot' && Number.isInteger(value.snapshot) && Number.isInteger(value.offset) && (value.offset as number) >= 0) {
      return { mode: 'snapshot', object, snapshot: value.snapshot as number, offset: value.offset as number };
    }
    return undefined;
  } catch {
    return undefined;
  }
}
