import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, crmError, CrmSyncError, redact, redactText, REDACTED, registerSecret } from '../src/index.js';

const SECRET = 'tok-3xQ9!vLm/Zp+77';

afterEach(() => clearRegisteredSecrets());

describe('redaction of registered secrets', () => {
  it('masks a registered value anywhere in nested objects and arrays, whatever the key', () => {
    registerSecret(SECRET);
    const out = redact({ a: { b: [{ note: `value ${SECRET} here` }, SECRET] }, harmless: 'keep me', count: 3 });
    expect(out).toEqual({ a: { b: [{ note: `value ${REDACTED} here` }, REDACTED] }, harmless: 'keep me', count: 3 });
  });

  it('masks secrets in Errors and their causes, keeping name and message shape', () => {
    registerSecret(SECRET);
    const error = new Error(`login failed for ${SECRET}`, { cause: new TypeError(`inner ${SECRET}`) });
    const out = redact(error) as unknown as { name: string; message: string; stack: string; cause: { name: string; message: string } };
    expect(out.name).toBe('Error');
    expect(out.message).toBe(`login failed for ${REDACTED}`);
    expect(out.stack).not.toContain(SECRET);
    expect(out.cause).toMatchObject({ name: 'TypeError', message: `inner ${REDACTED}` });
  });

  it('masks secrets in URLs, also URL-encoded, and in URL objects', () => {
    registerSecret(SECRET);
    const encoded = encodeURIComponent(SECRET);
    expect(redactText(`https://crm.test/x?token=${encoded}&page=2`)).toBe(`https://crm.test/x?token=${REDACTED}&page=2`);
    expect(redact({ url: new URL(`https://crm.test/x?q=${encoded}`) })).toEqual({ url: `https://crm.test/x?q=${REDACTED}` });
  });

  it('leaves nothing in JSON.stringify output of a redacted object, an error or a CrmSyncError', () => {
    registerSecret(SECRET);
    const payload = { request: { headers: { 'X-Custom': SECRET }, body: `{"refresh":"${SECRET}"}` }, error: new Error(SECRET) };
    expect(JSON.stringify(redact(payload))).not.toContain(SECRET);
    const crm = crmError('auth', 'salesforce', `token ${SECRET} expired`, { vendorMessage: `bad ${SECRET}`, cause: new Error(SECRET) });
    expect(crm.message).toBe(`[crm-sync] [salesforce] token ${REDACTED} expired`);
    expect(JSON.stringify(new CrmSyncError(crm))).not.toContain(SECRET);
  });

  it('masks secret-looking keys and patterns even when nothing was registered', () => {
    const out = redact({ password: 'hunter2hunter2', headers: { Authorization: 'Bearer abc.def.ghi' }, text: 'client_secret=s3cr3t&x=1' });
    expect(out).toEqual({ password: REDACTED, headers: { Authorization: REDACTED }, text: `client_secret=${REDACTED}&x=1` });
    expect(redactText('Authorization: Bearer abc.def')).toBe(`Authorization: Bearer ${REDACTED}`);
  });

  it('cuts cycles and ignores too-short secrets that would garble text', () => {
    registerSecret('abc');
    expect(redactText('abcdef')).toBe('abcdef');
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ name: 'loop', self: '[Circular]' });
  });
});
