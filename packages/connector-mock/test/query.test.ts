import type { CrmRecord, QueryRequest, ResolvedFilterNode, ResolvedFilterValue } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock, MockConnector } from '../src/index.js';

type Scalar = Exclude<ResolvedFilterValue, { kind: 'list' }>;
const compare = (name: string, op: Extract<ResolvedFilterNode, { kind: 'comparison' }>['op'], right?: ResolvedFilterValue): ResolvedFilterNode =>
  right === undefined ? { kind: 'comparison', left: { kind: 'field', name }, op } : { kind: 'comparison', left: { kind: 'field', name }, op, right };
const num = (value: number): Scalar => ({ kind: 'number', value });
const str = (value: string): Scalar => ({ kind: 'string', value });

/** Follows cursors to the end; returns every record and the number of pages. */
async function readAll(connector: MockConnector, request: QueryRequest): Promise<{ records: CrmRecord[]; pages: number }> {
  const records: CrmRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    // A cursor that never ends would spin on microtasks and starve vitest's timeout: fail fast instead.
    if (pages > 1000) throw new Error('the connector kept returning cursors: paging does not terminate');
    const page = (await connector.query(request, cursor))._unsafeUnwrap();
    records.push(...page.records);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  return { records, pages };
}

function seededContacts() {
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  const people = [
    { lastName: 'Adams', score: 10, email: 'adams@example.test', status: 'New' },
    { lastName: 'baker', score: 20, email: null, status: 'Active' },
    { lastName: 'Clark', score: 30, email: '', status: 'Active' },
    { lastName: 'Davis', score: null, email: 'davis@example.test', status: 'Inactive' },
    { lastName: 'Evans', score: 20, email: 'evans@example.test', status: 'New' },
  ];
  for (const person of people) {
    crm.insert('contact', person);
    clock.advance(1000);
  }
  return { clock, crm, connector: new MockConnector(crm) };
}

const names = (records: readonly CrmRecord[]) => records.map((record) => record.values.lastName);

describe('MockConnector.query', () => {
  it('reads 5,000 records sharing one timestamp across pages with the keyset, none lost or repeated', async () => {
    const crm = new InMemoryCrm();
    for (let index = 0; index < 5000; index++) crm.insert('contact', { lastName: `L${index}` });
    const connector = new MockConnector(crm);
    const request: QueryRequest = { object: 'contact', fields: ['lastName'], window: { field: 'updatedAt', start: '2024-01-01T00:00:00.000Z', end: '2024-01-01T00:00:00.001Z' }, pageSize: 700 };
    const { records, pages } = await readAll(connector, request);
    expect(pages).toBe(8);
    expect(records).toHaveLength(5000);
    expect(new Set(records.map((record) => record.id)).size).toBe(5000);
    const ids = records.map((record) => record.id);
    expect(ids).toEqual([...ids].sort());
    expect(records[0]?.changedAt).toBe('2024-01-01T00:00:00.000Z');
  });

  it('resumes strictly after (at, id) with window.after, and excludes the window end', async () => {
    const { crm, connector } = seededContacts();
    const ids = crm.records('contact').map((record) => record.id);
    const page = (await connector.query({ object: 'contact', fields: ['lastName'], window: { field: 'updatedAt', start: '2024-01-01T00:00:00.000Z', end: '2024-01-01T00:00:04.000Z', after: { at: '2024-01-01T00:00:01.000Z', id: ids[1] as string } } }))._unsafeUnwrap();
    expect(names(page.records)).toEqual(['Clark', 'Davis']);
  });

  it('returns a record changed during a keyset read on a later page', async () => {
    const { clock, crm, connector } = seededContacts();
    const request: QueryRequest = { object: 'contact', fields: ['lastName'], window: { field: 'updatedAt', start: '2024-01-01T00:00:00.000Z' }, pageSize: 2 };
    const first = (await connector.query(request))._unsafeUnwrap();
    clock.advance(60_000);
    crm.update('contact', first.records[0]?.id as string, { firstName: 'Again' });
    const rest = await readAllFrom(connector, request, first.nextCursor);
    expect(names(rest)).toEqual(['Clark', 'Davis', 'Evans', 'Adams']);
  });

  it('orders by the given keys, nulls first ascending, ties in insertion order', async () => {
    const { connector } = seededContacts();
    const { records } = await readAll(connector, { object: 'contact', fields: ['lastName', 'score'], orderBy: [{ field: 'score', direction: 'asc' }], pageSize: 2 });
    expect(names(records)).toEqual(['Davis', 'Adams', 'baker', 'Evans', 'Clark']);
    const descending = await readAll(connector, { object: 'contact', fields: ['lastName'], orderBy: [{ field: 'lastName', direction: 'desc' }] });
    expect(names(descending.records)).toEqual(['Evans', 'Davis', 'Clark', 'baker', 'Adams']);
  });

  it('reads exactly the asked ids in insertion order, leaving out unknown ones', async () => {
    const { crm, connector } = seededContacts();
    const ids = crm.records('contact').map((record) => record.id);
    const page = (await connector.query({ object: 'contact', fields: ['lastName'], ids: [ids[3] as string, 'CON-404040', ids[0] as string] }))._unsafeUnwrap();
    expect(names(page.records)).toEqual(['Adams', 'Davis']);
    expect(page.nextCursor).toBeUndefined();
  });

  it.each<[string, ResolvedFilterNode, string[]]>([
    ['eq', compare('score', 'eq', num(20)), ['baker', 'Evans']],
    ['ne (null is not different)', compare('score', 'ne', num(20)), ['Adams', 'Clark']],
    ['lt', compare('score', 'lt', num(20)), ['Adams']],
    ['lte', compare('score', 'lte', num(20)), ['Adams', 'baker', 'Evans']],
    ['gt', compare('score', 'gt', num(20)), ['Clark']],
    ['gte', compare('score', 'gte', num(20)), ['baker', 'Clark', 'Evans']],
    ['isEmpty (null or empty text)', compare('email', 'isEmpty'), ['baker', 'Clark']],
    ['isNotEmpty', compare('email', 'isNotEmpty'), ['Adams', 'Davis', 'Evans']],
    ['in', compare('status', 'in', { kind: 'list', items: [str('New'), str('Inactive')] }), ['Adams', 'Davis', 'Evans']],
    ['notIn', compare('status', 'notIn', { kind: 'list', items: [str('New')] }), ['baker', 'Clark', 'Davis']],
    ['startsWith, case-insensitive', compare('lastName', 'startsWith', str('B')), ['baker']],
    ['contains', compare('email', 'contains', str('VIS@')), ['Davis']],
    ['like', compare('lastName', 'like', str('_a%s')), ['Davis']],
    ['eq on text, case-insensitive', compare('lastName', 'eq', str('BAKER')), ['baker']],
    ['a date literal against an instant field', compare('updatedAt', 'gte', { kind: 'date', value: '2024-01-01' }), ['Adams', 'baker', 'Clark', 'Davis', 'Evans']],
    ['a datetime literal', compare('updatedAt', 'gt', { kind: 'datetime', value: '2024-01-01T01:00:02+01:00' }), ['Davis', 'Evans']],
    ['or group', { kind: 'group', op: 'or', items: [compare('score', 'eq', num(10)), compare('score', 'eq', num(30))] }, ['Adams', 'Clark']],
    ['and group', { kind: 'group', op: 'and', items: [compare('score', 'eq', num(20)), compare('status', 'eq', str('New'))] }, ['Evans']],
    ['negated group', { kind: 'group', op: 'and', negated: true, items: [compare('status', 'eq', str('Active'))] }, ['Adams', 'Davis', 'Evans']],
  ])('filters with %s', async (_label, filter, expected) => {
    const { connector } = seededContacts();
    const { records } = await readAll(connector, { object: 'contact', fields: ['lastName'], filter });
    expect(names(records)).toEqual(expected);
  });

  it('pages an order-by snapshot as of the query start: later inserts are not mixed in, deleted records are left out', async () => {
    const { crm, connector } = seededContacts();
    const request: QueryRequest = { object: 'contact', fields: ['lastName'], orderBy: [{ field: 'lastName', direction: 'asc' }], pageSize: 2 };
    const first = (await connector.query(request))._unsafeUnwrap();
    crm.insert('contact', { lastName: 'Aaron' });
    crm.delete('contact', crm.findBy('contact', 'lastName', 'Davis')[0]?.id as string);
    const rest = await readAllFrom(connector, request, first.nextCursor);
    expect([...names(first.records), ...names(rest)]).toEqual(['Adams', 'baker', 'Clark', 'Evans']);
  });

  it('returns serverTime from the CRM clock on every page, and from serverTime()', async () => {
    const { clock, connector } = seededContacts();
    clock.set('2030-02-03T04:05:06.007Z');
    const page = (await connector.query({ object: 'contact', fields: ['lastName'], pageSize: 1 }))._unsafeUnwrap();
    expect(page.serverTime).toBe('2030-02-03T04:05:06.007Z');
    expect((await connector.serverTime())._unsafeUnwrap()).toBe('2030-02-03T04:05:06.007Z');
  });

  it('caps the page size at maxPageSize', async () => {
    const crm = new InMemoryCrm();
    for (let index = 0; index < 30; index++) crm.insert('account', { name: `A${index}` });
    const connector = new MockConnector(crm, { capabilities: { maxPageSize: 10 } });
    const { pages } = await readAll(connector, { object: 'account', fields: ['name'], pageSize: 1000 });
    expect(pages).toBe(3);
  });

  it('refuses unknown objects, unknown fields, too many ids and foreign cursors with clear errors', async () => {
    const { connector } = seededContacts();
    expect((await connector.query({ object: 'spaceship', fields: [] }))._unsafeUnwrapErr()).toMatchObject({ kind: 'not-found', message: expect.stringMatching(/^\[crm-sync\] \[mock\] .*spaceship/) });
    expect((await connector.query({ object: 'contact', fields: ['shoeSize'] }))._unsafeUnwrapErr()).toMatchObject({ kind: 'invalid-request', message: expect.stringContaining("no field 'shoeSize'") });
    expect((await connector.query({ object: 'contact', fields: [], filter: compare('shoe', 'eq', num(1)) }))._unsafeUnwrapErr().kind).toBe('invalid-request');
    const ids = Array.from({ length: 501 }, (_, index) => `CON-${index}`);
    expect((await connector.query({ object: 'contact', fields: [], ids }))._unsafeUnwrapErr().message).toContain('maxIdsPerQuery');
    expect((await connector.query({ object: 'contact', fields: [] }, 'bm90LWEtY3Vyc29y'))._unsafeUnwrapErr().kind).toBe('invalid-request');
  });

  it('counts one API call per contract call', async () => {
    const { crm, connector } = seededContacts();
    await readAll(connector, { object: 'contact', fields: ['lastName'], pageSize: 2 });
    await connector.describe('contact');
    expect(crm.stats.byOperation).toEqual({ query: 3, describe: 1 });
    expect(crm.stats.calls).toBe(4);
  });
});

async function readAllFrom(connector: MockConnector, request: QueryRequest, cursor: string | undefined): Promise<CrmRecord[]> {
  const records: CrmRecord[] = [];
  let next = cursor;
  for (let pages = 0; next !== undefined; pages++) {
    if (pages > 1000) throw new Error('the connector kept returning cursors: paging does not terminate');
    const page = (await connector.query(request, next))._unsafeUnwrap();
    records.push(...page.records);
    next = page.nextCursor;
  }
  return records;
}
