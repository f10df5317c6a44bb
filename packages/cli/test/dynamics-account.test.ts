import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir, writeFiles } from './helpers.js';

const SECRET = 'dyn-client-secret-Xq7!';

/** Account settings for a Dynamics 365 organisation; nothing here reaches the network. */
function account(extra: string): string {
  return `accounts:\n  dynamics-org:\n    connector: dynamics\n    orgUrl: https://contoso.crm4.dynamics.com\n    clientId: 00000000-0000-0000-0000-000000000001\n    clientSecret: ${SECRET}\n${extra}`;
}

describe('a dynamics account', () => {
  it('refuses settings the connector rejects, once prefixed, naming the account file and never the secret', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'accounts.yaml': account('    tenantId: not a tenant\n') });
    const run = await cli(dir, ['describe', 'contact', '--account', 'dynamics-org', '--accounts', 'accounts.yaml']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(run.stderr.trim()).toBe(
      `[crm-sync] [dynamics] account "dynamics-org" (${join(dir, 'accounts.yaml')}): configuration tenantId: must be the directory (tenant) id GUID or a verified domain name`,
    );
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('refuses an http authorityHost, saying msal needs https, not blaming the credentials', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'accounts.yaml': account('    tenantId: 00000000-0000-0000-0000-000000000002\n    authorityHost: http://127.0.0.1:5555\n') });
    const run = await cli(dir, ['describe', 'contact', '--account', 'dynamics-org', '--accounts', 'accounts.yaml']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(run.stderr).toContain(
      "configuration authority: 'http://127.0.0.1:5555/00000000-0000-0000-0000-000000000002' is not https, and msal (which gets the tokens) accepts https authorities only, loopback included; this is not a credentials problem.",
    );
    expect(run.stderr).not.toMatch(/refused the client credentials/);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('refuses a key the connector does not read instead of ignoring it', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'accounts.yaml': account('    tenantId: 00000000-0000-0000-0000-000000000002\n    tokenUrl: https://login.example.test/token\n') });
    const run = await cli(dir, ['describe', 'contact', '--account', 'dynamics-org', '--accounts', 'accounts.yaml']);
    expect(run.code).toBe(ExitCode.invalidInput);
    expect(run.stderr).toContain('accounts.dynamics-org.tokenUrl: unknown key');
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });
});
