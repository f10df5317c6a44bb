import { describe, expect, it } from 'vitest';
import { defineCapabilities, f, resolveFilter, v, type FilterNode, type FilterProfile } from '../../src/index.js';
import { contact } from '../fixtures/contact.js';

const capabilities = defineCapabilities({ filterOperators: ['in', 'startsWith'], negatedGroups: true });
const base = { description: contact, capabilities, timeZone: 'Europe/Amsterdam', now: new Date('2024-03-31T12:00:00.000Z') };
const resolve = (filter: FilterNode, profile: FilterProfile = 'portable', variables: Record<string, number | string> = {}) =>
  resolveFilter(filter, { ...base, profile, variables });

describe('resolveFilter', () => {
  it("keeps the seed's date on a date-only field and turns it into Amsterdam midnight on an instant field", () => {
    expect(resolve(f.gte('LastActivityDate', v.date('2012-11-01')))._unsafeUnwrap()).toEqual({
      kind: 'comparison',
      left: { kind: 'field', name: 'LastActivityDate' },
      op: 'gte',
      right: { kind: 'date', value: '2012-11-01' },
    });
    expect(resolve(f.gte('LastModifiedDate', v.date('2012-11-01')))._unsafeUnwrap()).toMatchObject({
      right: { kind: 'datetime', value: '2012-10-31T23:00:00.000Z' },
    });
  });

  it('uses the summer offset for a date after the DST change and the job zone for date-times on date fields', () => {
    expect(resolve(f.gte('LastModifiedDate', v.date('2024-04-01')))._unsafeUnwrap()).toMatchObject({
      right: { value: '2024-03-31T22:00:00.000Z' },
    });
    // 23:30Z on 31 March is already 1 April in Amsterdam.
    expect(resolve(f.gte('LastActivityDate', v.datetime('2024-03-31T23:30:00Z')))._unsafeUnwrap()).toMatchObject({
      right: { kind: 'date', value: '2024-04-01' },
    });
  });

  it('writes floating fields as wall-clock digits in the job zone', () => {
    expect(resolve(f.gte('Meeting', v.datetime('2024-03-31T10:00:00Z')))._unsafeUnwrap()).toMatchObject({
      right: { kind: 'datetime', value: '2024-03-31T12:00:00.000Z' },
    });
    expect(resolve(f.gte('Meeting', v.date('2024-03-31')))._unsafeUnwrap()).toMatchObject({
      right: { kind: 'datetime', value: '2024-03-31T00:00:00.000Z' },
    });
  });

  it('evaluates expressions with variables, the run time and the zone', () => {
    const resolved = resolve(f.and(f.gte('Score', v.expr('vars.min * 2')), f.gte('LastActivityDate', v.expr('daysAgo(1)'))), 'portable', {
      min: 4,
    })._unsafeUnwrap();
    expect(resolved).toMatchObject({
      kind: 'group',
      op: 'and',
      items: [{ right: { kind: 'number', value: 8 } }, { right: { kind: 'date', value: '2024-03-30' } }],
    });
  });

  it('reports an expression whose value does not fit the field, at its path', () => {
    const error = resolve(f.and(f.gt('Score', 1), f.gte('LastModifiedDate', v.expr('vars.min'))), 'portable', { min: 4 })._unsafeUnwrapErr();
    expect(error.violations).toEqual([expect.objectContaining({ path: 'filter.items[1].right', rule: 'invalid-value' })]);
    const missing = resolve(f.gt('Score', v.expr('vars.nope')))._unsafeUnwrapErr();
    expect(missing.violations[0]).toMatchObject({ path: 'filter.right', rule: 'invalid-value' });
  });

  it('returns every validation violation in one error, one per line', () => {
    const error = resolve(f.mixed([f.eq('Nope', 1), f.eq('Score', 'x')], ['and']))._unsafeUnwrapErr();
    expect(error.kind).toBe('invalid-filter');
    expect(error.violations).toHaveLength(2);
    expect(error.message.split('\n')).toEqual([
      '[crm-sync] [filter] the filter is not valid (2 problems):',
      expect.stringMatching(/^- filter\.items\[0\]\.left: .*\(unknown-field\)$/),
      expect.stringMatching(/^- filter\.items\[1\]\.right: .*\(numeric-or-null-comparison\)$/),
    ]);
  });

  it('refuses a mixed group in portable and nests it by precedence in native', () => {
    const mixed = f.mixed([f.gt('Score', 1), f.lt('Score', 5), f.isEmpty('Email'), f.gt('Revenue', 3)], ['and', 'or', 'and']);
    expect(resolve(mixed).isErr()).toBe(true);
    const resolved = resolve(mixed, 'native')._unsafeUnwrap();
    expect(resolved).toMatchObject({
      kind: 'group',
      op: 'or',
      items: [
        { kind: 'group', op: 'and', items: [{ op: 'gt' }, { op: 'lt' }] },
        { kind: 'group', op: 'and', items: [{ op: 'isEmpty' }, { op: 'gt' }] },
      ],
    });
    const single = resolve(f.mixed([f.gt('Score', 1), f.lt('Score', 5), f.isEmpty('Email')], ['or', 'and']), 'native')._unsafeUnwrap();
    expect(single).toMatchObject({ op: 'or', items: [{ op: 'gt' }, { kind: 'group', op: 'and' }] });
  });

  it('keeps negation and lists in the native profile', () => {
    expect(resolve(f.not(f.and(f.in('Score', [1, 2]))), 'native')._unsafeUnwrap()).toEqual({
      kind: 'group',
      op: 'and',
      negated: true,
      items: [{ kind: 'comparison', left: { kind: 'field', name: 'Score' }, op: 'in', right: { kind: 'list', items: [v.number(1), v.number(2)] } }],
    });
  });

  it('refuses an unknown time zone', () => {
    const error = resolveFilter(f.gt('Score', 1), { ...base, profile: 'portable', timeZone: 'Mars/Olympus' })._unsafeUnwrapErr();
    expect(error.violations[0]).toMatchObject({ path: 'timeZone', rule: 'invalid-value' });
    expect(error.message).toContain('Europe/Amsterdam');
  });
});
