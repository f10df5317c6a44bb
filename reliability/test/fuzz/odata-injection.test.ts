/**
 * Injection fuzzing of the Dynamics OData `$filter` compiler (issue 8, item 4; scenario S23): every
 * hostile value either gets a typed error, or a URL whose query has exactly `$select`, `$filter`
 * and `$orderby`, whose `$filter` decodes back to the compiled text, and whose parse tree (the
 * Dataverse emulator's parser) equals a harmless value's tree except for the literal, which
 * decodes back to exactly the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResolvedFilterNode, ResolvedFilterValue } from '@crm-sync/sdk';
import { InMemoryCrm } from '@crm-sync/connector-mock';
import { dataverseSchemas } from '@crm-sync/connector-dynamics/emulator';
// The compiler and the emulator's parser are internal modules of the connector (not exported),
// reached by path because this suite tests them directly.
import { collectionPath, compileQueryOptions } from '../../../packages/connector-dynamics/src/odata-filter.js';
import { parseODataFilter, type ODataExpression } from '../../../packages/connector-dynamics/src/emulator/odata-parser.js';
import { FUZZ_RUNS, FUZZ_SEED, hasLoneSurrogate, hostileString } from './hostile-strings.js';

// The description the connector really works from: the Dataverse emulator's own contact schema.
const contact = new InMemoryCrm({ schemas: dataverseSchemas() }).describe('contact')!;

const str = (value: string) => ({ kind: 'string', value }) as const;
type Op = Extract<ResolvedFilterNode, { kind: 'comparison' }>['op'];
const cmp = (name: string, op: Op, right?: ResolvedFilterValue): ResolvedFilterNode => ({ kind: 'comparison', left: { kind: 'field', name }, op, ...(right ? { right } : {}) });

const TEMPLATES: Readonly<Record<string, { build: (v: string) => ResolvedFilterNode; expected: (v: string) => readonly string[] }>> = {
  eq: { build: (v) => cmp('lastname', 'eq', str(v)), expected: (v) => [v] },
  ne: { build: (v) => cmp('emailaddress1', 'ne', str(v)), expected: (v) => [v] },
  lt: { build: (v) => cmp('lastname', 'lt', str(v)), expected: (v) => [v] },
  in: { build: (v) => cmp('lastname', 'in', { kind: 'list', items: [str(v), str('b')] }), expected: (v) => [v, 'b'] },
  notIn: { build: (v) => cmp('lastname', 'notIn', { kind: 'list', items: [str('a'), str(v)] }), expected: (v) => ['a', v] },
  startsWith: { build: (v) => cmp('lastname', 'startsWith', str(v)), expected: (v) => [v] },
  contains: { build: (v) => cmp('emailaddress1', 'contains', str(v)), expected: (v) => [v] },
  'negated or group': {
    build: (v) => ({ kind: 'group', op: 'or', negated: true, items: [cmp('emailaddress1', 'eq', str('x')), cmp('lastname', 'ne', str(v))] }),
    expected: (v) => ['x', v],
  },
};

/** The tree with every literal replaced by a placeholder (types and list lengths kept). */
function shape(expression: ODataExpression): unknown {
  return JSON.parse(JSON.stringify(expression, (key, value: unknown) => (key === 'value' && typeof value !== 'object' ? '?' : key === 'values' && Array.isArray(value) ? value.map(() => '?') : value)));
}

/** Every string literal of the tree, in order. */
function literals(expression: ODataExpression): string[] {
  switch (expression.kind) {
    case 'and':
    case 'or':
      return [...literals(expression.left), ...literals(expression.right)];
    case 'not':
      return literals(expression.operand);
    case 'compare':
      return expression.value.type === 'string' ? [expression.value.value] : [];
    case 'text-function':
      return [expression.value];
    case 'in':
      return [...expression.values];
    case 'constant':
      return [];
  }
}

/** The URL as the server splits it: query parameters split on '&', each value percent-decoded. */
function serverParameters(path: string): Map<string, string> {
  const query = path.slice(path.indexOf('?') + 1);
  return new Map(
    query.split('&').map((part) => {
      const at = part.indexOf('=');
      return [decodeURIComponent(part.slice(0, at)), decodeURIComponent(part.slice(at + 1))] as const;
    }),
  );
}

function compileUrl(filter: ResolvedFilterNode) {
  return compileQueryOptions(contact, { fields: ['lastname'], filter }).map((options) => ({ options, path: collectionPath('contacts', options) }));
}

describe('OData $filter compiler under injection fuzzing', () => {
  it(`keeps the URL parameters, the filter structure and the literal exact for ${FUZZ_RUNS} hostile values (or refuses them with a typed error)`, () => {
    const names = Object.keys(TEMPLATES);
    const harmless = new Map(names.map((name) => [name, shape(parseODataFilter(compileUrl(TEMPLATES[name]!.build('SAFE'))._unsafeUnwrap().options.filter ?? ''))]));
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.constantFrom(...names), hostileString, (name, value) => {
        const template = TEMPLATES[name]!;
        const compiled = compileUrl(template.build(value));
        if (compiled.isErr()) {
          refused += 1;
          expect(compiled.error.kind).toBe('invalid-request');
          // Only text no URL can carry is refused: every other hostile value must compile.
          expect(hasLoneSurrogate(value), 'a value without a lone surrogate was refused').toBe(true);
          expect(compiled.error.message).toMatch(/^\[crm-sync\] \[/);
          return;
        }
        accepted += 1;
        expect(hasLoneSurrogate(value), 'a lone surrogate was accepted').toBe(false);
        const { options, path } = compiled.value;
        expect(path).not.toMatch(/[#+\s]/);
        const parameters = serverParameters(path);
        expect([...parameters.keys()]).toEqual(['$select', '$filter', '$orderby']);
        expect(parameters.get('$filter')).toBe(options.filter);
        const tree = parseODataFilter(parameters.get('$filter') ?? '');
        expect(shape(tree)).toEqual(harmless.get(name));
        expect(literals(tree)).toEqual(template.expected(value));
      }),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, verbose: 1 },
    );
    console.info(`[reliability] OData fuzz: ${accepted} values compiled and verified, ${refused} refused with a typed error`);
    expect(accepted + refused).toBe(FUZZ_RUNS);
  });
});
