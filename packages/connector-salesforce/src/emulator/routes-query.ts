/**
 * `query` / `queryAll` and their `nextRecordsUrl` pages. The result set is computed once when the
 * query starts (a snapshot, as Salesforce's cursor is) and served in batches of
 * `Sforce-Query-Options: batchSize` (200–2,000, default 2,000). queryAll pages are served under
 * `/query/` too, as jsforce expects.
 *
 * @module
 */
import { json, materialize, recordJson, sfError, type EmulatorContext, type RouteAnswer } from './context.js';
import { compileEmulatorSoql } from './soql-eval.js';

/** Open result sets kept at most; the oldest is dropped first. */
const MAX_OPEN_QUERIES = 50;

/** Reads `batchSize=N` from `Sforce-Query-Options`, clamped to 200–2,000. */
function batchSizeOf(header: string | undefined): number {
  const match = /batchSize\s*=\s*(\d+)/i.exec(header ?? '');
  if (!match) return 2000;
  return Math.min(2000, Math.max(200, Number(match[1])));
}

function page(context: EmulatorContext, apiVersion: string, locator: string, offset: number): RouteAnswer {
  const open = context.queries.get(locator);
  if (!open || offset < 0 || offset > open.rows.length) return sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  const end = Math.min(open.rows.length, offset + open.batchSize);
  const done = end >= open.rows.length;
  return json(200, {
    totalSize: open.rows.length,
    done,
    ...(done ? {} : { nextRecordsUrl: `/services/data/v${apiVersion}/query/${locator}-${end}` }),
    records: open.rows.slice(offset, end),
  });
}

/** `GET /query?q=` or `/queryAll?q=`. */
export function handleQuery(context: EmulatorContext, apiVersion: string, soql: string | null, includeDeleted: boolean, optionsHeader: string | undefined): RouteAnswer {
  if (!soql) return sfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  const compiled = compileEmulatorSoql(soql, (object) => context.describe(object));
  const description = context.describe(compiled.object)!;
  const selected = compiled.fields.map((name) => description.fields.find((f) => f.name === name)!);
  const matching: { id: string; values: Record<string, unknown> & { [k: string]: string | number | boolean | null } }[] = [];
  for (const record of context.crm.records(compiled.object, { includeDeleted })) {
    const values = materialize(record, description);
    if (compiled.matches(values)) matching.push({ id: record.id, values });
  }
  if (compiled.compare) {
    const compare = compiled.compare;
    matching.sort((a, b) => compare(a.values, b.values));
  }
  const sliced = matching.slice(compiled.offset ?? 0, compiled.limit !== undefined ? (compiled.offset ?? 0) + compiled.limit : undefined);
  // SELECT COUNT(): the count in totalSize and no records, as Salesforce answers.
  if (compiled.count) return json(200, { totalSize: sliced.length, done: true, records: [] });
  const rows = sliced.map((row) => recordJson(compiled.object, apiVersion, row.id, row.values, selected));
  const locator = context.newId('01g');
  context.queries.set(locator, { object: compiled.object, rows, batchSize: batchSizeOf(optionsHeader) });
  // Cursors live for days in Salesforce; the emulator keeps the newest ones within a memory bound.
  while (context.queries.size > MAX_OPEN_QUERIES) context.queries.delete(context.queries.keys().next().value!);
  return page(context, apiVersion, locator, 0);
}

/** `GET /query/{locator}-{offset}` (also under `/queryAll/`). */
export function handleQueryMore(context: EmulatorContext, apiVersion: string, cursor: string): RouteAnswer {
  const match = /^([A-Za-z0-9]+)-(\d+)$/.exec(cursor);
  if (!match) return sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  return page(context, apiVersion, match[1]!, Number(match[2]));
}
