import { describe, expect, it } from 'vitest';
import { AcmeConnector, compileAcmeFilter, compileAcmeWhere, createAcmeConnector } from '../src/index.js';

describe('compileAcmeFilter', () => {
  it('keeps a hostile string a value: Acme conditions are JSON, so nothing can change their structure', () => {
    const hostile = `x' OR 1=1 --`;
    const compiled = compileAcmeFilter({ kind: 'comparison', left: { kind: 'field', name: 'lastName' }, op: 'eq', right: { kind: 'string', value: hostile } });
    expect(compiled._unsafeUnwrap()).toEqual({ field: 'lastName', op: 'eq', value: hostile });
  });

  it('refuses a negated group with a message that says how to rewrite it', () => {
    const compiled = compileAcmeFilter({ kind: 'group', op: 'and', negated: true, items: [{ kind: 'comparison', left: { kind: 'field', name: 'score' }, op: 'isEmpty' }] });
    expect(compiled._unsafeUnwrapErr()).toMatchObject({ kind: 'invalid-request', message: expect.stringMatching(/^\[crm-sync\] \[acme\] a negated filter group/) });
  });

  it('turns a window with an after keyset into (field, id) > (at, id) within [start, end)', () => {
    const where = compileAcmeWhere({
      object: 'contacts',
      fields: ['email'],
      window: { field: 'updatedAt', start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z', after: { at: '2026-01-01T10:00:00.000Z', id: 'ac_000000000007' } },
    });
    expect(where._unsafeUnwrap()).toEqual({
      and: [
        { field: 'updatedAt', op: 'gte', value: '2026-01-01T00:00:00.000Z' },
        { field: 'updatedAt', op: 'lt', value: '2026-01-02T00:00:00.000Z' },
        {
          or: [
            { field: 'updatedAt', op: 'gt', value: '2026-01-01T10:00:00.000Z' },
            { and: [{ field: 'updatedAt', op: 'eq', value: '2026-01-01T10:00:00.000Z' }, { field: 'id', op: 'gt', value: 'ac_000000000007' }] },
          ],
        },
      ],
    });
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
