/**
 * Malformed responses (issue 8, item 5; scenario S21). The second page of a query answer of the
 * Salesforce and Dataverse emulators is mutated on the way to the connector (missing fields,
 * wrong types, `done:false` without a next link, a page repeated, a BOM, a wrong content type, a
 * page that silently drops records). Oracle: no record is lost for good. Whether the import
 * failed (the page rejected) or succeeded, the watermark has not moved past a record it did not
 * apply, so the next clean run leaves every CRM record in the local table exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CrmConnector, ImportJob } from '@crm-sync/sdk';
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { salesforceEmulatorSchemas, startSalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { sqliteRig, tempStoreFile } from '../support/sqlite-rig.js';

const RECORDS = 450;
const START = '2024-01-01T00:00:00.000Z';

type Mutation = (answer: { body: string; contentType: string }) => { body: string; contentType: string };
const json = (mutate: (value: Record<string, unknown>) => unknown): Mutation => ({ body, contentType }) => ({ body: JSON.stringify(mutate(JSON.parse(body) as Record<string, unknown>)), contentType });

/** Mutations per connector; `records` and `next` are the answer's record list and next-link keys. */
function mutations(records: string, next: string, more?: string): Record<string, Mutation> {
  const all: Record<string, Mutation> = {
    'the record list is missing': json((value) => ({ ...value, [records]: undefined })),
    'the record list is a string': json((value) => ({ ...value, [records]: 'not a list' })),
    'a record is null': json((value) => ({ ...value, [records]: [null, ...((value[records] as unknown[]) ?? []).slice(1)] })),
    'records lost their id': json((value) => ({ ...value, [records]: ((value[records] as Record<string, unknown>[]) ?? []).map(({ Id: _a, contactid: _b, ...rest }) => rest) })),
    'the page silently drops half its records': json((value) => ({ ...value, [records]: ((value[records] as unknown[]) ?? []).slice(0, 1) })),
    'the first page repeats (duplicates across pages)': json((value) => value),
    'a UTF-8 BOM before the JSON': ({ body, contentType }) => ({ body: `\uFEFF${body}`, contentType }),
    'an HTML content type on a JSON body': ({ body }) => ({ body, contentType: 'text/html' }),
    'an HTML page with 200': () => ({ body: '<html><body>Maintenance</body></html>', contentType: 'text/html' }),
  };
  all['the next link is missing while more pages remain'] = json((value) => {
    const copy = { ...value, [next]: undefined };
    if (more) copy[more] = false;
    return copy;
  });
  return all;
}

interface Setup {
  readonly connector: CrmConnector;
  readonly proxy: RecordingProxy;
  readonly job: ImportJob;
  readonly crmCount: () => number;
  close(): Promise<void>;
}

async function salesforce(): Promise<Setup> {
  const clock = new ManualClock(START);
  const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
  for (let i = 0; i < RECORDS; i += 1) crm.insert('Contact', { LastName: `Malformed ${i}`, Sync_Key__c: `m${i}` });
  clock.advance(60_000);
  const emulator = await startSalesforceEmulator({ crm });
  const proxy = await startRecordingProxy(emulator.url);
  const connector = new SalesforceConnector({ instanceUrl: proxy.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() }, pageSize: 200 });
  return {
    connector,
    proxy,
    crmCount: () => crm.count('Contact'),
    job: { kind: 'import', activity: 'malformed', object: 'Contact', table: 'imported', pageSize: 200, fields: [{ local: 'last_name', remote: 'LastName' }], automaticIndex: { enabled: true, safetyLagMs: 0 } },
    async close() {
      await connector.close?.();
      await proxy.close();
      await emulator.close();
    },
  };
}

async function dynamics(): Promise<Setup> {
  const clock = new ManualClock(START);
  const crm = new InMemoryCrm({ clock, schemas: dataverseSchemas(), deletedRetentionDays: 30 });
  for (let i = 0; i < RECORDS; i += 1) crm.insert('contact', { lastname: `Malformed ${i}`, crm_synckey: `m${i}` });
  clock.advance(60_000);
  const emulator = await startDataverseEmulator({ crm });
  const proxy = await startRecordingProxy(emulator.url);
  const connector = new DynamicsConnector(emulator.connectorConfig({ orgUrl: proxy.url, authorityMetadata: emulator.authorityMetadata.replaceAll(emulator.url, proxy.url), pageSize: 200 }));
  return {
    connector,
    proxy,
    crmCount: () => crm.count('contact'),
    job: { kind: 'import', activity: 'malformed', object: 'contact', table: 'imported', pageSize: 200, fields: [{ local: 'last_name', remote: 'lastname' }], automaticIndex: { enabled: true, safetyLagMs: 0 } },
    async close() {
      await connector.close?.();
      await proxy.close();
      await emulator.close();
    },
  };
}

let cases = 0;
let failedClosed = 0;
afterAll(() => console.info(`[reliability] malformed responses: ${cases} cases, ${failedClosed} refused by the import; no record lost after the next clean run`));

/**
 * Mutations left out, each with why: Dataverse pages carry no count and no "done" flag (the
 * absence of `@odata.nextLink` is the end), so a page that drops records or loses its next link
 * looks like a valid last page. Undetectable by design, documented in docs/guarantees.md.
 */
const LEFT_OUT: Readonly<Record<string, readonly string[]>> = {
  Salesforce: [],
  Dynamics: ['the page silently drops half its records', 'the next link is missing while more pages remain'],
};

const TARGETS = [
  { name: 'Salesforce', setup: salesforce, isQuery: (url: string) => /\/query/.test(url), mutations: mutations('records', 'nextRecordsUrl', 'done') },
  { name: 'Dynamics', setup: dynamics, isQuery: (url: string) => /\/contacts\?|\/contacts$/.test(url.split('&')[0] ?? url), mutations: mutations('value', '@odata.nextLink') },
];

for (const target of TARGETS) {
  describe(`malformed query answers on ${target.name}`, () => {
    for (const [name, mutate] of Object.entries(target.mutations).filter(([name]) => !LEFT_OUT[target.name]?.includes(name))) {
      it(`${name}: no record is lost for good (the next clean run has every record once)`, async () => {
        const setup = await target.setup();
        const rig = sqliteRig(setup.connector, tempStoreFile());
        let queries = 0;
        let firstPage: string | undefined;
        setup.proxy.setFaults(({ url, method }) => {
          if (method !== 'GET' || !target.isQuery(url)) return undefined;
          queries += 1;
          // The first page answers normally (so there is a next page); the second is mutated once.
          if (queries === 1) return { kind: 'mutate', name: 'record first page', mutate: (answer) => ((firstPage = answer.body), answer) };
          if (queries > 2) return undefined;
          if (name.startsWith('the first page repeats')) return { kind: 'mutate', name, mutate: (answer) => ({ ...answer, body: firstPage ?? answer.body }) };
          return { kind: 'mutate', name, mutate };
        });
        const result = await rig.orchestrator.runImport(setup.job);
        cases += 1;
        expect(queries, 'the mutation never applied: the import read a single page').toBeGreaterThan(1);
        if (result.isErr()) failedClosed += 1;
        // Whatever the first run did, the watermark must not have moved past a record it did not
        // apply: the next, clean run brings the local table to every CRM record, each once.
        setup.proxy.setFaults(undefined);
        const again = await rig.orchestrator.runImport(setup.job);
        expect(again.isOk(), again.isErr() ? again.error.message : '').toBe(true);
        expect(await rig.store.records.countLocal('imported'), `records lost for good after: ${result.isOk() ? `a success ${JSON.stringify(result.value).slice(0, 200)}` : `an error ${result.error.message}`}`).toBe(setup.crmCount());
        rig.store.close();
        await setup.close();
      });
    }
  });
}
