import { describe, expect, it } from 'vitest';
import { f, v } from '../../src/index.js';

describe('filter builder', () => {
  it('builds uniform groups with one join per gap', () => {
    expect(f.and(f.gt('Score', 1), f.lt('Score', 9), f.isEmpty('Email'))).toEqual({
      kind: 'group',
      joins: ['and', 'and'],
      items: [
        { kind: 'comparison', left: { kind: 'field', name: 'Score' }, op: 'gt', right: { kind: 'number', value: 1 } },
        { kind: 'comparison', left: { kind: 'field', name: 'Score' }, op: 'lt', right: { kind: 'number', value: 9 } },
        { kind: 'comparison', left: { kind: 'field', name: 'Email' }, op: 'isEmpty' },
      ],
    });
    expect(f.or(f.eq('Score', 1), f.eq('Score', 2)).joins).toEqual(['or']);
  });

  it('turns plain JavaScript values into filter values', () => {
    expect(f.eq('A', 'x').right).toEqual({ kind: 'string', value: 'x' });
    expect(f.eq('A', true).right).toEqual({ kind: 'boolean', value: true });
    expect(f.eq('A', new Date(Date.UTC(2012, 10, 1))).right).toEqual({ kind: 'datetime', value: '2012-11-01T00:00:00.000Z' });
    expect(f.in('A', [1, 'b']).right).toEqual({ kind: 'list', items: [{ kind: 'number', value: 1 }, { kind: 'string', value: 'b' }] });
  });

  it('provides value helpers, normalising date-times to UTC instants', () => {
    expect(v.date('2012-11-01')).toEqual({ kind: 'date', value: '2012-11-01' });
    expect(v.datetime('2012-11-01T01:00:00+01:00')).toEqual({ kind: 'datetime', value: '2012-11-01T00:00:00.000Z' });
    expect(v.datetime('not a date')).toEqual({ kind: 'datetime', value: 'not a date' });
    expect(v.expr('daysAgo(30)')).toEqual({ kind: 'expression', source: 'daysAgo(30)' });
    expect(v.number(3)).toEqual({ kind: 'number', value: 3 });
    expect(v.string('s')).toEqual({ kind: 'string', value: 's' });
    expect(v.boolean(false)).toEqual({ kind: 'boolean', value: false });
  });

  it('negates groups and wraps a negated comparison in a group', () => {
    expect(f.not(f.and(f.gt('Score', 1))).negated).toBe(true);
    const wrapped = f.not(f.gt('Score', 1));
    expect(wrapped).toMatchObject({ kind: 'group', negated: true, joins: [] });
    expect(wrapped.items).toHaveLength(1);
  });

  it('expresses flat condition lists with explicit joins', () => {
    const mixed = f.mixed([f.gt('Score', 1), f.lt('Score', 9), f.isEmpty('Email')], ['and', 'or']);
    expect(mixed.joins).toEqual(['and', 'or']);
    expect(mixed.items).toHaveLength(3);
  });

  it('builds emptiness and text operators', () => {
    expect(f.isNotEmpty('Email')).toEqual({ kind: 'comparison', left: { kind: 'field', name: 'Email' }, op: 'isNotEmpty' });
    expect(f.startsWith('LastName', 'Va').op).toBe('startsWith');
    expect(f.contains('LastName', 'an').op).toBe('contains');
    expect(f.like('LastName', 'V_n%').op).toBe('like');
    expect(f.notIn('Score', [1]).op).toBe('notIn');
    expect(f.ne('Score', 1).op).toBe('ne');
    expect(f.lte('Score', 1).op).toBe('lte');
    expect(f.gte('Score', 1).op).toBe('gte');
  });
});
