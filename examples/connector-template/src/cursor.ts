/**
 * The query cursor: the sort values of the last record of a page, for Acme's `searchAfter`
 * (keyset paging). Unlike an offset, a keyset never skips or repeats a record when others are
 * inserted or deleted between pages.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { crmError, type CrmError, type FieldValue } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './connector-id.js';

/** Encodes the sort values of the last record read as an opaque cursor. */
export function encodeCursor(after: readonly FieldValue[]): string {
  return Buffer.from(JSON.stringify({ v: 1, after }), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; anything else is an `invalid-request`. */
export function decodeCursor(cursor: string): Result<readonly FieldValue[], CrmError> {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; after?: unknown };
    if (parsed.v === 1 && Array.isArray(parsed.after)) return ok(parsed.after as FieldValue[]);
  } catch {
    // Falls through to the error below: the cursor was not made by this connector.
  }
  return err(crmError('invalid-request', CONNECTOR_ID, 'the query cursor was not made by the Acme connector: pass back the nextCursor of the previous page unchanged'));
}
