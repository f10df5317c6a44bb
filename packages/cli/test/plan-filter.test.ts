import type { ResolvedFilterNode } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { readableQueryDescription, renderFilter } from '../src/report/plan-filter.js';

const field = (name: string) => ({ kind: 'field', name }) as const;

describe('a dry run plan shows its filter as text', () => {
  it('writes nested groups in parentheses, negation, lists and quoted strings', () => {
    const filter: ResolvedFilterNode = {
      kind: 'group',
      op: 'or',
      items: [
        { kind: 'group', op: 'and', items: [{ kind: 'comparison', left: field('score'), op: 'gt', right: { kind: 'number', value: 10 } }, { kind: 'comparison', left: field('email'), op: 'isNotEmpty' }] },
        { kind: 'comparison', left: field('status'), op: 'in', right: { kind: 'list', items: [{ kind: 'string', value: 'New' }, { kind: 'string', value: 'Active' }] } },
        { kind: 'group', op: 'and', negated: true, items: [{ kind: 'comparison', left: field('birthDate'), op: 'lte', right: { kind: 'date', value: '1990-01-01' } }] },
      ],
    };
    expect(renderFilter(filter)).toBe('(score > 10 and email is not empty) or status in ("New", "Active") or not (birthDate <= 1990-01-01)');
  });

  it('replaces the JSON in a description, even with braces and quotes inside a string value', () => {
    const filter: ResolvedFilterNode = { kind: 'comparison', left: field('lastName'), op: 'eq', right: { kind: 'string', value: 'a "}{" b; c' } };
    const description = `fields lastName; filter ${JSON.stringify(filter)}; pages of 2000`;
    expect(readableQueryDescription(description)).toBe('fields lastName; filter lastName = "a \\"}{\\" b; c"; pages of 2000');
  });

  it('leaves a description whose filter does not parse as it was', () => {
    const description = 'fields lastName; filter {"kind":"comparison", cut short';
    expect(readableQueryDescription(description)).toBe(description);
  });
});
