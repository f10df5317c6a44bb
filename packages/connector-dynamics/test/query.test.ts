import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedFilterNode } from '@crm-sync/sdk';
import { startHarness, type DynamicsHarness } from './support/harness.js';

const HOSTILE = ["O'Brien", "x' or lastname ne '", 'a&$top=1', 'hash#tag', 'plus+sign', 'slash/and?query', '100%25 off', 'Zoë 東京 🙂', ') or (1 eq 1'];

let harness: DynamicsHarness;
const ids = new Map<string, string>();
beforeAll(async () => {
  harness = await startHarness();
  for (const [index, lastname] of [...HOSTILE, 'Harmless'].entries()) {
    const outcome = harness.crm.insert('contact', { lastname, numberofchildren: index });
    if (!outcome.ok) throw new Error(outcome.reject.message);
    ids.set(lastname, outcome.id);
  }
});
afterAll(async () => harness.close());

const eq = (value: string): ResolvedFilterNode => ({ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'eq', right: { kind: 'string', value } });

describe('query over the emulator with hostile literals', () => {
  it.each(HOSTILE)('finds exactly the record whose last name is %j', async (value) => {
    const page = (await harness.connector.query({ object: 'contact', fields: ['lastname'], filter: eq(value) }))._unsafeUnwrap();
    expect(page.records.map((record) => record.id)).toEqual([ids.get(value)]);
    expect(page.records[0]?.values.lastname).toBe(value);
  });

  it('matches hostile values inside In and startsWith, and negated groups', async () => {
    const filter: ResolvedFilterNode = {
      kind: 'group',
      op: 'and',
      items: [
        { kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'in', right: { kind: 'list', items: HOSTILE.slice(0, 4).map((value) => ({ kind: 'string' as const, value })) } },
        { kind: 'group', op: 'or', negated: true, items: [{ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'startsWith', right: { kind: 'string', value: "x' or" } }] },
      ],
    };
    const page = (await harness.connector.query({ object: 'contact', fields: ['lastname'], filter }))._unsafeUnwrap();
    expect(page.records.map((record) => record.values.lastname).sort()).toEqual([HOSTILE[0], HOSTILE[2], HOSTILE[3]].sort());
  });

  it('orders by the requested fields, then by primary key', async () => {
    const page = (await harness.connector.query({ object: 'contact', fields: ['numberofchildren'], orderBy: [{ field: 'numberofchildren', direction: 'desc' }] }))._unsafeUnwrap();
    const values = page.records.map((record) => record.values.numberofchildren as number);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(values).toHaveLength(HOSTILE.length + 1);
  });

  it('reports the server time from the Date header', async () => {
    harness.clock.set('2024-07-04T12:34:56.000Z');
    const page = (await harness.connector.query({ object: 'contact', fields: [], pageSize: 1 }))._unsafeUnwrap();
    expect(page.serverTime).toBe('2024-07-04T12:34:56.000Z');
  });
});
