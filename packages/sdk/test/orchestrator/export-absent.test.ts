/**
 * Absent is never null on export: a local value the row does not have is left out of the record's
 * payload (the CRM keeps its value), an explicit `null` clears the CRM field, and a batch whose
 * records carry different field sets is written correctly on every write path of every connector
 * (mock; Salesforce sObject Collections and Bulk API 2.0; Dataverse `$batch` and the bulk
 * messages CreateMultiple / UpsertMultiple).
 */
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { salesforceEmulatorSchemas, startSalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExportJob, FieldValues, UpsertBatchRequest } from '../../src/index.js';
import { harnesses, inMemoryCrmSide, START, withMethod, type Harness, type HarnessFactory } from './harnesses.js';
import { makeRig, peopleExportJob } from './setup.js';

/** A harness plus the write routes its emulator saw, to prove which path a test exercised. */
interface PathHarness extends Harness {
  readonly routes?: () => readonly string[];
}

interface PathFactory {
  readonly name: string;
  /** Routes that must (and must not) appear after an export of inserts and updates. */
  readonly expectRoutes?: { readonly used: readonly string[]; readonly unused: readonly string[] };
  setup(): Promise<PathHarness>;
  teardown?(harness: PathHarness): Promise<void>;
}

const closers = new WeakMap<object, () => Promise<void>>();

/** Salesforce through Bulk API 2.0 for every batch (threshold 1): one CSV header for all records. */
const salesforceBulk: PathFactory = {
  name: 'salesforce (emulator, Bulk API 2.0)',
  expectRoutes: { used: ['bulk-ingest'], unused: ['collections'] },
  async setup() {
    const clock = new ManualClock(START);
    const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
    const emulator = await startSalesforceEmulator({ crm });
    const connector = new SalesforceConnector({ instanceUrl: emulator.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() }, bulkThreshold: 1 });
    const harness: PathHarness = {
      connector,
      names: { object: 'Contact', id: 'Id', lastName: 'LastName', email: 'Email', changeField: 'LastModifiedDate', syncKey: 'Sync_Key__c', readOnly: 'CreatedDate', date: 'Birthdate' },
      crm: crmSide(crm, clock, 'Contact'),
      routes: () => emulator.requestLog.map((entry) => entry.route),
    };
    closers.set(harness, async () => {
      await connector.close();
      await emulator.close();
    });
    return harness;
  },
  teardown: async (harness) => closers.get(harness)?.(),
};

/** Salesforce through sObject Collections (the default below the bulk threshold). */
const salesforceCollections: PathFactory = {
  name: 'salesforce (emulator, sObject Collections)',
  expectRoutes: { used: ['collections'], unused: ['bulk-ingest'] },
  async setup() {
    const clock = new ManualClock(START);
    const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
    const emulator = await startSalesforceEmulator({ crm });
    const connector = new SalesforceConnector({ instanceUrl: emulator.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() } });
    const harness: PathHarness = {
      connector,
      names: { object: 'Contact', id: 'Id', lastName: 'LastName', email: 'Email', changeField: 'LastModifiedDate', syncKey: 'Sync_Key__c', readOnly: 'CreatedDate', date: 'Birthdate' },
      crm: crmSide(crm, clock, 'Contact'),
      routes: () => emulator.requestLog.map((entry) => entry.route),
    };
    closers.set(harness, async () => {
      await connector.close();
      await emulator.close();
    });
    return harness;
  },
  teardown: async (harness) => closers.get(harness)?.(),
};

/** Dataverse with the bulk messages on: inserts by CreateMultiple, upserts by UpsertMultiple, updates by `$batch`. */
const dynamicsBulkMessages: PathFactory = {
  name: 'dynamics (emulator, CreateMultiple / UpsertMultiple)',
  expectRoutes: { used: ['CreateMultiple', '$batch'], unused: [] },
  async setup() {
    const clock = new ManualClock(START);
    const crm = new InMemoryCrm({ clock, schemas: dataverseSchemas() });
    const emulator = await startDataverseEmulator({ crm });
    const connector = new DynamicsConnector(emulator.connectorConfig({ bulkMessages: true }));
    const harness: PathHarness = {
      connector,
      names: { object: 'contact', id: 'contactid', lastName: 'lastname', email: 'emailaddress1', changeField: 'modifiedon', syncKey: 'crm_synckey', readOnly: 'createdon', date: 'birthdate' },
      crm: crmSide(crm, clock, 'contact'),
      routes: () => emulator.requestLog.map((entry) => entry.path.split('/').pop()!.replace(/^.*\.([A-Za-z]+Multiple)$/, '$1')),
    };
    closers.set(harness, async () => {
      await connector.close();
      await emulator.close();
    });
    return harness;
  },
  teardown: async (harness) => closers.get(harness)?.(),
};

/** The shared CRM-side helpers; these paths inject no faults. */
function crmSide(crm: InMemoryCrm, clock: ManualClock, object: string): Harness['crm'] {
  return {
    ...inMemoryCrmSide(crm, clock, object),
    failNext: () => {
      throw new Error('not used here');
    },
  };
}

const shared: PathFactory[] = harnesses.map((factory: HarnessFactory) => ({
  name: factory.name,
  setup: () => factory.setup(),
  ...(factory.teardown ? { teardown: (harness: PathHarness) => factory.teardown!(harness) } : {}),
}));

for (const factory of [...shared, salesforceCollections, salesforceBulk, dynamicsBulkMessages]) {
  describe(`absent is never null on export, ${factory.name}`, () => {
    let harness: PathHarness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    function job(overrides: Partial<ExportJob> = {}): ExportJob {
      const base = peopleExportJob(harness);
      return { ...base, fields: [...base.fields, { local: 'birth_date', remote: harness.names.date }], ...overrides };
    }

    /** The connector, recording every batch it is asked to write. */
    function recording(): { requests: UpsertBatchRequest[]; connector: Harness['connector'] } {
      const requests: UpsertBatchRequest[] = [];
      const connector = withMethod(harness.connector, 'upsertBatch', (inner) => (request, options) => {
        requests.push(request);
        return inner.upsertBatch(request, options);
      });
      return { requests, connector };
    }

    function contact(id: string): FieldValues {
      const found = harness.crm.contacts().find((candidate) => candidate.id === id);
      if (found === undefined) throw new Error(`no CRM contact ${id}`);
      return found.values;
    }

    function byLastName(lastName: string): FieldValues {
      const found = harness.crm.contacts().find((candidate) => candidate.values[harness.names.lastName] === lastName);
      if (found === undefined) throw new Error(`no CRM contact named ${lastName}`);
      return found.values;
    }

    for (const withSyncKey of [false, true]) {
      it(`updates and ${withSyncKey ? 'upserts' : 'inserts'} in mixed batches: an absent local value keeps the CRM value, an explicit null clears it`, async () => {
        const { names } = harness;
        const kept = harness.crm.create({ [names.lastName]: 'Kept', [names.email]: 'kept@example.test', [names.date]: '1980-02-03' });
        const cleared = harness.crm.create({ [names.lastName]: 'Cleared', [names.email]: 'cleared@example.test', [names.date]: '1981-04-05' });
        const { requests, connector } = recording();
        const rig = makeRig({ ...harness, connector });
        // Updates: one without email and birth date, one with an explicit null email.
        rig.records.put('people', 'u1', { last_name: 'Kept 2' }, { crmId: kept });
        rig.records.put('people', 'u2', { last_name: 'Cleared 2', email: null }, { crmId: cleared });
        // Inserts: one without birth date, one with explicit nulls.
        rig.records.put('people', 'n1', { last_name: 'New 1', email: 'new1@example.test' });
        rig.records.put('people', 'n2', { last_name: 'New 2', email: null, birth_date: null });

        const summary = (await rig.orchestrator.runExport(job(withSyncKey ? { syncKey: { remoteField: names.syncKey } } : {})))._unsafeUnwrap();
        expect(summary).toMatchObject({ created: 2, updated: 2, rejected: 0 });

        // What left: the absent fields are not in the payload at all; the nulls are.
        const sent = requests.flatMap((request) => request.records.map((record) => record.values));
        const payloadOf = (lastName: string) => sent.find((values) => values[names.lastName] === lastName)!;
        // The sync key is the local key, filled on every record when the job has one.
        const key = withSyncKey ? [names.syncKey] : [];
        expect(Object.keys(payloadOf('Kept 2')).sort()).toEqual([names.lastName, ...key].sort());
        expect(Object.keys(payloadOf('Cleared 2')).sort()).toEqual([names.lastName, names.email, ...key].sort());
        expect(payloadOf('Cleared 2')[names.email]).toBeNull();
        expect(payloadOf('New 1')).not.toHaveProperty(names.date);
        expect(payloadOf('New 2')).toMatchObject({ [names.email]: null, [names.date]: null });
        // Updates and inserts each went out as one batch holding both field sets.
        expect(requests.length).toBe(2);

        // What the CRM holds.
        expect(contact(kept)).toMatchObject({ [names.lastName]: 'Kept 2', [names.email]: 'kept@example.test', [names.date]: '1980-02-03' });
        expect(contact(cleared)).toMatchObject({ [names.lastName]: 'Cleared 2', [names.date]: '1981-04-05' });
        expect(contact(cleared)[names.email] ?? null).toBeNull();
        expect(byLastName('New 1')[names.email]).toBe('new1@example.test');
        expect(byLastName('New 1')[names.date] ?? null).toBeNull();
        expect(byLastName('New 2')[names.email] ?? null).toBeNull();

        const routes = harness.routes?.() ?? [];
        for (const route of factory.expectRoutes?.used ?? []) {
          // UpsertMultiple replaces CreateMultiple when inserts go out as upserts by the sync key.
          const expected = withSyncKey && route === 'CreateMultiple' ? 'UpsertMultiple' : route;
          expect(routes).toContain(expected);
        }
        for (const route of factory.expectRoutes?.unused ?? []) expect(routes).not.toContain(route);
      });
    }

    it('a mapping whose local column no row has is refused before any CRM call, with its job path and a suggestion', async () => {
      const { requests, connector } = recording();
      let describes = 0;
      const counted = withMethod(connector, 'query', (inner) => inner.query.bind(inner));
      const watched = new Proxy(counted, {
        get(target, property, receiver) {
          if (property === 'describe') {
            return (...args: Parameters<Harness['connector']['describe']>) => {
              describes += 1;
              return target.describe(...args);
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const rig = makeRig({ ...harness, connector: watched });
      rig.records.put('people', 'p1', { first_name: 'Ann', last_name: 'Lee', email: 'ann@example.test' });
      const result = await rig.orchestrator.runExport(
        job({
          fields: [
            { local: 'first_nmae', remote: harness.names.lastName },
            { local: 'email', remote: harness.names.email },
            { local: 'phone_number', remote: harness.names.date },
          ],
        }),
      );
      const error = result._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.issues?.map((issue) => issue.path)).toEqual(['fields[0].local', 'fields[2].local']);
      expect(error.issues?.[0]?.message).toContain('"first_nmae" is not a column of local table "people" (did you mean "first_name"?)');
      expect(error.issues?.[1]?.message).toContain('its columns are email, first_name, last_name');
      expect(error.message).toContain('fields[0].local');
      expect(describes).toBe(0);
      expect(requests).toHaveLength(0);
      expect(harness.crm.contacts()).toHaveLength(0);
      expect(await rig.journal.listRuns()).toHaveLength(0);
    });
  });
}
