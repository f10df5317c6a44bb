import { describe, expect, it } from 'vitest';
import type { FieldDescription, ObjectDescription, ResolvedFilterNode } from '@crm-sync/sdk';
import { collectionPath, compileODataFilter, compileQueryOptions, chunkIdsForUrl } from '../src/odata-filter.js';
import { parseODataFilter, type ODataExpression } from '../src/emulator/odata-parser.js';

function field(name: string, type: FieldDescription['type'], extra: Partial<FieldDescription> = {}): FieldDescription {
  return { name, type, nullable: true, createable: true, updateable: true, filterable: true, sortable: true, externalId: false, primaryKey: false, required: false, ...extra };
}

const contact: ObjectDescription = {
  name: 'contact',
  queryable: true,
  createable: true,
  updateable: true,
  deletable: true,
  custom: false,
  primaryKey: 'contactid',
  fields: [
    field('contactid', 'id', { primaryKey: true }),
    field('lastname', 'string'),
    field('numberofchildren', 'integer'),
    field('birthdate', 'date', { timeSemantics: 'date-only' }),
    field('modifiedon', 'datetime', { timeSemantics: 'instant' }),
    field('crm_preferredcalltime', 'datetime', { timeSemantics: 'floating' }),
    field('donotemail', 'boolean'),
    field('preferredcontactmethodcode', 'picklist'),
  ],
  vendor: { entitySetName: 'contacts', logicalName: 'contact', auditEnabled: true, changeTrackingEnabled: true, alternateKeys: [] },
};

/** What the URL decodes to on the server: split on '&', percent-decode each value (no '+' as space). */
function serverFilter(path: string): string {
  const query = path.slice(path.indexOf('?') + 1);
  const part = query.split('&').find((item) => item.startsWith('$filter=')) ?? '';
  return decodeURIComponent(part.slice('$filter='.length));
}

/** Replaces every literal value by a placeholder, keeping the tree's shape. */
function shape(expression: ODataExpression): unknown {
  switch (expression.kind) {
    case 'and':
    case 'or':
      return { kind: expression.kind, left: shape(expression.left), right: shape(expression.right) };
    case 'not':
      return { kind: 'not', operand: shape(expression.operand) };
    case 'compare':
      return { kind: 'compare', op: expression.op, property: expression.property, type: expression.value.type };
    case 'text-function':
      return { kind: expression.kind, name: expression.name, property: expression.property };
    case 'in':
      return { kind: 'in', property: expression.property, count: expression.values.length };
    case 'constant':
      return expression;
  }
}

function compileThroughUrl(filter: ResolvedFilterNode): ODataExpression {
  const options = compileQueryOptions(contact, { fields: ['lastname'], filter });
  const path = collectionPath('contacts', options._unsafeUnwrap());
  return parseODataFilter(serverFilter(path));
}

const hostileValues = ["O'Brien", "''", "a' or lastname ne 'x", 'a&$top=1', 'x#frag', 'a+b', 'a/b?c=d', 'question?', '100%', '%27', 'Zoë 東京 🙂', '\\', "back\\'slash", '"quoted"', ') or (1 eq 1', 'nul\u0000byte', 'rtl\u202emark'];

const stringComparison = (value: string): ResolvedFilterNode => ({ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'eq', right: { kind: 'string', value } });

describe('OData $filter compilation', () => {
  it('round-trips every hostile string value to the same literal and the same structure as a harmless one', () => {
    const harmless = shape(compileThroughUrl(stringComparison('Smith')));
    for (const value of hostileValues) {
      const parsed = compileThroughUrl(stringComparison(value));
      expect(shape(parsed)).toEqual(harmless);
      expect(parsed).toMatchObject({ kind: 'compare', value: { type: 'string', value } });
    }
  });

  it('keeps hostile values inert inside nested groups, negation, In and text functions', () => {
    const build = (value: string): ResolvedFilterNode => ({
      kind: 'group',
      op: 'or',
      items: [
        { kind: 'group', op: 'and', items: [stringComparison(value), { kind: 'comparison', left: { kind: 'field', name: 'numberofchildren' }, op: 'gte', right: { kind: 'number', value: 2 } }] },
        { kind: 'group', op: 'and', negated: true, items: [{ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'isEmpty' }] },
        { kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'in', right: { kind: 'list', items: [{ kind: 'string', value }, { kind: 'string', value: 'b' }] } },
        { kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'startsWith', right: { kind: 'string', value } },
        { kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'notIn', right: { kind: 'list', items: [{ kind: 'string', value }] } },
      ],
    });
    const harmless = shape(compileThroughUrl(build('plain')));
    for (const value of hostileValues) {
      const parsed = compileThroughUrl(build(value));
      expect(shape(parsed)).toEqual(harmless);
      expect(JSON.stringify(parsed)).toContain(JSON.stringify(value).slice(1, -1));
    }
  });

  it('compiles every comparison shape with typed literals', () => {
    const cases: [ResolvedFilterNode, string][] = [
      [{ kind: 'comparison', left: { kind: 'field', name: 'numberofchildren' }, op: 'lt', right: { kind: 'number', value: 3 } }, 'numberofchildren lt 3'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'numberofchildren' }, op: 'lte', right: { kind: 'number', value: -1 } }, 'numberofchildren le -1'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'modifiedon' }, op: 'gte', right: { kind: 'datetime', value: '2012-11-01T00:00:00.000Z' } }, 'modifiedon ge 2012-11-01T00:00:00.000Z'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'modifiedon' }, op: 'gt', right: { kind: 'date', value: '2012-11-01' } }, 'modifiedon gt 2012-11-01T00:00:00Z'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'birthdate' }, op: 'ne', right: { kind: 'date', value: '1990-02-03' } }, 'birthdate ne 1990-02-03'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'crm_preferredcalltime' }, op: 'eq', right: { kind: 'datetime', value: '2024-03-31T02:30:00.000' } }, 'crm_preferredcalltime eq 2024-03-31T02:30:00.000Z'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'donotemail' }, op: 'eq', right: { kind: 'boolean', value: true } }, 'donotemail eq true'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'preferredcontactmethodcode' }, op: 'eq', right: { kind: 'string', value: '2' } }, 'preferredcontactmethodcode eq 2'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'contactid' }, op: 'eq', right: { kind: 'string', value: 'AAAAAAAA-0000-0000-0000-000000000001' } }, 'contactid eq aaaaaaaa-0000-0000-0000-000000000001'],
      [{ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'isNotEmpty' }, 'lastname ne null'],
    ];
    for (const [node, expected] of cases) {
      const text = compileODataFilter(node, contact)._unsafeUnwrap();
      expect(text).toBe(expected);
      expect(() => parseODataFilter(text)).not.toThrow();
    }
  });

  it('refuses a value with a lone surrogate instead of throwing while percent-encoding it', () => {
    for (const op of ['eq', 'startsWith'] as const) {
      const result = compileODataFilter({ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op, right: { kind: 'string', value: 'bad\uD800' } }, contact);
      expect(result._unsafeUnwrapErr().message).toContain('lone UTF-16 surrogate');
    }
  });

  it('refuses unknown fields, malformed GUIDs, mistyped literals and like, naming the node', () => {
    const unknown = compileODataFilter({ kind: 'comparison', left: { kind: 'field', name: 'lastname) or (x' }, op: 'eq', right: { kind: 'string', value: 'a' } }, contact);
    expect(unknown._unsafeUnwrapErr()).toMatchObject({ kind: 'invalid-request', message: expect.stringContaining("[crm-sync] [dynamics] filter: 'lastname) or (x' is not a field") });
    const guid = compileODataFilter({ kind: 'comparison', left: { kind: 'field', name: 'contactid' }, op: 'eq', right: { kind: 'string', value: "x' or 1 eq 1" } }, contact);
    expect(guid._unsafeUnwrapErr().message).toContain('GUID');
    const typed = compileODataFilter({ kind: 'group', op: 'and', items: [{ kind: 'comparison', left: { kind: 'field', name: 'numberofchildren' }, op: 'eq', right: { kind: 'string', value: '1 or 1 eq 1' } }] }, contact);
    expect(typed._unsafeUnwrapErr().message).toContain('filter.items[0]');
    const like = compileODataFilter({ kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'like', right: { kind: 'string', value: 'a%' } }, contact);
    expect(like._unsafeUnwrapErr().message).toContain('startsWith');
  });

  it('compiles the window keyset and orders by (field, primary key)', () => {
    const options = compileQueryOptions(contact, {
      fields: ['lastname'],
      window: { field: 'modifiedon', start: '2024-01-01T00:00:00.000Z', end: '2024-02-01T00:00:00.000Z', after: { at: '2024-01-05T10:00:00.000Z', id: '00000000-0000-0000-0000-000000000009' } },
    })._unsafeUnwrap();
    expect(options.orderBy).toBe('modifiedon asc,contactid asc');
    expect(options.select).toBe('lastname,contactid,modifiedon');
    const parsed = parseODataFilter(options.filter as string);
    expect(shape(parsed)).toEqual({
      kind: 'and',
      left: { kind: 'and', left: { kind: 'compare', op: 'ge', property: 'modifiedon', type: 'datetime' }, right: { kind: 'compare', op: 'lt', property: 'modifiedon', type: 'datetime' } },
      right: {
        kind: 'or',
        left: { kind: 'compare', op: 'gt', property: 'modifiedon', type: 'datetime' },
        right: { kind: 'and', left: { kind: 'compare', op: 'eq', property: 'modifiedon', type: 'datetime' }, right: { kind: 'compare', op: 'gt', property: 'contactid', type: 'guid' } },
      },
    });
  });

  it('chunks ids so that each In list stays within the URL budget', () => {
    const ids = Array.from({ length: 1000 }, (_, index) => `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`);
    const chunks = chunkIdsForUrl(ids, 4000);
    expect(chunks.flat()).toEqual(ids);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(encodeURIComponent(JSON.stringify(chunk)).length).toBeLessThanOrEqual(4000 + 10);
    const options = compileQueryOptions(contact, { fields: [], ids: chunks[0] as string[] })._unsafeUnwrap();
    const parsed = parseODataFilter(options.filter as string);
    expect(parsed).toMatchObject({ kind: 'in', property: 'contactid', values: chunks[0] });
  });
});

describe('OData $filter parser', () => {
  it('applies OData precedence: not over and over or', () => {
    expect(shape(parseODataFilter("a eq 1 or b eq 'x' and not c eq null"))).toEqual({
      kind: 'or',
      left: { kind: 'compare', op: 'eq', property: 'a', type: 'number' },
      right: { kind: 'and', left: { kind: 'compare', op: 'eq', property: 'b', type: 'string' }, right: { kind: 'not', operand: { kind: 'compare', op: 'eq', property: 'c', type: 'null' } } },
    });
  });

  it('accepts quoted and bare GUIDs alike and reports syntax errors with a position', () => {
    expect(parseODataFilter("contactid eq '49B0BE2E-D01C-ED11-B83E-000D3A572421'")).toEqual(parseODataFilter('contactid eq 49b0be2e-d01c-ed11-b83e-000d3a572421'));
    expect(() => parseODataFilter("lastname eq 'open")).toThrow(/Unterminated string literal at position 12/);
    expect(() => parseODataFilter('lastname eq')).toThrow(/Expected a literal/);
    expect(() => parseODataFilter('(lastname eq 1')).toThrow(/Expected '\)'/);
  });
});
