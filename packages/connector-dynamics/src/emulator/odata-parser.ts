/**
 * A recursive-descent parser for the OData v4 `$filter` subset the Dataverse connector emits
 * and common clients send: `eq ne gt ge lt le`, `and or not` with OData precedence, parentheses,
 * `null`, `true`/`false`, string literals with doubled quotes, bare or quoted GUIDs, unquoted
 * date-times and dates, numbers, `startswith`/`contains`/`endswith` and
 * `Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=["a","b"])`.
 *
 * Hand-written because no maintained OData v4 parser fits (the candidates are unmaintained, lack
 * `in`, or speak the v3 date dialect; see the toolchain notes §7).
 *
 * @module
 */

/** A literal on the right of a comparison. */
export type ODataLiteral =
  | { readonly type: 'null' }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'guid'; readonly value: string }
  | { readonly type: 'datetime'; readonly value: string }
  | { readonly type: 'date'; readonly value: string };

/** The comparison operators. */
type ODataComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** A parsed `$filter` expression. */
export type ODataExpression =
  | { readonly kind: 'and' | 'or'; readonly left: ODataExpression; readonly right: ODataExpression }
  | { readonly kind: 'not'; readonly operand: ODataExpression }
  | { readonly kind: 'compare'; readonly op: ODataComparisonOperator; readonly property: string; readonly value: ODataLiteral }
  | { readonly kind: 'text-function'; readonly name: 'startswith' | 'contains' | 'endswith'; readonly property: string; readonly value: string }
  | { readonly kind: 'in'; readonly property: string; readonly values: readonly string[] }
  | { readonly kind: 'constant'; readonly value: boolean };

/** A documented Dataverse `$filter` feature the emulator does not implement (answered 501, never ignored). */
export class ODataUnsupportedError extends Error {
  override readonly name = 'ODataUnsupportedError';
  constructor(readonly feature: string) {
    super(feature);
  }
}

/** A syntax error with the offset where it was found. */
export class ODataSyntaxError extends Error {
  override readonly name = 'ODataSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

type Token =
  | { readonly kind: 'punct'; readonly text: '(' | ')' | ',' | '=' | '[' | ']'; readonly at: number }
  | { readonly kind: 'word'; readonly text: string; readonly at: number }
  | { readonly kind: 'string'; readonly text: string; readonly at: number }
  | { readonly kind: 'json-string'; readonly text: string; readonly at: number }
  | { readonly kind: 'literal'; readonly literal: ODataLiteral; readonly at: number };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT:])/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.-])/;
const WORD = /^[A-Za-z_][A-Za-z0-9_./]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i += 1;
      continue;
    }
    if ('(),=[]'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch as '(' | ')' | ',' | '=' | '[' | ']', at: i });
      i += 1;
      continue;
    }
    if (ch === "'") {
      const start = i;
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new ODataSyntaxError('Unterminated string literal', start);
        const c = text[i] as string;
        if (c === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += c;
        i += 1;
      }
      // A quoted GUID is accepted as a GUID, as Dataverse does.
      tokens.push(GUID.test(value) && value.length === 36 ? { kind: 'literal', literal: { type: 'guid', value: value.toLowerCase() }, at: start } : { kind: 'string', text: value, at: start });
      continue;
    }
    if (ch === '"') {
      const start = i;
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new ODataSyntaxError('Unterminated JSON string', start);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(i, j + 1));
      } catch {
        throw new ODataSyntaxError('Malformed JSON string', start);
      }
      tokens.push({ kind: 'json-string', text: value as string, at: start });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    const guid = GUID.exec(rest);
    if (guid && !/[\w-]/.test(rest[36] ?? '')) {
      tokens.push({ kind: 'literal', literal: { type: 'guid', value: guid[0].toLowerCase() }, at: i });
      i += 36;
      continue;
    }
    const datetime = DATETIME.exec(rest);
    if (datetime) {
      tokens.push({ kind: 'literal', literal: { type: 'datetime', value: datetime[0] }, at: i });
      i += datetime[0].length;
      continue;
    }
    const date = DATE.exec(rest);
    if (date) {
      tokens.push({ kind: 'literal', literal: { type: 'date', value: date[0] }, at: i });
      i += date[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'literal', literal: { type: 'number', value: Number(number[0]) }, at: i });
      i += number[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw new ODataSyntaxError(`Unexpected character '${ch}'`, i);
  }
  return tokens;
}

const COMPARISONS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'null', 'true', 'false', ...COMPARISONS]);

class Parser {
  private index = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly length: number,
  ) {}

  parse(): ODataExpression {
    const expression = this.parseOr();
    const extra = this.peek();
    if (extra) throw new ODataSyntaxError('Unexpected token after the end of the expression', extra.at);
    return expression;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private next(what: string): Token {
    const token = this.tokens[this.index];
    if (!token) throw new ODataSyntaxError(`Expected ${what} but the expression ended`, this.length);
    this.index += 1;
    return token;
  }

  private isWord(text: string): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.text === text;
  }

  private expectPunct(text: string): void {
    const token = this.next(`'${text}'`);
    if (token.kind !== 'punct' || token.text !== text) throw new ODataSyntaxError(`Expected '${text}'`, token.at);
  }

  private parseOr(): ODataExpression {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      this.index += 1;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): ODataExpression {
    let left = this.parseUnary();
    while (this.isWord('and')) {
      this.index += 1;
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): ODataExpression {
    if (this.isWord('not')) {
      this.index += 1;
      return { kind: 'not', operand: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): ODataExpression {
    const token = this.next('an expression');
    if (token.kind === 'punct' && token.text === '(') {
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    if (token.kind !== 'word') throw new ODataSyntaxError('Expected a property name, a function or a parenthesis', token.at);
    if (token.text === 'true' || token.text === 'false') return { kind: 'constant', value: token.text === 'true' };
    if (KEYWORDS.has(token.text)) throw new ODataSyntaxError(`Unexpected keyword '${token.text}'`, token.at);
    const after = this.peek();
    if (after?.kind === 'punct' && after.text === '(') return this.parseFunction(token);
    const operator = this.next('a comparison operator');
    if (operator.kind !== 'word' || !COMPARISONS.has(operator.text)) {
      throw new ODataSyntaxError(`Expected a comparison operator after '${token.text}'`, operator.at);
    }
    return { kind: 'compare', op: operator.text as ODataComparisonOperator, property: token.text, value: this.parseLiteral() };
  }

  private parseLiteral(): ODataLiteral {
    const token = this.next('a literal');
    if (token.kind === 'literal') return token.literal;
    if (token.kind === 'string') return { type: 'string', value: token.text };
    if (token.kind === 'word' && token.text === 'null') return { type: 'null' };
    if (token.kind === 'word' && (token.text === 'true' || token.text === 'false')) return { type: 'boolean', value: token.text === 'true' };
    // `firstname eq lastname`: Dataverse compares columns; the emulator does not.
    if (token.kind === 'word' && !KEYWORDS.has(token.text)) throw new ODataUnsupportedError(`column comparisons in $filter ('${token.text}' on the right of an operator)`);
    throw new ODataSyntaxError('Expected a literal (string, number, GUID, date-time, true, false or null)', token.at);
  }

  private parseFunction(name: Extract<Token, { kind: 'word' }>): ODataExpression {
    this.expectPunct('(');
    const lower = name.text.toLowerCase();
    if (lower === 'startswith' || lower === 'contains' || lower === 'endswith') {
      const property = this.next('a property name');
      if (property.kind !== 'word' || KEYWORDS.has(property.text)) throw new ODataSyntaxError('Expected a property name', property.at);
      this.expectPunct(',');
      const value = this.next('a string literal');
      if (value.kind !== 'string') throw new ODataSyntaxError('Expected a string literal', value.at);
      this.expectPunct(')');
      return { kind: 'text-function', name: lower, property: property.text, value: value.text };
    }
    if (name.text === 'Microsoft.Dynamics.CRM.In') {
      const args = new Map<string, Token | string[]>();
      for (;;) {
        const key = this.next('a parameter name');
        if (key.kind !== 'word') throw new ODataSyntaxError('Expected a parameter name', key.at);
        this.expectPunct('=');
        args.set(key.text, key.text === 'PropertyValues' ? this.parseJsonStringArray() : this.next('a parameter value'));
        const separator = this.next("',' or ')'");
        if (separator.kind === 'punct' && separator.text === ')') break;
        if (separator.kind !== 'punct' || separator.text !== ',') throw new ODataSyntaxError("Expected ',' or ')'", separator.at);
      }
      const property = args.get('PropertyName');
      const values = args.get('PropertyValues');
      if (!property || Array.isArray(property) || property.kind !== 'string' || !Array.isArray(values)) {
        throw new ODataSyntaxError('Microsoft.Dynamics.CRM.In needs PropertyName (a string) and PropertyValues (an array)', name.at);
      }
      return { kind: 'in', property: property.text, values };
    }
    // Dataverse query functions and lambda operators exist; the emulator does not evaluate them.
    if (name.text.startsWith('Microsoft.Dynamics.CRM.')) throw new ODataUnsupportedError(`the $filter function '${name.text}'`);
    if (/\/(any|all)$/.test(name.text)) throw new ODataUnsupportedError(`the lambda operator '${name.text}' in $filter`);
    throw new ODataSyntaxError(`Unknown function '${name.text}'`, name.at);
  }

  /** `["a","b"]`: the `PropertyValues` argument of `Microsoft.Dynamics.CRM.In`. */
  private parseJsonStringArray(): string[] {
    this.expectPunct('[');
    const values: string[] = [];
    if (this.peek()?.kind === 'punct' && (this.peek() as { text: string }).text === ']') {
      this.index += 1;
      return values;
    }
    for (;;) {
      const item = this.next('a JSON string');
      if (item.kind !== 'json-string') throw new ODataSyntaxError('PropertyValues items must be JSON strings', item.at);
      values.push(item.text);
      const separator = this.next("',' or ']'");
      if (separator.kind === 'punct' && separator.text === ']') return values;
      if (separator.kind !== 'punct' || separator.text !== ',') throw new ODataSyntaxError("Expected ',' or ']'", separator.at);
    }
  }
}

/** Parses `$filter` text (already percent-decoded). Throws {@link ODataSyntaxError}. */
export function parseODataFilter(text: string): ODataExpression {
  return new Parser(tokenize(text), text.length).parse();
}
