/**
 * Serving a collection GET over rendered rows: `$select`, `$filter`, `$orderby`, `$top`,
 * `Prefer: odata.maxpagesize` and keyset paging through an opaque `$skiptoken` paging cookie in
 * an absolute `@odata.nextLink`. `$skip` is refused, as Dataverse does.
 *
 * @module
 */
import type { FieldDescription } from '@crm-sync/sdk';
import { annotateRow, annotationRequest } from './annotations.js';
import { bindFilter, compareRows, evaluateFilter, IncompatibleOperandsError, parseOrderBy, UnknownPropertyError, type SortKey, type WireRow } from './odata-evaluator.js';
import { ODataSyntaxError, ODataUnsupportedError, parseODataFilter, type ODataExpression } from './odata-parser.js';
import { errorResponse, jsonResponse, notImplemented, preferences, queryParameters, type EmulatorRequest, type EmulatorResponse } from './http-types.js';
import { EMULATOR_CODES } from './reject-codes.js';

/** The Dataverse maximum page size. */
const MAX_PAGE_SIZE = 5000;

/** What to serve. */
interface CollectionSource {
  readonly apiBase: string;
  readonly entitySetName: string;
  /** The logical name, for error messages. */
  readonly entityName: string;
  readonly primaryKey: string;
  readonly fields: ReadonlyMap<string, FieldDescription>;
  readonly rows: readonly WireRow[];
  /** Adds `@odata.etag` to a row. */
  readonly etag?: (row: WireRow) => string | undefined;
}

function invalidProperty(entity: string, property: string): EmulatorResponse {
  return errorResponse(400, EMULATOR_CODES.invalidProperty, `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${entity}'.`);
}

/** Query options Dataverse supports that the emulator does not evaluate: answered 501, never ignored. */
const UNIMPLEMENTED_OPTIONS: ReadonlySet<string> = new Set(['$expand', '$apply', '$search', '$compute', '$levels', 'fetchXml', 'savedQuery', 'userQuery']);

/**
 * Checks the query options of a GET against the ones a route serves: a documented Dataverse
 * option the emulator does not implement answers 501; an unknown `$` option (query options are
 * case-sensitive: `$Select` is unknown) answers 400 as Dataverse does; parameter aliases (`@p1`)
 * answer 501 as well (the emulator lacks them).
 */
export function checkQueryOptions(params: ReadonlyMap<string, string>, served: ReadonlySet<string>): EmulatorResponse | undefined {
  for (const name of params.keys()) {
    if (served.has(name)) continue;
    if (UNIMPLEMENTED_OPTIONS.has(name)) return notImplemented(`the query option '${name}' here`);
    if (name.startsWith('@')) return notImplemented(`parameter aliases ('${name}') in query options`);
    if (name.startsWith('$')) return errorResponse(400, EMULATOR_CODES.invalidProperty, `The query parameter '${name}' is not supported.`);
  }
  return undefined;
}

/** The options a collection GET serves. */
const COLLECTION_OPTIONS: ReadonlySet<string> = new Set(['$select', '$filter', '$orderby', '$top', '$skiptoken', '$count', '$skip']);

/** Reads `$select` into a list, or answers the error. */
export function readSelect(text: string | undefined, source: Pick<CollectionSource, 'fields' | 'entityName'>): string[] | EmulatorResponse | undefined {
  if (text === undefined || text === '') return undefined;
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.find((name) => !source.fields.has(name));
  return unknown !== undefined ? invalidProperty(source.entityName, unknown) : names;
}

/** Picks the selected columns (all when none), the primary key always. */
export function projectRow(row: WireRow, select: readonly string[] | undefined, primaryKey: string, etag?: string): Record<string, unknown> {
  const out: Record<string, unknown> = etag !== undefined ? { '@odata.etag': etag } : {};
  for (const name of select ?? Object.keys(row)) out[name] = row[name] ?? null;
  out[primaryKey] = row[primaryKey];
  return out;
}

function encodeCookie(values: readonly unknown[], page: number): string {
  const paging = encodeURIComponent(JSON.stringify(values));
  return `<cookie pagenumber="${page}" pagingcookie="${paging}" istracking="False" />`;
}

function decodeCookie(text: string): { values: unknown[]; page: number } | undefined {
  const match = /pagenumber="(\d+)" pagingcookie="([^"]*)"/.exec(text);
  if (!match) return undefined;
  try {
    const values = JSON.parse(decodeURIComponent(match[2] as string)) as unknown;
    return Array.isArray(values) ? { values, page: Number(match[1]) } : undefined;
  } catch {
    return undefined;
  }
}

/** Serves one page of a collection. */
export function serveCollection(request: EmulatorRequest, source: CollectionSource): EmulatorResponse {
  const params = queryParameters(request.url);
  const prefer = preferences(request.headers);
  const unsupported = checkQueryOptions(params, COLLECTION_OPTIONS);
  if (unsupported !== undefined) return unsupported;
  if (params.has('$skip')) return errorResponse(400, EMULATOR_CODES.invalidArgument, 'The query parameter $skip is not supported');
  const countText = params.get('$count');
  if (countText !== undefined && countText !== 'true' && countText !== 'false') {
    return errorResponse(400, EMULATOR_CODES.invalidProperty, `'${countText}' is not a valid count option.`);
  }
  const annotations = annotationRequest(request.headers);
  const select = readSelect(params.get('$select'), source);
  if (select !== undefined && !Array.isArray(select)) return select;
  let filter: ODataExpression | undefined;
  let sortKeys: SortKey[];
  try {
    const text = params.get('$filter');
    filter = text === undefined || text === '' ? undefined : parseODataFilter(text);
    if (filter !== undefined) bindFilter(filter, source.fields);
    sortKeys = parseOrderBy(params.get('$orderby'), source.fields);
  } catch (cause) {
    if (cause instanceof UnknownPropertyError) return invalidProperty(source.entityName, cause.property);
    if (cause instanceof ODataUnsupportedError) return notImplemented(cause.feature);
    if (cause instanceof IncompatibleOperandsError) return errorResponse(400, EMULATOR_CODES.invalidProperty, cause.message);
    const message = cause instanceof ODataSyntaxError ? `Syntax error: ${cause.message} in $filter.` : (cause as Error).message;
    return errorResponse(400, EMULATOR_CODES.invalidProperty, message);
  }
  // Dataverse orders by primary key when nothing else decides, which makes paging deterministic.
  if (!sortKeys.some((key) => key.property === source.primaryKey)) sortKeys.push({ property: source.primaryKey, descending: false });
  const top = params.has('$top') ? Number(params.get('$top')) : undefined;
  if (top !== undefined && (!Number.isInteger(top) || top < 0)) return errorResponse(400, EMULATOR_CODES.invalidArgument, `Invalid value for $top: '${params.get('$top')}'.`);
  const asked = Number(prefer.get('odata.maxpagesize') ?? MAX_PAGE_SIZE);
  const pageSize = Number.isInteger(asked) && asked > 0 ? Math.min(asked, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;

  let matching: WireRow[];
  try {
    matching = filter === undefined ? [...source.rows] : source.rows.filter((row) => evaluateFilter(filter, row, source.fields));
  } catch (cause) {
    if (cause instanceof UnknownPropertyError) return invalidProperty(source.entityName, cause.property);
    throw cause;
  }
  matching.sort((a, b) => compareRows(a, b, sortKeys, source.fields));
  if (top !== undefined) matching = matching.slice(0, top);

  let start = 0;
  let page = 1;
  const token = params.get('$skiptoken');
  if (token !== undefined) {
    const cookie = decodeCookie(token);
    if (cookie === undefined) return errorResponse(400, EMULATOR_CODES.invalidArgument, 'The paging cookie in $skiptoken is not valid.');
    const last: Record<string, unknown> = {};
    sortKeys.forEach((key, index) => {
      last[key.property] = cookie.values[index];
    });
    // Keyset: the next page starts after the last row served, so rows changed meanwhile are not skipped.
    start = matching.findIndex((row) => compareRows(row, last, sortKeys, source.fields) > 0);
    if (start < 0) start = matching.length;
    page = cookie.page;
  }
  const slice = matching.slice(start, start + pageSize);
  const more = start + pageSize < matching.length && (top === undefined || start + pageSize < top);
  const body: Record<string, unknown> = {
    '@odata.context': `${source.apiBase}$metadata#${source.entitySetName}${select ? `(${select.join(',')})` : ''}`,
    // Dataverse counts at most 5000 rows; totalrecordcountlimitexceeded says there are more.
    ...(countText === 'true' ? { '@odata.count': Math.min(matching.length, MAX_PAGE_SIZE) } : {}),
    ...(countText === 'true' && annotations?.includes('Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded')
      ? { '@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded': matching.length > MAX_PAGE_SIZE }
      : {}),
    value: slice.map((row) => annotateRow(projectRow(row, select, source.primaryKey, source.etag?.(row)), source.fields, annotations)),
  };
  if (more) {
    const lastRow = slice[slice.length - 1] as WireRow;
    const kept = [...params.entries()].filter(([name]) => name !== '$skiptoken').map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
    kept.push(`$skiptoken=${encodeURIComponent(encodeCookie(sortKeys.map((key) => lastRow[key.property] ?? null), page + 1))}`);
    body['@odata.nextLink'] = `${source.apiBase}${source.entitySetName}?${kept.join('&')}`;
  }
  const applied: string[] = [];
  if (prefer.has('odata.maxpagesize')) applied.push(`odata.maxpagesize=${pageSize}`);
  if (annotations !== undefined) applied.push(annotations.applied);
  return jsonResponse(200, body, applied.length > 0 ? { 'Preference-Applied': applied.join(',') } : {});
}
