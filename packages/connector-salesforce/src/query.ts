/**
 * `query`: SOQL from {@link compileSoql}, paged by the connector itself through `nextRecordsUrl`
 * (jsforce's autoFetch stops silently at 10,000 records and keeps every record in memory).
 *
 * The cursor is the Salesforce page URL plus how many of its records were already returned, so a
 * caller's page size below Salesforce's minimum batch (200) is honoured without holding records
 * between calls. Only the current Salesforce page is ever in memory.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { crmError, type CrmError, type CrmRecord, type QueryRequest, type RecordPage } from '@crm-sync/sdk';
import type { SalesforceApi } from './api.js';
import type { DescribeCache } from './describe.js';
import { CONNECTOR_ID } from './errors.js';
import { decodeSalesforceRecord, decodeSalesforceValue } from './mapping.js';
import { compileSoql } from './soql.js';

/** Salesforce answers 414/431 above about 16 KB of URI and headers; stay well below. */
export const MAX_QUERY_URL_LENGTH = 15_000;
/** `Sforce-Query-Options: batchSize` accepts 200–2,000. */
const MIN_BATCH = 200;
const MAX_BATCH = 2000;

interface QueryCursor {
  /** Path of the Salesforce page being consumed. */
  readonly u: string;
  /** Records of that page already returned. */
  readonly s: number;
}

interface SalesforceQueryAnswer {
  readonly totalSize?: number;
  readonly done?: boolean;
  readonly nextRecordsUrl?: string;
  readonly records?: readonly Record<string, unknown>[];
}

function encodeCursor(cursor: QueryCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string, basePath: string): QueryCursor | undefined {
  try {
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<QueryCursor>;
    // Only paths under this API's query resources: a forged cursor cannot send the token elsewhere.
    if (typeof cursor.u !== 'string' || !cursor.u.startsWith(`${basePath}/query`) || /[\s#]/.test(cursor.u)) return undefined;
    if (typeof cursor.s !== 'number' || !Number.isInteger(cursor.s) || cursor.s < 0) return undefined;
    return { u: cursor.u, s: cursor.s };
  } catch {
    return undefined;
  }
}

/** The path (from `/services/...`) of a `nextRecordsUrl`, absolute or not. */
function pathOf(url: string): string {
  return url.startsWith('/') ? url : new URL(url).pathname;
}

/**
 * The URL that serves the current Salesforce page again. For the first page that is its locator
 * (derived from `nextRecordsUrl`, whose offset is the page's end), so the rest of the page comes
 * from the same snapshot instead of re-running the query.
 */
function samePageUrl(current: string, nextRecordsUrl: string | undefined, pageLength: number): string {
  if (!current.includes('?q=') || !nextRecordsUrl) return current;
  const match = /^(.*\/query\/[A-Za-z0-9]+)-(\d+)$/.exec(pathOf(nextRecordsUrl));
  if (!match) return current;
  return `${match[1]}-${Number(match[2]) - pageLength}`;
}

/** Reads one page of a query. */
export function querySalesforce(
  api: SalesforceApi,
  describes: DescribeCache,
  request: QueryRequest,
  cursor: string | undefined,
  signal: AbortSignal | undefined,
): ResultAsync<RecordPage, CrmError> {
  const pageSize = Math.max(1, Math.min(request.pageSize ?? api.config.pageSize, MAX_BATCH));
  return describes.describe(request.object, signal).andThen((description) => {
    const compiled = compileSoql(description, request);
    if (compiled.isErr()) {
      return errAsync(crmError('invalid-request', CONNECTOR_ID, `query on ${request.object}: ${compiled.error.message}`));
    }
    let position: QueryCursor;
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor, api.basePath);
      if (!decoded) return errAsync(crmError('invalid-request', CONNECTOR_ID, 'the query cursor is not one this connector issued; pass nextCursor back unchanged, with the same request'));
      position = decoded;
    } else {
      position = { u: `${api.basePath}/query?q=${encodeURIComponent(compiled.value)}`, s: 0 };
    }
    if (position.u.length > MAX_QUERY_URL_LENGTH) {
      return errAsync(
        crmError('invalid-request', CONNECTOR_ID, `query on ${request.object}: the query URL would be ${position.u.length} characters, over Salesforce's limit; request fewer fields or ids per query`),
      );
    }
    const batchSize = Math.min(MAX_BATCH, Math.max(MIN_BATCH, pageSize));
    const fieldsByName = new Map(description.fields.map((f) => [f.name, f]));
    const windowField = request.window ? fieldsByName.get(request.window.field) : undefined;
    return api
      .call<SalesforceQueryAnswer>({
        method: 'GET',
        path: position.u,
        headers: { 'Sforce-Query-Options': `batchSize=${batchSize}` },
        ...(signal ? { signal } : {}),
      })
      .andThen((answer) => {
        const all = answer.body.records ?? [];
        const slice = all.slice(position.s, position.s + pageSize);
        const records: CrmRecord[] = slice.map((raw) => ({
          id: String(raw[description.primaryKey]),
          ...(windowField ? { changedAt: String(decodeSalesforceValue(windowField, raw[windowField.name])) } : {}),
          values: decodeSalesforceRecord(fieldsByName, request.fields, raw),
        }));
        let next: QueryCursor | undefined;
        if (position.s + pageSize < all.length) next = { u: samePageUrl(position.u, answer.body.nextRecordsUrl, all.length), s: position.s + pageSize };
        else if (answer.body.nextRecordsUrl && answer.body.done !== true) next = { u: pathOf(answer.body.nextRecordsUrl), s: 0 };
        const dateHeader = answer.headers.date ? Date.parse(answer.headers.date) : Number.NaN;
        const serverTime = Number.isNaN(dateHeader) ? undefined : new Date(dateHeader).toISOString();
        return okAsync({
          records,
          ...(next ? { nextCursor: encodeCursor(next) } : {}),
          ...(serverTime ? { serverTime, safeUpperBound: serverTime } : {}),
        });
      });
  });
}
