/**
 * The connectors the orchestrator's end-to-end tests run on. Adding a connector is one entry in
 * {@link harnesses}: a setup that returns the connector plus the CRM-side helpers the tests use to
 * arrange data, move the server clock and inject faults.
 */
import { InMemoryCrm, ManualClock, MockConnector, standardMockSchemas, type MockIdFormat } from '@crm-sync/connector-mock';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type EmulatorFault, type EmulatorRoute, type SalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator, type DataverseEmulator, type DataverseFault } from '@crm-sync/connector-dynamics/emulator';
import type { CrmConnector, CrmError, FieldValues, Instant } from '../../src/index.js';

/** Names of the contact-like object and its fields on one CRM. */
export interface HarnessNames {
  readonly object: string;
  readonly id: string;
  readonly lastName: string;
  readonly email: string;
  readonly changeField: string;
  /** A unique external-id text field, usable as sync key. */
  readonly syncKey: string;
  /** A field that cannot be set on insert. */
  readonly readOnly: string;
  /** A field that cannot be sorted or filtered, when the CRM has one. */
  readonly notSortable?: string;
  /** A filterable date-only field (the seed's "activity since 1 November 2012" example filters one). */
  readonly date: string;
}

/** The CRM side of a harness. */
export interface CrmSide {
  /** Creates a contact; `at` overrides the change time. Returns its id. */
  create(values: FieldValues, at?: Instant): string;
  update(id: string, values: FieldValues): void;
  remove(id: string): void;
  /** Re-stamps a record's change time (simulates a late-committing transaction). */
  stampChange(id: string, at: Instant): void;
  /** Purges the CRM's delete log before `before`, earlier than its retention would. */
  purgeDeleted(before: Instant): void;
  /** Sets the CRM server clock. */
  setNow(at: Instant): void;
  advance(ms: number): void;
  now(): Instant;
  /** Live contacts. */
  contacts(): readonly { readonly id: string; readonly values: FieldValues }[];
  /** The next `count` calls of `operations` fail with `error`; `afterCommit` applies a write first. */
  failNext(count: number, error: CrmError, options?: { operations?: readonly string[]; afterCommit?: boolean }): void;
}

/** One connector under test. */
export interface Harness {
  readonly connector: CrmConnector;
  readonly crm: CrmSide;
  readonly names: HarnessNames;
  /**
   * Takes the CRM's server down (connections refused) and up again with its data and tokens, when
   * the CRM is reached over the network (the emulators; not the in-process mock).
   */
  readonly outage?: { stop(): Promise<void>; start(): Promise<void> };
}

/** A named harness factory. */
export interface HarnessFactory {
  readonly name: string;
  setup(): Promise<Harness>;
  /** Releases servers and sockets. */
  teardown?(harness: Harness): Promise<void>;
}

export const START: Instant = '2024-06-01T00:00:00.000Z';

/**
 * The CRM-side helpers every harness shares: each emulator serves an `InMemoryCrm`, so arranging
 * data and moving the server clock is the same everywhere; only fault injection differs.
 */
export function inMemoryCrmSide(crm: InMemoryCrm, clock: ManualClock, object: string): Omit<CrmSide, 'failNext'> {
  return {
    create(values, at) {
      const outcome = crm.insert(object, values, at === undefined ? {} : { at });
      if (!outcome.ok) throw new Error(outcome.reject.message);
      return outcome.id;
    },
    update(id, values) {
      const outcome = crm.update(object, id, values);
      if (!outcome.ok) throw new Error(outcome.reject.message);
    },
    remove(id) {
      crm.delete(object, id);
    },
    stampChange: (id, at) => crm.stampChange(object, id, at),
    purgeDeleted: (before) => crm.purgeDeleted(object, before),
    setNow: (at) => clock.set(at),
    advance: (ms) => clock.advance(ms),
    now: () => clock.now().toISOString(),
    contacts: () => crm.records(object).map((record) => ({ id: record.id, values: record.values })),
  };
}

/** The mock CRM, its contacts with ids of `idFormat` (default the mock's own `CON-000001`). */
export function mockHarness(idFormat: MockIdFormat = 'mock'): HarnessFactory {
  return {
    name: idFormat === 'mock' ? 'mock' : `mock (${idFormat} ids)`,
    async setup() {
      const clock = new ManualClock(START);
      const schemas = standardMockSchemas().map((schema) => (schema.name === 'contact' && idFormat !== 'mock' ? { ...schema, idFormat, idPrefix: '003' } : schema));
      const crm = new InMemoryCrm({ clock, schemas });
      const connector = new MockConnector(crm);
      const object = 'contact';
      return {
        connector,
        names: { object, id: 'id', lastName: 'lastName', email: 'email', changeField: 'updatedAt', syncKey: 'externalKey', readOnly: 'createdAt', date: 'birthDate' },
        crm: {
          ...inMemoryCrmSide(crm, clock, object),
          failNext: (count, error, options) =>
            connector.faults.failNext(count, error, {
              ...(options?.operations === undefined ? {} : { operations: [...options.operations] }),
              ...(options?.afterCommit === undefined ? {} : { afterCommit: options.afterCommit }),
            }),
        },
      };
    },
  };
}

const mock = mockHarness();


/** Emulator routes each contract operation uses, so a fault hits only that operation. */
const SALESFORCE_ROUTES: Readonly<Record<string, readonly EmulatorRoute[]>> = {
  query: ['query', 'query-more'],
  upsertBatch: ['collections', 'bulk-ingest'],
  delete: ['collections'],
  getDeleted: ['deleted'],
  describe: ['describe'],
  listObjects: ['describe-global'],
};

/** A CrmError as the emulator's fault that makes the connector report the same kind. */
function salesforceFaultFor(error: CrmError, afterCommit: boolean): EmulatorFault['kind'] {
  if (error.kind === 'rate-limited') return 'quotaExhausted' in error && error.quotaExhausted ? 'request-limit' : 'rate-limit';
  if (error.kind === 'auth') return 'expired-session';
  if (error.kind === 'transient') return afterCommit || error.inDoubt ? 'reset-after-commit' : 'unavailable';
  return 'bad-request';
}

/** The emulator behind each Salesforce harness connector, for teardown. */
const emulators = new WeakMap<CrmConnector, SalesforceEmulator>();

/** The Salesforce connector, through jsforce over HTTP, against the Salesforce emulator on loopback. */
const salesforce: HarnessFactory = {
  name: 'salesforce (emulator)',
  async setup() {
    const clock = new ManualClock(START);
    const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
    const emulator = await startSalesforceEmulator({ crm });
    const connector = new SalesforceConnector({ instanceUrl: emulator.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() } });
    const object = 'Contact';
    emulators.set(connector, emulator);
    return {
      connector,
      outage: { stop: () => emulator.stop(), start: () => emulator.start() },
      names: { object, id: 'Id', lastName: 'LastName', email: 'Email', changeField: 'LastModifiedDate', syncKey: 'Sync_Key__c', readOnly: 'CreatedDate', date: 'Birthdate' },
      crm: {
        ...inMemoryCrmSide(crm, clock, object),
        failNext: (count, error, options) =>
          emulator.faults.add({
            kind: salesforceFaultFor(error, options?.afterCommit ?? false),
            times: count,
            ...(error.retryAfterMs !== undefined ? { retryAfter: String(Math.ceil(error.retryAfterMs / 1000)) } : {}),
            ...(options?.operations ? { routes: options.operations.flatMap((operation) => SALESFORCE_ROUTES[operation] ?? []) } : {}),
          }),
      },
    };
  },
  async teardown(harness) {
    await harness.connector.close?.();
    await emulators.get(harness.connector)?.close();
  },
};


/** Emulator paths per contract operation, so a fault hits only that operation. */
const DATAVERSE_MATCH: Readonly<Record<string, DataverseFault['match']>> = {
  query: { method: 'GET', path: /^contacts/ },
  upsertBatch: { method: 'POST', path: '$batch' },
  delete: { method: 'POST', path: '$batch' },
  getDeleted: { method: 'GET', path: /^audits/ },
  describe: { method: 'GET', path: /^EntityDefinitions/ },
};

/** A CrmError as the Dataverse emulator's fault that makes the connector report the same kind. */
function dataverseFaultFor(error: CrmError, count: number, afterCommit: boolean): DataverseFault {
  switch (error.kind) {
    case 'rate-limited':
      return { kind: 'rate-limit', times: count, retryAfterSeconds: (error.retryAfterMs ?? 1000) / 1000 };
    case 'transient':
      return afterCommit || error.inDoubt ? { kind: 'reset-after-commit', times: count } : { kind: 'unavailable', times: count };
    case 'auth':
      return { kind: 'token-expired', times: count * 2 };
    default:
      return { kind: 'error', times: count, status: 400, code: '0x80040203', message: error.message };
  }
}

/** The emulator behind each Dynamics harness connector, for teardown. */
const dataverseEmulators = new WeakMap<CrmConnector, DataverseEmulator>();

/** The Dynamics connector, msal-node tokens and Web API over HTTP, against the Dataverse emulator. */
const dynamics: HarnessFactory = {
  name: 'dynamics (emulator)',
  async setup() {
    const clock = new ManualClock(START);
    const crm = new InMemoryCrm({ clock, schemas: dataverseSchemas(), deletedRetentionDays: 30 });
    const emulator = await startDataverseEmulator({ crm });
    // Batches of 200 so that exports of a few hundred records span several batches, as the tests expect.
    const connector = new DynamicsConnector(emulator.connectorConfig({ deletedRetentionDays: 30, batchSize: 200 }));
    const object = 'contact';
    dataverseEmulators.set(connector, emulator);
    return {
      connector,
      outage: { stop: () => emulator.stop(), start: () => emulator.start() },
      names: { object, id: 'contactid', lastName: 'lastname', email: 'emailaddress1', changeField: 'modifiedon', syncKey: 'crm_synckey', readOnly: 'createdon', notSortable: 'description', date: 'birthdate' },
      crm: {
        ...inMemoryCrmSide(crm, clock, object),
        failNext(count, error, options) {
          const fault = dataverseFaultFor(error, count, options?.afterCommit ?? false);
          for (const operation of options?.operations ?? [undefined]) {
            const match = operation === undefined ? undefined : DATAVERSE_MATCH[operation];
            emulator.faults.inject(match === undefined ? fault : { ...fault, match });
          }
        },
      },
    };
  },
  async teardown(harness) {
    await harness.connector.close?.();
    await dataverseEmulators.get(harness.connector)?.close();
  },
};

/** Every connector the end-to-end tests run on. Add yours here. */
export const harnesses: readonly HarnessFactory[] = [mock, salesforce, dynamics];

/** The same connector, declaring different capabilities (to exercise smaller limits or missing features). */
export function withCapabilities(connector: CrmConnector, overrides: Partial<CrmConnector['capabilities']>): CrmConnector {
  return new Proxy(connector, {
    get(target, property, receiver) {
      if (property === 'capabilities') return { ...target.capabilities, ...overrides };
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The same connector with one method replaced (to inject a behaviour the CRM cannot be made to show). */
export function withMethod<K extends 'describe' | 'query' | 'upsertBatch' | 'getDeleted' | 'delete'>(
  connector: CrmConnector,
  method: K,
  replacement: (inner: CrmConnector) => CrmConnector[K],
): CrmConnector {
  return new Proxy(connector, {
    get(target, property, receiver) {
      if (property === method) return replacement(target);
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
