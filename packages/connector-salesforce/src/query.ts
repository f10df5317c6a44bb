/**
 * `query`: SOQL from {@link compileSoql}, paged by the connector itself through `nextRecordsUrl`
 * (jsforce's autoFetch stops silently at 10,000 records and keeps every record in memory).
 *
 * Only the current Salesforce page is ever in memory; nothing is held between calls.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { crmError, type CrmError, type CrmRecord, type ObjectDescription, type QueryRequest, type RecordPage } from '@crm-sync/sdk';
import type { SalesforceAnswer, SalesforceApi } from './api.js';
import type { DescribeCache } from './describe.js';
import { CONNECTOR_ID } from './errors.js';
import { decodeSalesforceRecords, decodeSalesforceValue } from './mapping.js';
import { isSalesforceId } from './ids.js';
import { chunkIds, compileSoql } from './soql.js';

/** Salesforce answers 414/431 above about 16 KB of URI and headers; stay well below. */
const MAX_QUERY_URL_LENGTH = 15_000;
/** `Sforce-Query-Options: batchSize` accepts 200–2,000. */
const MIN_BATCH = 200;
const MAX_BATCH = 2000;

/**
 * Where a read stands. `ids` are the records of the current Salesforce page not yet returned
 * (only when the caller's page size is below Salesforce's batch); `u` is the next Salesforce page.
 */
interface QueryCursor {
  readonly u?: string;
  readonly ids?: readonly string[];
  /** The query's `totalSize` and how many records its Salesforce pages held so far. */
  readonly t?: number;
  readonly s?: number;
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
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { u?: unknown; ids?: unknown; t?: unknown; s?: unknown };
    // Only paths under this API's query resources: a forged cursor cannot send the token elsewhere.
    if (cursor.u !== undefined && (typeof cursor.u !== 'string' || !cursor.u.startsWith(`${basePath}/query/`) || /[\s#?]/.test(cursor.u))) return undefined;
    if (cursor.ids !== undefined && (!Array.isArray(cursor.ids) || !cursor.ids.every((id) => typeof id === 'string'))) return undefined;
    if (cursor.u === undefined && cursor.ids === undefined) return undefined;
    const count = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;
    return {
      ...(cursor.u !== undefined ? { u: cursor.u as string } : {}),
      ...(cursor.ids !== undefined ? { ids: cursor.ids as string[] } : {}),
      ...(count(cursor.t) && count(cursor.s) ? { t: cursor.t, s: cursor.s } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Checks a query answer before any record of it is used. A malformed page (no record list, a
 * record without an id, `done:false` without a next link) is a transient error, never an empty or
 * last page: taking it at face value would end the read early and move the watermark past
 * records that were never read.
 */
function checkQueryAnswer(body: unknown, primaryKey: string): CrmError | undefined {
  const malformed = (what: string): CrmError =>
    crmError('transient', CONNECTOR_ID, `malformed query answer from Salesforce: ${what}; the page was not used and can be read again`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return malformed('the body is not a JSON object');
  const answer = body as Record<string, unknown>;
  if (!Array.isArray(answer.records)) return malformed('"records" is not a list');
  if (answer.done !== true && answer.done !== false) return malformed('"done" is missing');
  if (answer.done === false && (typeof answer.nextRecordsUrl !== 'string' || answer.nextRecordsUrl === '')) {
    return malformed('"done" is false but there is no "nextRecordsUrl"');
  }
  if (answer.totalSize !== undefined && (typeof answer.totalSize !== 'number' || !Number.isInteger(answer.totalSize))) return malformed('"totalSize" is not a number');
  for (const record of answer.records) {
    if (typeof record !== 'object' || record === null) return malformed('a record is not an object');
    const id = (record as Record<string, unknown>)[primaryKey];
    if (typeof id !== 'string' || id === '') return malformed(`a record has no ${primaryKey}`);
  }
  return undefined;
}

/** The path (from `/services/...`) of a `nextRecordsUrl`, absolute or not. */
function pathOf(url: string): string {
  return url.startsWith('/') ? url : new URL(url).pathname;
}

/** A `nextRecordsUrl` path: the open cursor's locator and the offset of the next page. */
const LOCATOR_PAGE = /^(\/services\/data\/v\d+\.\d+\/query(?:All)?\/[A-Za-z0-9]+)-(\d+)$/;

/** The page requested ahead for `path`, if any (taken: a page is handed out once). */
function takeReadAhead(api: SalesforceApi, path: string): ResultAsync<SalesforceAnswer<SalesforceQueryAnswer>, CrmError> | undefined {
  const pending = api.readAhead.get(path);
  if (pending === undefined) return undefined;
  api.readAhead.delete(path);
  return pending as ResultAsync<SalesforceAnswer<SalesforceQueryAnswer>, CrmError>;
}

/**
 * Requests the `queryReadAhead` pages after `nextPage` (which the caller's own prefetch asks for),
 * at the offsets the cursor's pages of `step` records will have. Nothing while Salesforce asked
 * to wait; at most `2 x queryReadAhead + 2` pages held, the oldest (an abandoned read's) dropped.
 */
function scheduleReadAhead(api: SalesforceApi, nextPage: string, step: number, total: number, headers: Readonly<Record<string, string>>): void {
  const depth = api.config.queryReadAhead;
  if (depth <= 0 || step <= 0 || Date.now() < api.pausedUntil) return;
  const match = LOCATOR_PAGE.exec(nextPage);
  if (!match) return;
  const offset = Number(match[2]);
  for (let k = 1; k <= depth; k += 1) {
    const at = offset + k * step;
    if (at >= total) break;
    const path = `${match[1]}-${at}`;
    if (!api.readAhead.has(path)) api.readAhead.set(path, api.call<unknown>({ method: 'GET', path, headers }));
  }
  while (api.readAhead.size > 2 * depth + 2) {
    const oldest = api.readAhead.keys().next().value;
    if (oldest === undefined) break;
    api.readAhead.delete(oldest);
  }
}

/** Ids per follow-up query that fetches the fields a wide object's main query left out. */
const WIDE_IDS_PER_QUERY = 100;

/** The query URL for `soql`. */
function queryPath(api: SalesforceApi, soql: string): string {
  return `${api.basePath}/query?q=${encodeURIComponent(soql)}`;
}

/**
 * The longest prefix of `fields` whose query URL stays under {@link MAX_QUERY_URL_LENGTH}, given how
 * to build the request from a field list. Very wide objects cannot select every field in one GET.
 */
function fieldsThatFit(api: SalesforceApi, description: ObjectDescription, fields: readonly string[], build: (fields: readonly string[]) => QueryRequest): string[] {
  const fitting: string[] = [];
  for (const field of fields) {
    const soql = compileSoql(description, build([...fitting, field]));
    if (soql.isErr() || queryPath(api, soql.value).length > MAX_QUERY_URL_LENGTH) break;
    fitting.push(field);
  }
  return fitting;
}

/**
 * Fetches the `missing` fields of `raws` by `Id IN (...)`, in as many queries as the URL limit
 * needs, and merges them into the records (matched by Id).
 */
function fillMissingFields(
  api: SalesforceApi,
  description: ObjectDescription,
  raws: readonly Record<string, unknown>[],
  missing: readonly string[],
  signal: AbortSignal | undefined,
): ResultAsync<void, CrmError> {
  const byId = new Map(raws.map((raw) => [String(raw[description.primaryKey]), raw as Record<string, unknown>]));
  const run = async (): Promise<void> => {
    for (const ids of chunkIds([...byId.keys()], WIDE_IDS_PER_QUERY)) {
      let left = [...missing];
      while (left.length > 0) {
        const group = fieldsThatFit(api, description, left, (fields) => ({ object: description.name, fields, ids }));
        if (group.length === 0) throw crmError('invalid-request', CONNECTOR_ID, `query on ${description.name}: field ${left[0]} alone makes the query URL too long for Salesforce`);
        const soql = compileSoql(description, { object: description.name, fields: group, ids });
        if (soql.isErr()) throw crmError('invalid-request', CONNECTOR_ID, `query on ${description.name}: ${soql.error.message}`);
        const answer = await api.call<SalesforceQueryAnswer>({ method: 'GET', path: queryPath(api, soql.value), ...(signal ? { signal } : {}) });
        if (answer.isErr()) throw answer.error;
        for (const record of answer.value.body.records ?? []) {
          const target = byId.get(String(record[description.primaryKey]));
          if (target) for (const field of group) target[field] = record[field];
        }
        left = left.slice(group.length);
      }
    }
  };
  return ResultAsync.fromPromise(run(), (error) => error as CrmError);
}

/**
 * Reads one page of a query.
 *
 * Salesforce serves at least 200 records per page. When the caller asks for fewer, the rest of the
 * Salesforce page travels in the cursor as ids and is fetched by `Id IN (...)` on the next call, in
 * the original order: the read stays on the query's first result (records deleted meanwhile are
 * simply absent) instead of re-running the query and shifting offsets.
 */
export function querySalesforce(
  api: SalesforceApi,
  describes: DescribeCache,
  request: QueryRequest,
  cursor: string | undefined,
  signal: AbortSignal | undefined,
): ResultAsync<RecordPage, CrmError> {
  const pageSize = Math.max(1, Math.min(request.pageSize ?? api.config.pageSize, MAX_BATCH));
  // Text that is not a Salesforce id names no record: it is left out (the contract's "absent"),
  // never sent, so one stray value cannot fail the whole chunk.
  const validIds = request.ids?.filter((id) => isSalesforceId(id));
  if (validIds !== undefined && validIds.length === 0 && cursor === undefined) return okAsync({ records: [] });
  const effective: QueryRequest = validIds === undefined ? request : { ...request, ids: validIds };
  return describes.describe(request.object, signal).andThen((description) => {
    const compiled = compileSoql(description, effective);
    if (compiled.isErr()) {
      return errAsync(crmError('invalid-request', CONNECTOR_ID, `query on ${request.object}: ${compiled.error.message}`));
    }
    let position: QueryCursor | undefined;
    if (cursor !== undefined) {
      position = decodeCursor(cursor, api.basePath);
      if (!position) return errAsync(crmError('invalid-request', CONNECTOR_ID, 'the query cursor is not one this connector issued; pass nextCursor back unchanged, with the same request'));
    }
    const held = position?.ids ?? [];
    const wanted = held.slice(0, pageSize);
    const windowFields = request.window ? [request.window.field] : [];
    // The main query selects the fields that fit in the URL; the rest come by Id afterwards.
    const build = (fields: readonly string[]): QueryRequest =>
      wanted.length > 0 ? { object: request.object, fields: [...windowFields, ...fields], ids: wanted } : { ...effective, fields };
    const mainFields = queryPath(api, compileSoql(description, build(request.fields)).unwrapOr('')).length > MAX_QUERY_URL_LENGTH
      ? fieldsThatFit(api, description, request.fields, build)
      : [...request.fields];
    const missing = request.fields.filter((field) => !mainFields.includes(field));
    let path: string;
    if (wanted.length > 0 || position?.u === undefined) {
      const main = compileSoql(description, build(mainFields));
      if (main.isErr()) return errAsync(crmError('invalid-request', CONNECTOR_ID, `query on ${request.object}: ${main.error.message}`));
      path = queryPath(api, main.value);
    } else {
      path = position.u;
    }
    if (path.length > MAX_QUERY_URL_LENGTH) {
      return errAsync(
        crmError('invalid-request', CONNECTOR_ID, `query on ${request.object}: the query URL would be ${path.length} characters, over Salesforce's limit; request fewer fields or ids per query`),
      );
    }
    const batchSize = Math.min(MAX_BATCH, Math.max(MIN_BATCH, pageSize));
    const fieldsByName = new Map(description.fields.map((f) => [f.name, f]));
    const windowField = request.window ? fieldsByName.get(request.window.field) : undefined;
    const headers = { 'Sforce-Query-Options': `batchSize=${batchSize}` };
    // A page requested ahead is used only for the very path asked for (the previous page's nextRecordsUrl).
    const ahead = wanted.length === 0 && missing.length === 0 ? takeReadAhead(api, path) : undefined;
    return (ahead ?? api.call<SalesforceQueryAnswer>({ method: 'GET', path, headers, ...(signal ? { signal } : {}) }))
      .andThen((answer) => {
        const problem = checkQueryAnswer(answer.body, description.primaryKey);
        if (problem) return errAsync(problem);
        let raws = answer.body.records ?? [];
        let rest: readonly string[];
        let nextPage: string | undefined;
        let count: { t: number; s: number } | undefined;
        if (wanted.length > 0) {
          const byId = new Map(raws.map((raw) => [String(raw[description.primaryKey]), raw]));
          raws = wanted.map((id) => byId.get(id)).filter((raw): raw is Record<string, unknown> => raw !== undefined);
          rest = held.slice(pageSize);
          nextPage = position?.u;
          count = position?.t !== undefined && position.s !== undefined ? { t: position.t, s: position.s } : undefined;
        } else {
          // totalSize is fixed for the query's server-side cursor: the pages must add up to it.
          const total = position?.u !== undefined ? position.t : answer.body.totalSize;
          const seen = (position?.u !== undefined ? (position.s ?? 0) : 0) + raws.length;
          nextPage = answer.body.done === false && answer.body.nextRecordsUrl ? pathOf(answer.body.nextRecordsUrl) : undefined;
          if (total !== undefined && (nextPage === undefined ? seen !== total : seen > total)) {
            return errAsync(
              crmError('transient', CONNECTOR_ID, `Salesforce reported ${total} records for the query but its pages held ${seen}; the read was stopped so that no record is skipped`),
            );
          }
          count = total !== undefined ? { t: total, s: seen } : undefined;
          if (nextPage !== undefined && total !== undefined && missing.length === 0 && pageSize >= raws.length) scheduleReadAhead(api, nextPage, raws.length, total, headers);
          rest = raws.slice(pageSize).map((raw) => String(raw[description.primaryKey]));
          raws = raws.slice(0, pageSize);
        }
        const page = raws;
        const filled = missing.length > 0 && page.length > 0 ? fillMissingFields(api, description, page, missing, signal) : okAsync(undefined);
        return filled.map(() => ({ page, rest, nextPage, count, date: answer.headers.date }));
      })
      .andThen(({ page: raws, rest, nextPage, count, date }) => {
        const decode = decodeSalesforceRecords(fieldsByName, request.fields);
        const primaryKey = description.primaryKey;
        // The window field is usually among the fields read: its decoded value is the change time.
        const windowName = windowField?.name;
        const windowRead = windowName !== undefined && request.fields.includes(windowName);
        const records: CrmRecord[] = new Array<CrmRecord>(raws.length);
        for (let i = 0; i < raws.length; i += 1) {
          const raw = raws[i]!;
          const values = decode(raw);
          records[i] =
            windowField === undefined
              ? { id: String(raw[primaryKey]), values }
              : { id: String(raw[primaryKey]), changedAt: String(windowRead ? values[windowName!] : decodeSalesforceValue(windowField, raw[windowField.name])), values };
        }
        const next: QueryCursor | undefined =
          rest.length > 0 || nextPage
            ? { ...(nextPage ? { u: nextPage } : {}), ...(rest.length > 0 ? { ids: rest } : {}), ...(nextPage && count ? count : {}) }
            : undefined;
        const dateHeader = date ? Date.parse(date) : Number.NaN;
        const serverTime = Number.isNaN(dateHeader) ? undefined : new Date(dateHeader).toISOString();
        return okAsync({
          records,
          ...(next ? { nextCursor: encodeCursor(next) } : {}),
          ...(serverTime ? { serverTime, safeUpperBound: serverTime } : {}),
        });
      });
  });
}
