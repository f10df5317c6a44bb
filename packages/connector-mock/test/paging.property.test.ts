import type { CrmRecord, OrderBy, QueryRequest } from '@crm-sync/sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm, MockConnector } from '../src/index.js';

const BASE = Date.parse('2024-01-01T00:00:00.000Z');

async function readAll(connector: MockConnector, request: QueryRequest): Promise<CrmRecord[]> {
  const records: CrmRecord[] = [];
  let cursor: string | undefined;
  // A cursor that never ends would spin on microtasks and starve vitest's timeout: fail fast instead.
  let pagesLeft = 1000;
  do {
    if (--pagesLeft < 0) throw new Error('the connector kept returning cursors: paging does not terminate');
    const page = (await connector.query(request, cursor))._unsafeUnwrap();
    expect(page.records.length).toBeLessThanOrEqual(request.pageSize ?? Number.POSITIVE_INFINITY);
    records.push(...page.records);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return records;
}

/** Contacts whose change times fall on few distinct milliseconds, so ties are the rule. */
const contacts = fc.array(fc.record({ tick: fc.integer({ min: 0, max: 5 }), score: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }) }), { maxLength: 60 });

function load(rows: { tick: number; score: number | null }[]): { crm: InMemoryCrm; connector: MockConnector } {
  const crm = new InMemoryCrm();
  for (const row of rows) crm.insert('contact', { lastName: 'L', score: row.score }, { at: new Date(BASE + row.tick).toISOString() });
  return { crm, connector: new MockConnector(crm) };
}

describe('MockConnector paging (property)', () => {
  it('a windowed keyset read returns exactly the records in [start, end), ordered by (time, id), for any page size', async () => {
    await fc.assert(
      fc.asyncProperty(contacts, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 6 }), async (rows, pageSize, startTick, endTick) => {
        const { crm, connector } = load(rows);
        const start = new Date(BASE + startTick).toISOString();
        const end = new Date(BASE + endTick).toISOString();
        const read = await readAll(connector, { object: 'contact', fields: [], window: { field: 'updatedAt', start, end }, pageSize });
        const expected = crm
          .records('contact')
          .filter((record) => record.changedAt >= start && record.changedAt < end)
          .map((record) => `${record.changedAt} ${record.id}`)
          .sort();
        expect(read.map((record) => `${record.changedAt} ${record.id}`)).toEqual(expected);
      }),
      { numRuns: 60, seed: 20241125 },
    );
  });

  it('an ordered read returns every record once, sorted, ties in insertion order, for any page size', async () => {
    const orderBy = fc.constantFrom<OrderBy[]>([{ field: 'score', direction: 'asc' }], [{ field: 'score', direction: 'desc' }], [{ field: 'updatedAt', direction: 'desc' }, { field: 'score', direction: 'asc' }]);
    await fc.assert(
      fc.asyncProperty(contacts, fc.integer({ min: 1, max: 7 }), orderBy, async (rows, pageSize, keys) => {
        const { crm, connector } = load(rows);
        const read = await readAll(connector, { object: 'contact', fields: ['score', 'updatedAt'], orderBy: keys, pageSize });
        const rank = (value: unknown): number => (value === null || value === undefined ? Number.NEGATIVE_INFINITY : typeof value === 'number' ? value : Date.parse(value as string));
        const expected = [...crm.records('contact')].sort((a, b) => {
          for (const key of keys) {
            const left = rank(a.values[key.field]);
            const right = rank(b.values[key.field]);
            const order = left === right ? 0 : left - right;
            if (order !== 0) return key.direction === 'asc' ? order : -order;
          }
          return 0;
        });
        expect(read.map((record) => record.id)).toEqual(expected.map((record) => record.id));
      }),
      { numRuns: 60, seed: 20241125 },
    );
  });
});
