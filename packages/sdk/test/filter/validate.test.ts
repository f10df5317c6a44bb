import { describe, expect, it } from 'vitest';
import { defineCapabilities, f, v, validateFilter, type FilterNode } from '../../src/index.js';
import { contact } from '../fixtures/contact.js';

const capabilities = defineCapabilities({});
const richCapabilities = defineCapabilities({ filterOperators: ['in', 'notIn', 'startsWith', 'contains', 'like'], negatedGroups: true });
const portable = (filter: FilterNode, path?: string) =>
  validateFilter(filter, { description: contact, profile: 'portable', capabilities, ...(path ? { path } : {}) });
const native = (filter: FilterNode, caps = richCapabilities) =>
  validateFilter(filter, { description: contact, profile: 'native', capabilities: caps });

describe('validateFilter, portable profile', () => {
  it("accepts the seed's example on a date field and on a date-time field", () => {
    expect(portable(f.gte('LastActivityDate', v.date('2012-11-01')))).toEqual([]);
    expect(portable(f.gte('LastModifiedDate', v.date('2012-11-01')))).toEqual([]);
    expect(portable(f.and(f.gte('LastModifiedDate', v.expr('daysAgo(30)')), f.isNotEmpty('Email')))).toEqual([]);
  });

  it('rule 1: refuses a level that mixes AND and OR, naming the joins', () => {
    const violations = portable(f.and(f.gt('Score', 1), f.mixed([f.gt('Score', 2), f.lt('Score', 5), f.isEmpty('Email')], ['and', 'or'])));
    expect(violations).toEqual([expect.objectContaining({ path: 'filter.items[1].joins', rule: 'single-operator-per-level' })]);
  });

  it('rule 2: refuses a negated group', () => {
    const violations = portable(f.and(f.gt('Score', 1), f.not(f.or(f.lt('Score', 0)))));
    expect(violations).toEqual([expect.objectContaining({ path: 'filter.items[1]', rule: 'no-negated-group' })]);
  });

  it('rule 3: refuses string values, naming the right-hand side', () => {
    const violations = portable(f.and(f.gt('Score', 1), f.eq('Score', 'ten')));
    expect(violations).toEqual([expect.objectContaining({ path: 'filter.items[1].right', rule: 'numeric-or-null-comparison' })]);
  });

  it('rule 3: refuses comparing a text field, but allows is-empty on it', () => {
    expect(portable(f.eq('LastName', v.number(1)))).toEqual([
      expect.objectContaining({ path: 'filter.left', rule: 'numeric-or-null-comparison' }),
    ]);
    expect(portable(f.isEmpty('LastName'))).toEqual([]);
  });

  it('rule 3: refuses an expression that is a bare string, and a field on the right', () => {
    expect(portable(f.gt('Score', v.expr("'abc'")))[0]).toMatchObject({ path: 'filter.right', rule: 'invalid-value' });
    expect(portable(f.gt('Score', f.field('Revenue')))[0]).toMatchObject({ path: 'filter.right', rule: 'numeric-or-null-comparison' });
  });

  it('rule 4: refuses a left-hand side that is not a field', () => {
    const filter: FilterNode = { kind: 'comparison', left: v.number(3), op: 'gt', right: v.number(1) };
    expect(portable(filter)).toEqual([expect.objectContaining({ path: 'filter.left', rule: 'left-side-field' })]);
  });

  it('rule 5: refuses a path into a related object', () => {
    expect(portable(f.gt('Account.NumberOfEmployees', 10))).toEqual([
      expect.objectContaining({ path: 'filter.left', rule: 'no-joins' }),
    ]);
  });

  it('refuses unknown fields and suggests the right spelling', () => {
    const [violation] = portable(f.gt('score', 1));
    expect(violation).toMatchObject({ path: 'filter.left', rule: 'unknown-field' });
    expect(violation!.message).toContain('did you mean "Score"');
  });

  it('refuses fields the CRM cannot filter on', () => {
    expect(portable(f.isEmpty('Description'))).toEqual([expect.objectContaining({ path: 'filter.left', rule: 'not-filterable' })]);
  });

  it('refuses non-portable operators', () => {
    expect(portable(f.in('Score', [1, 2]))).toEqual([expect.objectContaining({ path: 'filter.op', rule: 'unsupported-operator' })]);
  });

  it('refuses malformed values: bad dates, bad expressions, type mismatches', () => {
    expect(portable(f.gte('LastActivityDate', v.date('2012-13-01')))[0]).toMatchObject({ rule: 'invalid-value', path: 'filter.right' });
    const [bad] = portable(f.gte('LastActivityDate', v.expr('daysAgo(30')));
    expect(bad).toMatchObject({ rule: 'invalid-value', path: 'filter.right' });
    expect(bad!.message).toContain('position 10');
    expect(portable(f.gte('LastActivityDate', 5))[0]).toMatchObject({ rule: 'invalid-value', path: 'filter.right' });
    expect(portable(f.gte('Score', v.date('2012-11-01')))[0]).toMatchObject({ rule: 'invalid-value', path: 'filter.right' });
  });

  it('reports every violation at once, under a job-file path prefix', () => {
    const violations = portable(f.mixed([f.eq('Nope', 1), f.not(f.and(f.eq('Score', 'x')))], ['and']), 'jobs[0].filter');
    expect(violations.map((violation) => `${violation.path} ${violation.rule}`)).toEqual([
      'jobs[0].filter.items[0].left unknown-field',
      'jobs[0].filter.items[1] no-negated-group',
      'jobs[0].filter.items[1].items[0].right numeric-or-null-comparison',
    ]);
  });

  it('refuses malformed groups', () => {
    expect(portable({ kind: 'group', items: [f.gt('Score', 1), f.gt('Score', 2)], joins: [] })[0]).toMatchObject({
      rule: 'malformed',
      path: 'filter.joins',
    });
    expect(portable(f.and())[0]).toMatchObject({ rule: 'malformed', path: 'filter' });
  });
});

describe('validateFilter, native profile', () => {
  it('allows the operators the connector declares, with strings and lists', () => {
    expect(native(f.and(f.startsWith('LastName', 'Va'), f.in('Score', [1, 2]), f.eq('DoNotCall', false)))).toEqual([]);
  });

  it('refuses operators the connector does not declare', () => {
    expect(native(f.like('LastName', 'V%'), capabilities)).toEqual([expect.objectContaining({ rule: 'unsupported-operator', path: 'filter.op' })]);
  });

  it('allows mixed joins, and negation only when declared', () => {
    expect(native(f.mixed([f.gt('Score', 1), f.lt('Score', 5), f.isEmpty('Email')], ['and', 'or']))).toEqual([]);
    expect(native(f.not(f.and(f.gt('Score', 1))))).toEqual([]);
    expect(native(f.not(f.and(f.gt('Score', 1))), capabilities)).toEqual([expect.objectContaining({ rule: 'no-negated-group' })]);
  });

  it('still checks that values fit the field', () => {
    expect(native(f.eq('Score', 'x'))[0]).toMatchObject({ rule: 'invalid-value', path: 'filter.right' });
    expect(native(f.in('Score', [1, 'x']))[0]).toMatchObject({ rule: 'invalid-value', path: 'filter.right.items[1]' });
    expect(native(f.startsWith('Score', 'x'))[0]).toMatchObject({ rule: 'invalid-value' });
    expect(native(f.in('Score', []))[0]).toMatchObject({ rule: 'invalid-value', path: 'filter.right' });
  });
});
