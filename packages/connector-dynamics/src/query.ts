/**
 * `query`: one page of a collection GET, following `@odata.nextLink` verbatim and walking id
 * chunks when the request names more ids than one URL can carry.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { crmError, findField, toInstant, type CrmError, type CrmRecord, type FieldValues, type ObjectDescription, type QueryRequest, type RecordPage } from '@crm-sync/sdk';
import type { ResolvedDynamicsConfig } from './config.js';
import { decodeCursor, encodeCursor, type PageCursor } from './cursor.js';
import { CONNECTOR_ID } from './errors.js';
import type { DataverseHttp, DataverseResponse } from './http.js';
import { decodeValue, vendorOf } from './mapping.js';
import { chunkIdsForUrl, collectionPath, compileQueryOptions, GUID_PATTERN } from './odata-filter.js';

/** Reads the server time from the `Date` header of a Web API answer. */
export function serverTimeOf(response: DataverseResponse): string | undefined {
  const date = response.headers.get('date');
  const ms = date === null ? Number.NaN : Date.parse(date);
  return Number.isNaN(ms) ? undefined : toInstant(ms);
}

/** Reads one page of records. */
export function queryDataverse(
  http: DataverseHttp,
  config: ResolvedDynamicsConfig,
  description: ObjectDescription,
  request: QueryRequest,
  cursorText: string | undefined,
  signal?: AbortSignal,
): ResultAsync<RecordPage, CrmError> {
  let cursor: PageCursor = { chunk: 0 };
  if (cursorText !== undefined) {
    const decoded = decodeCursor(cursorText);
    if (decoded.isErr()) return errAsync(decoded.error);
    cursor = decoded.value;
  }
  // An id that is not a GUID cannot exist in Dataverse: like any missing id, it is simply absent
  // from the result (and it never reaches the URL).
  const chunks = request.ids !== undefined ? chunkIdsForUrl(request.ids.filter((id) => GUID_PATTERN.test(id))) : undefined;
  if (chunks !== undefined && chunks.length === 0) return okAsync({ records: [] });
  const chunk = chunks?.[cursor.chunk];
  if (chunks !== undefined && chunk === undefined) {
    return errAsync(crmError('invalid-request', CONNECTOR_ID, 'cursor: it does not belong to this request (id chunk out of range)'));
  }
  const options = compileQueryOptions(description, {
    fields: request.fields,
    ...(request.filter ? { filter: request.filter } : {}),
    ...(request.orderBy ? { orderBy: request.orderBy } : {}),
    ...(request.window ? { window: request.window } : {}),
    ...(chunk ? { ids: chunk } : {}),
  });
  if (options.isErr()) return errAsync(options.error);
  const entitySet = vendorOf(description).entitySetName;
  const pageSize = Math.min(request.pageSize ?? config.pageSize, config.maxPageSize);
  const path = cursor.nextLink ?? collectionPath(entitySet, options.value);
  return http
    .send({
      method: 'GET',
      path,
      operation: `GET ${entitySet}`,
      // The same maxpagesize on every page, as Dataverse asks.
      prefer: [`odata.maxpagesize=${pageSize}`],
      ...(signal ? { signal } : {}),
    })
    .andThen((response) => {
      const body = response.json as { value?: unknown; '@odata.nextLink'?: unknown } | undefined;
      // A malformed page is an error the runtime may retry, never an empty or last page: taking it
      // at face value would end the read early and move the watermark past unread records.
      if (!body || !Array.isArray(body.value)) {
        return errAsync(crmError('transient', CONNECTOR_ID, `GET ${entitySet}: malformed answer: it has no 'value' array; the page was not used and can be read again`));
      }
      const idless = (body.value as unknown[]).findIndex(
        (row) => typeof row !== 'object' || row === null || typeof (row as Record<string, unknown>)[description.primaryKey] !== 'string',
      );
      if (idless >= 0) {
        return errAsync(crmError('transient', CONNECTOR_ID, `GET ${entitySet}: malformed answer: row ${idless} has no ${description.primaryKey}; the page was not used and can be read again`));
      }
      const records = (body.value as Record<string, unknown>[]).map((row) => toRecord(description, request, row));
      const nextLink = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
      const next: PageCursor | undefined =
        nextLink !== undefined ? { chunk: cursor.chunk, nextLink } : chunks !== undefined && cursor.chunk + 1 < chunks.length ? { chunk: cursor.chunk + 1 } : undefined;
      const serverTime = serverTimeOf(response);
      return okAsync({
        records,
        ...(next !== undefined ? { nextCursor: encodeCursor(next) } : {}),
        ...(serverTime !== undefined ? { serverTime } : {}),
      });
    });
}

function toRecord(description: ObjectDescription, request: QueryRequest, row: Record<string, unknown>): CrmRecord {
  const values: FieldValues = {};
  for (const name of request.fields) values[name] = decodeValue(findField(description, name), row[name]);
  const changedAt = request.window ? decodeValue(findField(description, request.window.field), row[request.window.field]) : undefined;
  return {
    id: String(row[description.primaryKey]),
    ...(typeof changedAt === 'string' ? { changedAt } : {}),
    values,
  };
}
