/**
 * Injection fuzzing of the Salesforce SOQL compiler (issue 8, item 4; scenario S22): every hostile
 * value either gets a typed error, or a query whose parse tree (soql-parser-js, an independent
 * parser) equals the tree of a harmless value except for the literal, whose SOQL escapes decode
 * back to exactly the input, and whose URL encoding decodes back to the query.
 */
import { parseQuery } from '@jetstreamapp/soql-parser-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObjectDescription, ResolvedFilterNode, ResolvedFilterValue } from '@crm-sync/sdk';
import { compileSoql } from '@crm-sync/connector-salesforce';
import { salesforceEmulatorSchemas } from '@crm-sync/connector-salesforce/emulator';
import { FUZZ_RUNS, FUZZ_SEED, hasLoneSurrogate, hostileString } from './hostile-strings.js';

const schema = salesforceEmulatorSchemas().find((s) => s.name === 'Contact');
if (schema === undefined) throw new Error('the Salesforce emulator has no Contact schema');
const contact: ObjectDescription = {
  name: 'Contact',
  queryable: true,
  createable: true,
  updateable: true,
  deletable: true,
  custom: false,
  primaryKey: 'Id',
  fields: schema.fields,
};

const str = (value: string) => ({ kind: 'string', value }) as const;
type Op = Extract<ResolvedFilterNode, { kind: 'comparison' }>['op'];
const cmp = (field: string, op: Op, right?: ResolvedFilterValue): ResolvedFilterNode => ({ kind: 'comparison', left: { kind: 'field', name: field }, op, ...(right ? { right } : {}) });

/** A decoded literal: its characters, and where unescaped LIKE wildcards stand. */
interface Decoded {
  readonly text: string;
  readonly wildcards: readonly number[];
}

/**
 * Decodes a quoted SOQL literal by Salesforce's documented escapes (`\\ \' \" \n \r \t \b \f`, and
 * `\% \_` in LIKE patterns). Written here, independent of the compiler, so the two can disagree.
 */
function decodeSoqlLiteral(raw: string, like: boolean): Decoded {
  if (raw.length < 2 || !raw.startsWith("'") || !raw.endsWith("'")) throw new Error(`not a quoted literal: ${raw.slice(0, 40)}`);
  const body = raw.slice(1, -1);
  const escapes: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
  let text = '';
  const wildcards: number[] = [];
  for (let i = 0; i < body.length; i += 1) {
    const ch = body[i] as string;
    if (ch === '\\') {
      const next = body[i + 1] ?? '';
      i += 1;
      if (next in escapes) text += escapes[next];
      else if (like && (next === '%' || next === '_')) text += next;
      else throw new Error(`invalid escape \\${next} at ${i}`);
    } else if (ch === "'") {
      throw new Error(`unescaped quote at ${i}`);
    } else {
      if (like && (ch === '%' || ch === '_')) wildcards.push(text.length);
      text += ch;
    }
  }
  return { text, wildcards };
}

/** Every string literal of a parsed WHERE tree, in order, with whether it sits in a LIKE. */
function literals(node: unknown, out: { raw: string; like: boolean }[] = []): { raw: string; like: boolean }[] {
  if (node === null || typeof node !== 'object') return out;
  const record = node as Record<string, unknown>;
  if (record['literalType'] === 'STRING') {
    const values = Array.isArray(record['value']) ? (record['value'] as string[]) : [record['value'] as string];
    for (const raw of values) out.push({ raw, like: record['operator'] === 'LIKE' });
  }
  for (const [key, value] of Object.entries(record)) if (key !== 'value') literals(value, out);
  return out;
}

/**
 * soql-parser-js's string token is `'(?:\\?.)*?'` and a JavaScript `.` does not match U+2028/U+2029,
 * so the oracle cannot lex them inside a literal. That is the parser's limit, not a SOQL rule (the
 * compiler leaves them as ordinary characters), so they are swapped for private-use stand-ins
 * before parsing and swapped back when decoding.
 */
const STAND_INS: readonly (readonly [string, string])[] = [
  ['\u2028', '\uE028'],
  ['\u2029', '\uE029'],
];
function forParser(text: string): string {
  return STAND_INS.reduce((out, [from, to]) => out.replaceAll(from, to), text);
}
function fromParser(text: string): string {
  return STAND_INS.reduce((out, [from, to]) => out.replaceAll(to, from), text);
}

/** The parse tree with every literal replaced by a placeholder: the query's structure. */
function shapeOf(soql: string): unknown {
  return JSON.parse(JSON.stringify(parseQuery(forParser(soql)), (key, value: unknown) => (key === 'value' ? (Array.isArray(value) ? value.map(() => '?') : '?') : value)));
}

/** A filter shape with one hostile value, and what its literals must decode to. */
interface Template {
  readonly build: (value: string) => ResolvedFilterNode;
  readonly expected: (value: string) => readonly Decoded[];
}

const plain = (text: string): Decoded => ({ text, wildcards: [] });
const TEMPLATES: Readonly<Record<string, Template>> = {
  eq: { build: (v) => cmp('LastName', 'eq', str(v)), expected: (v) => [plain(v)] },
  ne: { build: (v) => cmp('Email', 'ne', str(v)), expected: (v) => [plain(v)] },
  gte: { build: (v) => cmp('LastName', 'gte', str(v)), expected: (v) => [plain(v)] },
  in: { build: (v) => cmp('LastName', 'in', { kind: 'list', items: [str(v), str('b')] }), expected: (v) => [plain(v), plain('b')] },
  notIn: { build: (v) => cmp('LastName', 'notIn', { kind: 'list', items: [str('a'), str(v)] }), expected: (v) => [plain('a'), plain(v)] },
  startsWith: { build: (v) => cmp('LastName', 'startsWith', str(v)), expected: (v) => [{ text: `${v}%`, wildcards: [v.length] }] },
  contains: { build: (v) => cmp('Email', 'contains', str(v)), expected: (v) => [{ text: `%${v}%`, wildcards: [0, v.length + 1] }] },
  'and group': {
    build: (v) => ({ kind: 'group', op: 'and', items: [cmp('LastName', 'eq', str(v)), cmp('Email', 'isNotEmpty')] }),
    expected: (v) => [plain(v)],
  },
  'negated or group': {
    build: (v) => ({ kind: 'group', op: 'or', negated: true, items: [cmp('Email', 'eq', str('x')), cmp('LastName', 'ne', str(v))] }),
    expected: (v) => [plain('x'), plain(v)],
  },
};

const compile = (filter: ResolvedFilterNode) => compileSoql(contact, { object: 'Contact', fields: ['LastName', 'Email'], filter });

describe('SOQL compiler under injection fuzzing', () => {
  it(`keeps the query structure and the literal exact for ${FUZZ_RUNS} hostile values (or refuses them with a typed error)`, () => {
    const names = Object.keys(TEMPLATES);
    const harmless = new Map(names.map((name) => [name, shapeOf(compile(TEMPLATES[name]!.build('SAFE'))._unsafeUnwrap())]));
    let accepted = 0;
    let refused = 0;
    fc.assert(
      // Values holding the stand-ins themselves would be ambiguous after the swap.
      fc.property(fc.constantFrom(...names), hostileString.filter((v) => !/[\uE028\uE029]/.test(v)), (name, value) => {
        const template = TEMPLATES[name]!;
        const compiled = compile(template.build(value));
        if (compiled.isErr()) {
          refused += 1;
          expect(typeof compiled.error.message).toBe('string');
          // Only text no URL can carry is refused: every other hostile value must compile.
          expect(hasLoneSurrogate(value), 'a value without a lone surrogate was refused').toBe(true);
          return;
        }
        accepted += 1;
        const soql = compiled.value;
        // A query the connector cannot put in a URL is not a query: it must have been refused.
        expect(hasLoneSurrogate(soql), 'a lone surrogate reached the query text').toBe(false);
        expect(decodeURIComponent(encodeURIComponent(soql))).toBe(soql);
        expect(shapeOf(soql)).toEqual(harmless.get(name));
        const parsed = parseQuery(forParser(soql));
        const found = literals(parsed.where).map(({ raw, like }) => decodeSoqlLiteral(fromParser(raw), like));
        expect(found).toEqual(template.expected(value));
      }),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, verbose: 1 },
    );
    console.info(`[reliability] SOQL fuzz: ${accepted} values compiled and verified, ${refused} refused with a typed error`);
    expect(accepted + refused).toBe(FUZZ_RUNS);
  });
});
