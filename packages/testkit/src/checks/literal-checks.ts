/**
 * The string-literal check: values full of quotes, backslashes, query operators, newlines and
 * Unicode are stored and read back exactly, and an `eq` filter on each finds exactly its record.
 * A connector that pastes strings into a query language without escaping fails it.
 *
 * @module
 */
import type { ResolvedFilterComparison } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS } from './define-check.js';
import { readAllPages } from './read-helpers.js';

/**
 * Strings that break a query language when pasted unescaped: quotes of both kinds, doubled
 * quotes, backslashes (also last, and before a quote), injections in the usual syntaxes, the
 * common operators and separators, newlines, tabs and non-ASCII text.
 */
export const TRICKY_STRINGS: readonly string[] = [
  "O'Brien",
  "O''Brien",
  'say "hello"',
  'back\\slash',
  'ends with a backslash\\',
  "backslash then quote \\'",
  "' OR '1'='1",
  "x' or id ne 'x",
  '") or ("1"="1',
  'a) or (b',
  ' and ',
  'eq',
  '%_*?[]',
  '$filter=&;#{0}${x}',
  'line one\nline two',
  'tab\there\r\n',
  'Zoë Ünïcødé 日本語 🚀',
];

/** Decoy value seeded next to the tricky ones: an injected filter that matches everything returns it. */
const DECOY = 'plain decoy value';

/** Every tricky string round-trips exactly and filters exactly. */
const stringLiteralsRoundTrip = defineCheck({
  id: 'query/string-literals-round-trip',
  group: 'query',
  title: 'strings with quotes, backslashes, operators, newlines and Unicode are read back exactly, and an eq filter on each returns exactly its record',
  async body(scope) {
    const field = scope.fixtures.stringField ?? scope.skip('fixtures.stringField is not set (a text field usable in eq filters)');
    const values = [...new Set([...TRICKY_STRINGS, ...(scope.fixtures.trickyStrings ?? []), DECOY])];
    const ids = await scope.fixtures.seed(values.length, { values: (i) => ({ ...scope.fixtures.newRecord(i), [field]: values[i] ?? DECOY }) });
    const { maxIdsPerQuery, maxPageSize } = scope.connector.capabilities;
    const byId = new Map<string, unknown>();
    for (let from = 0; from < ids.length; from += Math.max(1, maxIdsPerQuery)) {
      const chunk = ids.slice(from, from + Math.max(1, maxIdsPerQuery));
      const read = await readAllPages(scope, { object: scope.fixtures.object, fields: [field], ids: chunk, pageSize: Math.min(chunk.length, maxPageSize) }, `read of ${chunk.length} records by id`, chunk.length);
      for (const record of read) byId.set(record.id, record.values[field]);
    }
    const wrong: string[] = [];
    const misfiltered: string[] = [];
    for (const [i, value] of values.entries()) {
      const id = ids[i] ?? '';
      if (byId.get(id) !== value) wrong.push(`${JSON.stringify(value)} came back as ${JSON.stringify(byId.get(id))}`);
      if (value === DECOY) continue;
      const filter: ResolvedFilterComparison = { kind: 'comparison', left: { kind: 'field', name: field }, op: 'eq', right: { kind: 'string', value } };
      const page = await scope.connector.query({ object: scope.fixtures.object, fields: [field], filter, pageSize: Math.min(values.length, maxPageSize) });
      if (page.isErr()) {
        misfiltered.push(`${field} eq ${JSON.stringify(value)} failed: ${page.error.kind}: ${page.error.message}`);
        continue;
      }
      const found = page.value.records.map((record) => record.id);
      if (found.length !== 1 || found[0] !== id) misfiltered.push(`${field} eq ${JSON.stringify(value)} returned ${found.length} record(s) ${found.includes(id) ? 'including' : 'without'} the one seeded with it`);
    }
    if (misfiltered.length > 0) {
      scope.fail(FAILURE_KINDS.unexpectedRecord, `${misfiltered.length} string filter(s) did not find exactly their record; escape string literals for the CRM's query language: ${misfiltered.slice(0, 4).join('; ')}`);
    }
    if (wrong.length > 0) scope.fail(FAILURE_KINDS.wrongValue, `${wrong.length} string(s) did not round-trip exactly: ${wrong.slice(0, 4).join('; ')}`);
  },
});

/** The string-literal check, in the query group. */
export const literalChecks = [stringLiteralsRoundTrip] as const;
