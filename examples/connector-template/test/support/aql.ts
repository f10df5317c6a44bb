/**
 * The fake's parser of Acme's query language (AQL), the `where` of a search:
 * `expr := and ('or' and)*`, `and := term ('and' term)*`, `term := '(' expr ')' | field op value?`.
 * Strings are single-quoted with backslash escapes (`\'`, `\\`, `\n`, `\r`, `\t`); lists are
 * `[a, b]`. A malformed query is refused, as Acme does (400 INVALID_QUERY).
 */
import { compareFakeValues, type FakeValue } from '@crm-sync/testkit/fake-server';

/** A row as AQL sees it: the values plus `id` and `updatedAt`. */
export type AqlRow = Readonly<Record<string, FakeValue>>;

type Token = { kind: 'word' | 'punct'; text: string } | { kind: 'value'; value: FakeValue };

const ESCAPES: Readonly<Record<string, string>> = { "'": "'", '\\': '\\', n: '\n', r: '\r', t: '\t' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) i += 1;
    else if ('()[],'.includes(c)) tokens.push({ kind: 'punct', text: c }), (i += 1);
    else if (c === "'") {
      let value = '';
      for (i += 1; text[i] !== "'"; i += 1) {
        if (i >= text.length) throw new Error('unterminated string literal');
        if (text[i] === '\n') throw new Error('a raw line break in a string literal: write \\n');
        if (text[i] === '\\') {
          const escaped = ESCAPES[text[i + 1] ?? ''];
          if (escaped === undefined) throw new Error(`unknown escape \\${text[i + 1] ?? ''} at ${i}`);
          value += escaped;
          i += 1;
        } else value += text[i];
      }
      tokens.push({ kind: 'value', value });
      i += 1;
    } else {
      const match = /^(-?\d+(\.\d+)?|[A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
      if (!match) throw new Error(`unexpected '${c}' at ${i}`);
      const word = match[0];
      if (/^-?\d/.test(word)) tokens.push({ kind: 'value', value: Number(word) });
      else if (word === 'true' || word === 'false') tokens.push({ kind: 'value', value: word === 'true' });
      else tokens.push({ kind: 'word', text: word });
      i += word.length;
    }
  }
  return tokens;
}

type Predicate = (row: AqlRow) => boolean;

/** Parses an AQL `where` into a predicate, or returns the reason it is malformed. */
export function parseAql(text: string): Predicate | string {
  try {
    const tokens = tokenize(text);
    let at = 0;
    const peekWord = (word: string) => tokens[at]?.kind !== 'value' && (tokens[at] as { text?: string } | undefined)?.text === word;
    const expect = (word: string) => {
      if (!peekWord(word)) throw new Error(`expected '${word}' at token ${at}`);
      at += 1;
    };
    const value = (): FakeValue | FakeValue[] => {
      const token = tokens[at++];
      if (token?.kind === 'value') return token.value;
      if (token?.kind !== 'punct' || token.text !== '[') throw new Error(`expected a value at token ${at - 1}`);
      const items: FakeValue[] = [];
      while (!peekWord(']')) {
        const item = value();
        if (Array.isArray(item)) throw new Error('nested lists are not allowed');
        items.push(item);
        if (peekWord(',')) at += 1;
      }
      at += 1;
      return items;
    };
    const term = (): Predicate => {
      if (peekWord('(')) {
        at += 1;
        const inner = or();
        expect(')');
        return inner;
      }
      const field = tokens[at++];
      const op = tokens[at++];
      if (field?.kind !== 'word' || op?.kind !== 'word') throw new Error(`expected 'field operator value' at token ${at - 2}`);
      if (op.text === 'missing') return (row) => (row[field.text] ?? null) === null;
      if (op.text === 'exists') return (row) => (row[field.text] ?? null) !== null;
      const right = value();
      if (op.text === 'in') return (row) => Array.isArray(right) && right.includes(row[field.text] ?? null);
      if (Array.isArray(right)) throw new Error(`'${op.text}' takes one value, not a list`);
      const test = { eq: (o: number) => o === 0, ne: (o: number) => o !== 0, lt: (o: number) => o < 0, lte: (o: number) => o <= 0, gt: (o: number) => o > 0, gte: (o: number) => o >= 0 }[op.text];
      if (test === undefined) throw new Error(`unknown operator '${op.text}'`);
      return (row) => {
        const left = row[field.text] ?? null;
        return left !== null && test(compareFakeValues(left, right));
      };
    };
    const and = (): Predicate => {
      const items = [term()];
      while (peekWord('and')) (at += 1), items.push(term());
      return (row) => items.every((item) => item(row));
    };
    const or = (): Predicate => {
      const items = [and()];
      while (peekWord('or')) (at += 1), items.push(and());
      return (row) => items.some((item) => item(row));
    };
    const predicate = or();
    if (at !== tokens.length) throw new Error(`unexpected text after token ${at}`);
    return predicate;
  } catch (error) {
    return `invalid query: ${error instanceof Error ? error.message : String(error)}`;
  }
}
