/**
 * Secret canaries (issue 8, item 6; scenario S25). Every credential a connector takes is a unique
 * random canary; the connectors run all four operations through a token expiry, plus a run with
 * refused credentials. Then every sink is scanned by value: captured log lines, process output,
 * the text forms of every error (`String`, `util.inspect`, `JSON.stringify`, causes), the SQLite
 * file holding the journal, options and local tables, and every URL the emulators received.
 * Issued access and refresh tokens (harvested from the token answers) are canaries too.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmConnector, ExportJob, RunError, RunSummary } from '@crm-sync/sdk';
import { InMemoryCrm } from '@crm-sync/connector-mock';
import { SalesforceConnector, type SalesforceConnectorConfig } from '@crm-sync/connector-salesforce';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator, type DataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import type { Result } from 'neverthrow';
import { canary, findLeaks } from '../support/canaries.js';
import { capturingLogger, errorTexts, type CapturingLogger } from '../support/capture.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { sqliteRig, tempStoreFile } from '../support/sqlite-rig.js';

/** Process output written while the canary suites run (a library must not print secrets either). */
const processOutput: string[] = [];
let restoreOutput: () => void = () => {};
beforeAll(() => {
  const out = process.stdout.write.bind(process.stdout);
  const errOut = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    processOutput.push(String(chunk));
    return out(chunk, ...(rest as []));
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    processOutput.push(String(chunk));
    return errOut(chunk, ...(rest as []));
  }) as typeof process.stderr.write;
  restoreOutput = () => {
    process.stdout.write = out;
    process.stderr.write = errOut;
  };
});
afterAll(() => restoreOutput());

/** Inside both emulators' deleted-record retention (their CRM clocks start at 2024-01-01). */
const DELETED_START = '2023-12-25T00:00:00.000Z';

/** Field names of the contact object on one CRM. */
interface Names {
  readonly object: string;
  readonly lastName: string;
  readonly email: string;
  readonly syncKey: string;
}

/** What one exercised connector left behind for the scan. */
interface Traces {
  readonly errors: string[];
  readonly logLines: string[];
  readonly storeFiles: string[];
  readonly summaries: string[];
}

function keep(result: Result<RunSummary, RunError>, traces: Traces): void {
  if (result.isErr()) traces.errors.push(...errorTexts(result.error));
  else traces.summaries.push(JSON.stringify(result.value));
}

/**
 * Runs export, import, import of deleted records and delete through a SQLite store, calling
 * `midway` (a token expiry) between the export and the import.
 */
async function exerciseAllOperations(connector: CrmConnector, names: Names, logger: CapturingLogger, midway: () => void): Promise<Traces> {
  const file = tempStoreFile();
  const rig = sqliteRig(connector, file, logger);
  const traces: Traces = { errors: [], logLines: logger.lines, storeFiles: [file, `${file}-wal`], summaries: [] };
  for (let i = 0; i < 25; i += 1) await rig.store.records.upsertLocal('people', `k${String(i).padStart(3, '0')}`, { last_name: `Canary ${i}`, email: `c${i}@example.test` });
  const exportJob: ExportJob = {
    kind: 'export',
    activity: 'canaryExport',
    object: names.object,
    table: 'people',
    mode: 'upsert',
    syncKey: { remoteField: names.syncKey },
    processRejects: true,
    fields: [
      { local: 'last_name', remote: names.lastName },
      { local: 'email', remote: names.email },
    ],
  };
  keep(await rig.orchestrator.runExport(exportJob), traces);
  midway();
  keep(
    await rig.orchestrator.runImport({
      kind: 'import',
      activity: 'canaryImport',
      object: names.object,
      table: 'imported',
      fields: [{ local: 'last_name', remote: names.lastName }],
      automaticIndex: { enabled: true, safetyLagMs: 0 },
    }),
    traces,
  );
  keep(await rig.orchestrator.runImportDeleted({ kind: 'import-deleted', activity: 'canaryDeleted', object: names.object, table: 'imported', start: DELETED_START }), traces);
  keep(await rig.orchestrator.runDelete({ kind: 'delete', activity: 'canaryDelete', object: names.object, table: 'people', keys: ['k000', 'k001'] }), traces);
  // Reruns after the deletes, so the journal and options hold every state they can.
  keep(await rig.orchestrator.runExport(exportJob), traces);
  rig.store.close();
  await connector.close?.();
  return traces;
}

/** Every text a leak could hide in, by sink name. */
function sinks(traces: readonly Traces[], proxies: readonly RecordingProxy[]): Record<string, string[]> {
  const files = traces.flatMap((t) => t.storeFiles).filter((file) => existsSync(file));
  return {
    'log lines': traces.flatMap((t) => t.logLines),
    'errors (String, util.inspect, JSON.stringify, causes)': traces.flatMap((t) => t.errors),
    'run summaries': traces.flatMap((t) => t.summaries),
    'SQLite journal, options and tables (file bytes)': files.map((file) => readFileSync(file).toString('latin1')),
    'URLs the emulators received': proxies.flatMap((p) => p.urls),
    'process stdout/stderr': processOutput,
  };
}

const SF_NAMES: Names = { object: 'Contact', lastName: 'LastName', email: 'Email', syncKey: 'Sync_Key__c' };
const DV_NAMES: Names = { object: 'contact', lastName: 'lastname', email: 'emailaddress1', syncKey: 'crm_synckey' };

describe('secret canaries', () => {
  const emulators: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const emulator of emulators) await emulator.close();
  });

  async function salesforceRig(credentials: Parameters<typeof startSalesforceEmulator>[0]): Promise<{ emulator: SalesforceEmulator; proxy: RecordingProxy }> {
    const emulator = await startSalesforceEmulator({ crm: new InMemoryCrm({ schemas: salesforceEmulatorSchemas() }), ...credentials });
    const proxy = await startRecordingProxy(emulator.url);
    emulators.push(emulator, proxy);
    return { emulator, proxy };
  }

  it('no Salesforce credential (access token, refresh token, client secret, password, security token, private key) reaches any sink', async () => {
    const secrets = {
      accessToken: canary('access-token'),
      password: canary('password'),
      securityToken: canary('security-token'),
      clientSecret: canary('client-secret'),
      ccClientSecret: canary('cc-client-secret'),
      wrongPassword: canary('wrong-password'),
      privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const traces: Traces[] = [];
    const proxies: RecordingProxy[] = [];
    const run = async (config: (url: string) => SalesforceConnectorConfig, emulatorOptions: Parameters<typeof startSalesforceEmulator>[0], refused = false) => {
      const { emulator, proxy } = await salesforceRig(emulatorOptions);
      proxies.push(proxy);
      const logger = capturingLogger();
      const connector = new SalesforceConnector({ ...config(proxy.url), logger });
      traces.push(await exerciseAllOperations(connector, SF_NAMES, logger, () => emulator.expireSessions()));
      if (refused) expect(traces.at(-1)?.errors.length, 'the run with refused credentials should fail').toBeGreaterThan(0);
    };
    // access-token auth (cannot refresh: the expiry makes the later runs fail, which is what we want to scan).
    await run((url) => ({ instanceUrl: url, auth: { kind: 'access-token', accessToken: secrets.accessToken } }), { credentials: { accessToken: secrets.accessToken } });
    // password flow with security token, client secret and rotating refresh tokens.
    await run(
      (url) => ({ loginUrl: url, auth: { kind: 'password', username: 'canary@example.test', password: secrets.password, securityToken: secrets.securityToken, clientId: 'canary-client', clientSecret: secrets.clientSecret } }),
      { credentials: { username: 'canary@example.test', password: `${secrets.password}${secrets.securityToken}`, clientId: 'canary-client', clientSecret: secrets.clientSecret, rotateRefreshTokens: true } },
    );
    // client credentials.
    await run((url) => ({ loginUrl: url, instanceUrl: url, auth: { kind: 'client-credentials', clientId: 'canary-cc', clientSecret: secrets.ccClientSecret } }), { credentials: { clientId: 'canary-cc', clientSecret: secrets.ccClientSecret } });
    // JWT bearer with a private key.
    await run((url) => ({ loginUrl: url, auth: { kind: 'jwt', clientId: 'canary-jwt', username: 'jwt@example.test', privateKey: secrets.privateKey, audience: url } }), { credentials: { clientId: 'canary-jwt', username: 'jwt@example.test' } });
    // refused credentials: the auth error must not quote the password it refused.
    await run(
      (url) => ({ loginUrl: url, auth: { kind: 'password', username: 'canary@example.test', password: secrets.wrongPassword, clientId: 'canary-client', clientSecret: secrets.clientSecret } }),
      { credentials: { username: 'canary@example.test', password: 'the-right-one', clientId: 'canary-client', clientSecret: secrets.clientSecret } },
      true,
    );
    // The password, client-credentials and JWT runs sign in again after the expiry: all five runs succeed.
    for (const index of [1, 2, 3]) expect(traces[index]?.summaries.length, `run ${index} should have succeeded: ${traces[index]?.errors[2] ?? ''}`).toBe(5);
    const issued = Object.fromEntries([...proxies.flatMap((p) => [...p.issuedTokens])].map((token, index) => [`issued token ${index}`, token]));
    expect(Object.keys(issued).length, 'the proxy should have seen issued tokens').toBeGreaterThan(3);
    const scanned = sinks(traces, proxies);
    console.info(`[reliability] Salesforce canary scan: ${Object.keys(secrets).length + Object.keys(issued).length} secrets over ${Object.values(scanned).reduce((n, texts) => n + texts.length, 0)} texts`);
    expect(scanned['log lines']?.length, 'the connector logged nothing: the scan would prove nothing').toBeGreaterThan(0);
    expect(scanned['errors (String, util.inspect, JSON.stringify, causes)']?.length).toBeGreaterThan(0);
    expect(findLeaks({ ...secrets, ...issued }, scanned)).toEqual([]);
  });

  it('no Dynamics credential (client secret, issued access tokens) reaches any sink', async () => {
    const clientSecret = canary('dv-client-secret');
    const wrongSecret = canary('dv-wrong-secret');
    const traces: Traces[] = [];
    const proxies: RecordingProxy[] = [];
    const run = async (secret: string, emulatorSecret: string) => {
      const tenantId = '00000000-0000-0000-0000-0000000000cc';
      const clientId = '11111111-2222-3333-4444-5555555555cc';
      const emulator: DataverseEmulator = await startDataverseEmulator({
        crm: new InMemoryCrm({ schemas: dataverseSchemas(), deletedRetentionDays: 30 }),
        credentials: { tenantId, clientId, clientSecret: emulatorSecret },
      });
      const proxy = await startRecordingProxy(emulator.url);
      emulators.push(emulator, proxy);
      proxies.push(proxy);
      const logger = capturingLogger();
      const connector = new DynamicsConnector(
        emulator.connectorConfig({ orgUrl: proxy.url, authorityMetadata: emulator.authorityMetadata.replaceAll(emulator.url, proxy.url), clientSecret: secret, logger }),
      );
      traces.push(await exerciseAllOperations(connector, DV_NAMES, logger, () => emulator.faults.inject({ kind: 'token-expired', times: 1 })));
    };
    await run(clientSecret, clientSecret);
    await run(wrongSecret, clientSecret);
    expect(traces[0]?.summaries.length, `the run with the right secret should succeed: ${traces[0]?.errors[2] ?? ''}`).toBe(5);
    expect(traces[1]?.errors.length, 'the run with a refused secret should fail').toBeGreaterThan(0);
    const issued = Object.fromEntries([...proxies.flatMap((p) => [...p.issuedTokens])].map((token, index) => [`issued token ${index}`, token]));
    expect(Object.keys(issued).length, 'the proxy should have seen issued tokens').toBeGreaterThan(0);
    const scanned = sinks(traces, proxies);
    expect(scanned['URLs the emulators received']?.length).toBeGreaterThan(0);
    console.info(`[reliability] Dynamics canary scan: ${2 + Object.keys(issued).length} secrets over ${Object.values(scanned).reduce((n, texts) => n + texts.length, 0)} texts`);
    expect(findLeaks({ clientSecret, wrongSecret, ...issued }, scanned)).toEqual([]);
  });

  it('the scanner finds a canary in every encoding a leak could take (so a clean scan means something)', () => {
    const secret = canary('self-test');
    const leaks = findLeaks({ secret }, {
      raw: [`token=${secret}`],
      base64: [`Basic ${Buffer.from(secret).toString('base64')}`],
      url: [`/x?sid=${encodeURIComponent(secret)}`],
    });
    expect([...new Set(leaks.map((leak) => leak.sink))]).toEqual(['raw', 'base64', 'url']);
  });
});
