import { describe, expect, it } from 'vitest';
import { AcmeConnector, compileAcmeFilter, compileAcmeWhere, createAcmeConnector, escapeAcmeString } from '../src/index.js';

describe('compileAcmeFilter', () => {
  it("escapes quotes, backslashes and line breaks, so a hostile string stays one literal", () => {
    const hostile = `x\\' OR 1=1 --\n`;
    const compiled = compileAcmeFilter({ kind: 'comparison', left: { kind: 'field', name: 'lastName' }, op: 'eq', right: { kind: 'string', value: hostile } });
    expect(compiled._unsafeUnwrap()).toBe("lastName eq 'x\\\\\\' OR 1=1 --\\n'");
    expect(escapeAcmeString("O'Brien")).toBe("'O\\'Brien'");
  });

  it('refuses a negated group with a message that says how to rewrite it', () => {
    const compiled = compileAcmeFilter({ kind: 'group', op: 'and', negated: true, items: [{ kind: 'comparison', left: { kind: 'field', name: 'score' }, op: 'isEmpty' }] });
    expect(compiled._unsafeUnwrapErr()).toMatchObject({ kind: 'invalid-request', message: expect.stringMatching(/^\[crm-sync\] \[acme\] a negated filter group/) });
  });

  it('parenthesises every group, so an OR never escapes the window next to it', () => {
    const where = compileAcmeWhere({
      object: 'contacts',
      fields: ['email'],
      filter: { kind: 'group', op: 'or', items: [{ kind: 'comparison', left: { kind: 'field', name: 'score' }, op: 'eq', right: { kind: 'number', value: 1 } }, { kind: 'comparison', left: { kind: 'field', name: 'score' }, op: 'isEmpty' }] },
      window: { field: 'updatedAt', start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z', after: { at: '2026-01-01T10:00:00.000Z', id: 'ac_000000000007' } },
    });
    expect(where._unsafeUnwrap()).toBe(
      "(score eq 1 or score missing) and updatedAt gte '2026-01-01T00:00:00.000Z' and updatedAt lt '2026-01-02T00:00:00.000Z'" +
        " and (updatedAt gt '2026-01-01T10:00:00.000Z' or (updatedAt eq '2026-01-01T10:00:00.000Z' and id gt 'ac_000000000007'))",
    );
  });
});

describe('configuration', () => {
  it('refuses an empty API key and says where to create one', async () => {
    const result = await createAcmeConnector({ baseUrl: 'https://acme.example', apiKey: '' });
    expect(result._unsafeUnwrapErr().message).toContain('Settings > API keys');
  });

  it('never echoes the API key in a configuration error', () => {
    const apiKey = 'acme-secret-key-for-config-test';
    expect(() => new AcmeConnector({ baseUrl: `not a url ${apiKey}`, apiKey })).toThrow(/is not a URL/);
    expect(() => new AcmeConnector({ baseUrl: `not a url ${apiKey}`, apiKey })).not.toThrow(new RegExp(apiKey));
  });
});
