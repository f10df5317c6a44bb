/**
 * Opaque cursors: base64url JSON, so a caller can store them but has no reason to read them.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import { crmError, type CrmError } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './errors.js';

/** Where a paged read stands: the id chunk (record identification) and Dataverse's nextLink. */
export interface PageCursor {
  readonly chunk: number;
  readonly nextLink?: string;
  /** Deleted records from audits: the first instant the history covers, found on the first page. */
  readonly earliest?: string;
}

/** Encodes a cursor. */
export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, ...cursor }), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}. */
export function decodeCursor(text: string): Result<PageCursor, CrmError> {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { v?: unknown; chunk?: unknown; nextLink?: unknown; earliest?: unknown };
    if (value.v === 1 && typeof value.chunk === 'number' && (value.nextLink === undefined || typeof value.nextLink === 'string')) {
      return ok({
        chunk: value.chunk,
        ...(typeof value.nextLink === 'string' ? { nextLink: value.nextLink } : {}),
        ...(typeof value.earliest === 'string' ? { earliest: value.earliest } : {}),
      });
    }
  } catch {
    // fall through to the error below
  }
  return err(crmError('invalid-request', CONNECTOR_ID, 'cursor: not a cursor this connector produced; pass nextCursor from the previous page unchanged'));
}
