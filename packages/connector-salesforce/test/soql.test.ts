import { parseQuery } from '@jetstreamapp/soql-parser-js';
import type { ObjectDescription, QueryRequest, ResolvedFilterNode, ResolvedFilterValue } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { salesforceEmulatorSchemas } from '../src/emulator/index.js';
import { compileSoql, escapeSoqlString } from '../src/index.js';

const contactSchema = salesforceEmulatorSchemas().find((s) => s.name === 'Contact')!;
const contact: ObjectDescription = {
  name: 'Contact',
  queryable: true,
  createable: true,
  updateable: true,
  deletable: true,
  custom: false,
  primaryKey: 'Id',
  fields: contactSchema.fields,
};

function compile(request: Partial<QueryRequest>): string {
  return compileSoql(contact, { object: 'Contact', fields: ['LastName'], ...request })._unsafeUnwrap();
}

/** The parsed structure with every literal replaced by its type, so only the shape is compared. */
function shapeOf(soql: string): unknown {
  return JSON.parse(
    JSON.stringify(parseQuery(soql), (key, value: unknown) => (key === 'value' ? (Array.isArray(value) ? value.map(() => '?') : '?') : value)),
  );
}

const str = (value: string): ResolvedFilterValue => ({ kind: 'string', value });
const cmp = (field: string, op: Extract<ResolvedFilterNode, { kind: 'comparison' }>['op'], right?: ResolvedFilterValue): ResolvedFilterNode => ({
  kind: 'comparison',
  left: { kind: 'field', name: field },
  op,
  ...(right ? { right } : {}),
});

const HOSTILE = [
  "O'Brien",
  "x' OR Name != 'y",
  'back\\slash\\',
  "trailing backslash \\' OR Id != null --",
  'line\nbreak\r\ttab',
  '100% _under_score',
  'üñíçødé ☃ 𝄞 "quoted"',
  "') OR (Id != null",
];

const SHAPES: Record<string, (value: string) => ResolvedFilterNode> = {
  eq: (v) => cmp('LastName', 'eq', str(v)),
  ne: (v) => cmp('Email', 'ne', str(v)),
  lt: (v) => cmp('LastName', 'lt', str(v)),
  gte: (v) => cmp('LastName', 'gte', str(v)),
  in: (v) => cmp('LastName', 'in', { kind: 'list', items: [{ kind: 'string', value: v }, { kind: 'string', value: 'b' }] }),
  notIn: (v) => cmp('LastName', 'notIn', { kind: 'list', items: [{ kind: 'string', value: v }] }),
  startsWith: (v) => cmp('LastName', 'startsWith', str(v)),
  contains: (v) => cmp('Email', 'contains', str(v)),
  like: (v) => cmp('Email', 'like', str(v)),
  'and group': (v) => ({ kind: 'group', op: 'and', items: [cmp('LastName', 'eq', str(v)), cmp('Email', 'isNotEmpty')] }),
  'or group': (v) => ({ kind: 'group', op: 'or', items: [cmp('LastName', 'eq', str(v)), cmp('Score__c', 'gt', { kind: 'number', value: 3 })] }),
  'nested negated group': (v) => ({
    kind: 'group',
    op: 'and',
    items: [cmp('Birthdate', 'gte', { kind: 'date', value: '2012-11-01' }), { kind: 'group', op: 'or', negated: true, items: [cmp('FirstName', 'eq', str(v)), cmp('Email', 'isEmpty')] }],
  }),
};

describe('compileSoql', () => {
  for (const [shape, build] of Object.entries(SHAPES)) {
    it(`keeps the parsed structure of a '${shape}' filter for every hostile string value`, () => {
      const harmless = shapeOf(compile({ filter: build('harmless') }));
      for (const value of HOSTILE) expect(shapeOf(compile({ filter: build(value) })), value).toEqual(harmless);
    });
  }

  it('round-trips hostile values: the parsed literal unescapes to the original string', () => {
    for (const value of HOSTILE) {
      const parsed = parseQuery(compile({ filter: cmp('LastName', 'eq', str(value)) })) as { where?: { left?: { value?: string } } };
      const literal = parsed.where?.left?.value ?? '';
      const unescaped = literal.slice(1, -1).replace(/\\(.)/gs, (_m, ch: string) => ({ n: '\n', r: '\r', t: '\t' })[ch] ?? ch);
      expect(unescaped).toBe(value);
    }
  });

  it('escapes LIKE wildcards for startsWith and contains but keeps them for like', () => {
    expect(compile({ filter: cmp('LastName', 'startsWith', str('50%_off')) })).toContain("LastName LIKE '50\\%\\_off%'");
    expect(compile({ filter: cmp('LastName', 'like', str('50%_off')) })).toContain("LastName LIKE '50%_off'");
  });

  it('writes dates and date-times as unquoted literals matched to the field type', () => {
    const soql = compile({
      filter: {
        kind: 'group',
        op: 'and',
        items: [
          cmp('Birthdate', 'gte', { kind: 'date', value: '2012-11-01' }),
          cmp('LastModifiedDate', 'lt', { kind: 'date', value: '2012-11-02' }),
          cmp('Birthdate', 'lt', { kind: 'datetime', value: '2020-01-01T10:00:00.000Z' }),
        ],
      },
    });
    expect(soql).toContain('Birthdate >= 2012-11-01 AND LastModifiedDate < 2012-11-02T00:00:00.000Z AND Birthdate < 2020-01-01');
    expect(() => parseQuery(soql)).not.toThrow();
  });

  it('compiles a window with keyset into (field, Id) order and a strict tie-break', () => {
    const soql = compile({
      window: { field: 'LastModifiedDate', start: '2024-01-01T00:00:00.000Z', end: '2024-01-02T00:00:00.000Z', after: { at: '2024-01-01T05:00:00.000Z', id: '0031y000000000BAAQ' } },
    });
    expect(soql).toBe(
      "SELECT Id, LastName, LastModifiedDate FROM Contact WHERE LastModifiedDate >= 2024-01-01T00:00:00.000Z AND LastModifiedDate < 2024-01-02T00:00:00.000Z AND (LastModifiedDate > 2024-01-01T05:00:00.000Z OR (LastModifiedDate = 2024-01-01T05:00:00.000Z AND Id > '0031y000000000BAAQ')) ORDER BY LastModifiedDate ASC, Id ASC",
    );
    expect(() => parseQuery(soql)).not.toThrow();
  });

  it('compiles ids to Id IN with canonical 18-character ids', () => {
    const soql = compile({ ids: ['0031y000000000B', '0031y000000000CAAQ'] });
    expect(soql).toContain("WHERE Id IN ('0031y000000000BAAQ', '0031y000000000CAAQ')");
    expect(() => parseQuery(soql)).not.toThrow();
  });

  it('refuses an id that is not a Salesforce id before it reaches the query', () => {
    const result = compileSoql(contact, { object: 'Contact', fields: [], ids: ["003' OR Id != '"] });
    expect(result._unsafeUnwrapErr().message).toContain('ids[0]');
  });

  it('refuses a field the object does not have, naming it and the object', () => {
    const result = compileSoql(contact, { object: 'Contact', fields: ['LastName, (SELECT Id FROM Cases)'] });
    expect(result._unsafeUnwrapErr().message).toMatch(/does not exist on Contact/);
  });

  it('refuses non-finite numbers', () => {
    expect(compileSoql(contact, { object: 'Contact', fields: [], filter: cmp('Score__c', 'gt', { kind: 'number', value: Number.NaN }) }).isErr()).toBe(true);
  });

  it('keeps order-by keys in list order with their directions', () => {
    expect(compile({ orderBy: [{ field: 'LastName', direction: 'desc' }, { field: 'Score__c', direction: 'asc' }] })).toMatch(/ORDER BY LastName DESC, Score__c ASC$/);
  });

  it('escapes quotes, backslashes and control characters', () => {
    expect(escapeSoqlString("a'b\\c\nd\"e")).toBe("a\\'b\\\\c\\nd\\\"e");
  });
});
