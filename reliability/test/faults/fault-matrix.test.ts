/**
 * Fault matrix (issue 8, item 2; scenarios S15, S17, S19, S20). For the Salesforce and Dynamics
 * connectors (through a fault-injecting proxy in front of their emulators) and the mock connector
 * (through its fault script), one workload runs all four operations (export by sync key, import,
 * delete, import of deleted records) while 10% of requests fail in one way. Oracle: the final CRM
 * state and the final local table equal the fault-free run's. A failure that outlasts the retry
 * policy ends the run with an error and leaves the watermark where it was.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { crmError, type CrmConnector, type CrmError, type ExportJob, type RunError, type RunSummary } from '@crm-sync/sdk';
import { InMemoryCrm, ManualClock, MockConnector } from '@crm-sync/connector-mock';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type EmulatorFault } from '@crm-sync/connector-salesforce/emulator';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator, type DataverseFault } from '@crm-sync/connector-dynamics/emulator';
import type { Result } from 'neverthrow';
import { startRecordingProxy, type ProxyFault } from '../support/recording-proxy.js';
import { sqliteRig, tempStoreFile } from '../support/sqlite-rig.js';

const RECORDS = 60;
const DELETED_KEYS = ['k003', 'k010', 'k017', 'k024', 'k031', 'k038'];
const DELETED_START = '2023-12-25T00:00:00.000Z';
const FAULT_RATE = 0.1;

/** A small seeded generator (mulberry32), so every fault schedule replays. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Names {
  readonly object: string;
  readonly lastName: string;
  readonly email: string;
  readonly syncKey: string;
}

/** What the oracle compares: the CRM by sync key, the local imported table, the run outcomes. */
interface Outcome {
  readonly crm: Record<string, string>;
  readonly localLive: number;
  /** Deletions the import of deleted records applied locally. */
  readonly deletedImported: number;
  readonly failures: string[];
}

/** A connector on a fresh CRM, and how to read that CRM's contacts. */
interface Target {
  readonly connector: CrmConnector;
  readonly contacts: () => readonly { readonly values: Readonly<Record<string, unknown>> }[];
  /** Moves the CRM's clock (so deletions fall inside the deleted-records window). */
  readonly advance: (ms: number) => void;
  close(): Promise<void>;
}

function must(result: Result<RunSummary, RunError>, failures: string[], what: string): void {
  if (result.isErr()) failures.push(`${what}: ${result.error.message}`);
}

/** Export, import, delete, import deleted; then the state the oracle compares. */
async function workload(target: Target, names: Names): Promise<Outcome> {
  const rig = sqliteRig(target.connector, tempStoreFile());
  const failures: string[] = [];
  for (let i = 0; i < RECORDS; i += 1) await rig.store.records.upsertLocal('people', `k${String(i).padStart(3, '0')}`, { last_name: `Fault ${i}`, email: `f${i}@example.test` });
  const exportJob: ExportJob = {
    kind: 'export',
    activity: 'faultExport',
    object: names.object,
    table: 'people',
    mode: 'upsert',
    syncKey: { remoteField: names.syncKey },
    processErrors: { retries: 5, waitMs: 0 },
    fields: [
      { local: 'last_name', remote: names.lastName },
      { local: 'email', remote: names.email },
    ],
  };
  must(await rig.orchestrator.runExport(exportJob), failures, 'export');
  // The CRM clock stands still unless moved: move it past the records' change time.
  target.advance(60_000);
  const imported = await rig.orchestrator.runImport({ kind: 'import', activity: 'faultImport', object: names.object, table: 'imported', pageSize: 7, processErrors: { retries: 5, waitMs: 0 }, fields: [{ local: 'last_name', remote: names.lastName }], automaticIndex: { enabled: true, safetyLagMs: 0 } });
  must(imported, failures, 'import');
  must(await rig.orchestrator.runDelete({ kind: 'delete', activity: 'faultDelete', object: names.object, table: 'people', keys: DELETED_KEYS, processErrors: { retries: 5, waitMs: 0 } }), failures, 'delete');
  target.advance(5 * 60_000);
  const deletedRun = await rig.orchestrator.runImportDeleted({ kind: 'import-deleted', activity: 'faultDeleted', object: names.object, table: 'imported', start: DELETED_START, processErrors: { retries: 5, waitMs: 0 } });
  must(deletedRun, failures, 'import deleted');
  const crm: Record<string, string> = {};
  for (const contact of target.contacts()) {
    const key = String(contact.values[names.syncKey]);
    expect(crm[key], `sync key ${key} exists twice in the CRM`).toBeUndefined();
    crm[key] = `${String(contact.values[names.lastName])} <${String(contact.values[names.email])}>`;
  }
  // Records the import wrote locally (each CRM record once: the import dedupes by id).
  const localLive = imported.isOk() ? imported.value.written : -1;
  rig.store.close();
  await target.close();
  return { crm, localLive, deletedImported: deletedRun.isOk() ? deletedRun.value.deleted : -1, failures };
}

type ProxyFaultFactory = (kind: 'salesforce' | 'dynamics') => ProxyFault;
const jsonError = (kind: 'salesforce' | 'dynamics', code: string, message: string): string =>
  kind === 'salesforce' ? JSON.stringify([{ message, errorCode: code }]) : JSON.stringify({ error: { code, message } });

/** The transport faults, played by the proxy for both HTTP connectors. */
const PROXY_FAULTS: Readonly<Record<string, ProxyFaultFactory>> = {
  '429 with Retry-After in seconds': (kind) => ({ kind: 'answer', status: 429, headers: { 'retry-after': '1', 'content-type': 'application/json' }, body: jsonError(kind, kind === 'salesforce' ? 'TOO_MANY_REQUESTS' : '0x80072322', 'Too many requests') }),
  '429 with Retry-After as an HTTP date': (kind) => ({ kind: 'answer', status: 429, headers: { 'retry-after': new Date(Date.now() + 1_000).toUTCString(), 'content-type': 'application/json' }, body: jsonError(kind, kind === 'salesforce' ? 'TOO_MANY_REQUESTS' : '0x80072322', 'Too many requests') }),
  '429 with a garbage Retry-After': (kind) => ({ kind: 'answer', status: 429, headers: { 'retry-after': 'soon-ish', 'content-type': 'application/json' }, body: jsonError(kind, kind === 'salesforce' ? 'TOO_MANY_REQUESTS' : '0x80072322', 'Too many requests') }),
  '503': (kind) => ({ kind: 'answer', status: 503, headers: { 'content-type': 'application/json' }, body: jsonError(kind, kind === 'salesforce' ? 'SERVER_UNAVAILABLE' : '0x80040216', 'Service unavailable') }),
  'HTML maintenance page': () => ({ kind: 'answer', status: 503, headers: { 'content-type': 'text/html' }, body: '<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>' }),
  'connection reset before commit': () => ({ kind: 'reset-before-commit' }),
  'connection reset after commit': () => ({ kind: 'reset-after-commit' }),
  'truncated JSON': () => ({ kind: 'truncate' }),
};

/** Token endpoints are left alone: a sign-in that fails is a different scenario. */
const isTokenRequest = (url: string): boolean => /oauth2/.test(url);

async function salesforceTarget(options: { proxyFault?: ProxyFaultFactory; emulatorFault?: EmulatorFault; seed: number; rate?: number }): Promise<Target & { injected: () => number }> {
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
  const emulator = await startSalesforceEmulator({ crm, seed: options.seed, ...(options.emulatorFault ? { faults: [options.emulatorFault] } : {}) });
  const proxy = await startRecordingProxy(emulator.url);
  const random = seeded(options.seed);
  const factory = options.proxyFault;
  const rate = options.rate ?? FAULT_RATE;
  if (factory) proxy.setFaults(({ url }) => (!isTokenRequest(url) && random() < rate ? factory('salesforce') : undefined));
  // Password sign-in, so an expired session can be renewed.
  const connector = new SalesforceConnector({ loginUrl: proxy.url, auth: { kind: 'password', username: 'fault@example.test', password: 'pw' } });
  return {
    connector,
    contacts: () => crm.records('Contact'),
    advance: (ms) => clock.advance(ms),
    injected: () => [...proxy.injected.values()].reduce((a, b) => a + b, 0) + emulator.requestLog.filter((entry) => entry.fault !== undefined).length,
    async close() {
      await connector.close?.();
      await proxy.close();
      await emulator.close();
    },
  };
}

async function dynamicsTarget(options: { proxyFault?: ProxyFaultFactory; emulatorFaults?: readonly DataverseFault[]; seed: number }): Promise<Target & { injected: () => number }> {
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock, schemas: dataverseSchemas(), deletedRetentionDays: 30 });
  const emulator = await startDataverseEmulator({ crm, ...(options.emulatorFaults ? { faults: options.emulatorFaults } : {}) });
  const proxy = await startRecordingProxy(emulator.url);
  const random = seeded(options.seed);
  const factory = options.proxyFault;
  if (factory) proxy.setFaults(({ url }) => (!isTokenRequest(url) && random() < FAULT_RATE ? factory('dynamics') : undefined));
  const connector = new DynamicsConnector(emulator.connectorConfig({ orgUrl: proxy.url, authorityMetadata: emulator.authorityMetadata.replaceAll(emulator.url, proxy.url), batchSize: 20 }));
  return {
    connector,
    contacts: () => crm.records('contact'),
    advance: (ms) => clock.advance(ms),
    injected: () => [...proxy.injected.values()].reduce((a, b) => a + b, 0) + (options.emulatorFaults?.reduce((n, f) => n + (f.times ?? 1), 0) ?? 0),
    async close() {
      await connector.close?.();
      await proxy.close();
      await emulator.close();
    },
  };
}

function mockTarget(fault?: (connector: MockConnector) => void): Target & { injected: () => number } {
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  const connector = new MockConnector(crm);
  fault?.(connector);
  return { connector, contacts: () => crm.records('contact'), injected: () => connector.faults.injected, advance: (ms) => clock.advance(ms), close: async () => {} };
}

const SF_NAMES: Names = { object: 'Contact', lastName: 'LastName', email: 'Email', syncKey: 'Sync_Key__c' };
const DV_NAMES: Names = { object: 'contact', lastName: 'lastname', email: 'emailaddress1', syncKey: 'crm_synckey' };
const MOCK_NAMES: Names = { object: 'contact', lastName: 'lastName', email: 'email', syncKey: 'externalKey' };

let faultsInjected = 0;
let scenarios = 0;
afterAll(() => console.info(`[reliability] fault matrix: ${scenarios} scenarios, ${faultsInjected} faults injected, all converged to the fault-free state`));

function expectSame(faulty: Outcome, clean: Outcome): void {
  expect(faulty.failures).toEqual([]);
  expect(faulty.crm).toEqual(clean.crm);
  expect(faulty.localLive).toBe(clean.localLive);
  expect(faulty.deletedImported).toBe(clean.deletedImported);
}

describe('fault matrix: Salesforce (emulator behind a fault proxy)', () => {
  let clean: Outcome;
  it('fault-free baseline runs all four operations', async () => {
    clean = await workload(await salesforceTarget({ seed: 1 }), SF_NAMES);
    expect(clean.failures).toEqual([]);
    expect(Object.keys(clean.crm)).toHaveLength(RECORDS - DELETED_KEYS.length);
    expect(clean.deletedImported).toBe(DELETED_KEYS.length);
    expect(clean.localLive).toBe(RECORDS);
  });
  const emulatorFaults: Record<string, EmulatorFault> = {
    'expired session mid-run': { kind: 'expired-session', probability: FAULT_RATE },
    // A locked row in a collections call is a retryable per-record reject the run resends; on
    // other routes it is a retryable 400 the runtime retries.
    UNABLE_TO_LOCK_ROW: { kind: 'lock-row', probability: FAULT_RATE },
  };
  for (const [name, proxyFault] of Object.entries(PROXY_FAULTS)) {
    it(`ends in the fault-free state with 10% of requests failing: ${name}`, async () => {
      const target = await salesforceTarget({ proxyFault, seed: 7 });
      expectSame(await workload(target, SF_NAMES), clean);
      expect(target.injected()).toBeGreaterThan(0);
      faultsInjected += target.injected();
      scenarios += 1;
    });
  }
  for (const [name, emulatorFault] of Object.entries(emulatorFaults)) {
    it(`ends in the fault-free state with 10% of requests failing: ${name}`, async () => {
      const target = await salesforceTarget({ emulatorFault, seed: 7 });
      expectSame(await workload(target, SF_NAMES), clean);
      expect(target.injected()).toBeGreaterThan(0);
      faultsInjected += target.injected();
      scenarios += 1;
    });
  }
  it('a failure that outlasts the retry policy ends the import with an error and leaves the watermark unmoved', async () => {
    const target = await salesforceTarget({ seed: 3 });
    const rig = sqliteRig(target.connector, tempStoreFile());
    const job = { kind: 'import', activity: 'exhausted', object: 'Contact', table: 'imported', fields: [{ local: 'last_name', remote: 'LastName' }], automaticIndex: { enabled: true, safetyLagMs: 0 } } as const;
    const first = await rig.orchestrator.runImport(job);
    if (first.isErr()) throw new Error(first.error.message);
    const before = await rig.store.options.getOption('LASTIMPORT_default_exhausted');
    const again = await salesforceTarget({ seed: 3, rate: 1, proxyFault: PROXY_FAULTS['503'] });
    // Time passes, so the second import has a window to read.
    again.advance(120_000);
    const rig2 = sqliteRig(again.connector, rig.file);
    rig.store.close();
    const result = await rig2.orchestrator.runImport(job);
    expect(result.isErr(), 'the import should fail once the retries are spent').toBe(true);
    expect(before, 'the first import should have stored a watermark').toBeDefined();
    expect(await rig2.store.options.getOption('LASTIMPORT_default_exhausted')).toEqual(before);
    rig2.store.close();
    await target.close();
    await again.close();
  });
});

describe('Retry-After is honoured on the wire', () => {
  it('no request reaches the CRM inside a Retry-After window (real clock, 20% of queries answered 429 with Retry-After: 1)', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00.000Z');
    const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
    for (let i = 0; i < 450; i += 1) crm.insert('Contact', { LastName: `Wait ${i}`, Sync_Key__c: `w${i}` });
    clock.advance(60_000);
    const emulator = await startSalesforceEmulator({ crm });
    const proxy = await startRecordingProxy(emulator.url);
    const random = seeded(5);
    const arrivals: number[] = [];
    const windows: { from: number; to: number }[] = [];
    proxy.setFaults(({ url }) => {
      const now = performance.now();
      arrivals.push(now);
      // The first query always gets a 429, so the check can never pass vacuously.
      if (!/\/query/.test(url) || (windows.length > 0 && random() >= 0.2)) return undefined;
      windows.push({ from: now, to: now + 1_000 });
      return { kind: 'answer', status: 429, headers: { 'retry-after': '1', 'content-type': 'application/json' }, body: jsonError('salesforce', 'TOO_MANY_REQUESTS', 'Too many requests') };
    });
    const connector = new SalesforceConnector({ instanceUrl: proxy.url, auth: { kind: 'access-token', accessToken: emulator.issueAccessToken() }, pageSize: 200 });
    // The default runtime: real clock, real sleeps.
    const rig = sqliteRig(connector, tempStoreFile(), undefined, {});
    const result = await rig.orchestrator.runImport({ kind: 'import', activity: 'retryAfter', object: 'Contact', table: 'imported', pageSize: 200, fields: [{ local: 'last_name', remote: 'LastName' }], automaticIndex: { enabled: true, safetyLagMs: 0 } });
    expect(result.isOk(), result.isErr() ? result.error.message : '').toBe(true);
    expect(windows.length).toBeGreaterThan(0);
    const inside = arrivals.filter((at) => windows.some((window) => at > window.from + 1 && at < window.to));
    expect(inside, 'requests arrived inside a Retry-After window').toEqual([]);
    faultsInjected += windows.length;
    rig.store.close();
    await connector.close?.();
    await proxy.close();
    await emulator.close();
  });
});

describe('fault matrix: Dynamics (emulator behind a fault proxy)', () => {
  let clean: Outcome;
  it('fault-free baseline runs all four operations', async () => {
    clean = await workload(await dynamicsTarget({ seed: 1 }), DV_NAMES);
    expect(clean.failures).toEqual([]);
    expect(Object.keys(clean.crm)).toHaveLength(RECORDS - DELETED_KEYS.length);
    expect(clean.deletedImported).toBe(DELETED_KEYS.length);
    expect(clean.localLive).toBe(RECORDS);
  });
  for (const [name, proxyFault] of Object.entries(PROXY_FAULTS)) {
    it(`ends in the fault-free state with 10% of requests failing: ${name}`, async () => {
      const target = await dynamicsTarget({ proxyFault, seed: 7 });
      expectSame(await workload(target, DV_NAMES), clean);
      expect(target.injected()).toBeGreaterThan(0);
      faultsInjected += target.injected();
      scenarios += 1;
    });
  }
  it('ends in the fault-free state with expired tokens mid-run', async () => {
    const target = await dynamicsTarget({ seed: 7, emulatorFaults: [{ kind: 'token-expired', times: 3 }] });
    expectSame(await workload(target, DV_NAMES), clean);
    faultsInjected += target.injected();
    scenarios += 1;
  });
});

describe('fault matrix: mock connector (fault script)', () => {
  let clean: Outcome;
  it('fault-free baseline runs all four operations', async () => {
    clean = await workload(mockTarget(), MOCK_NAMES);
    expect(clean.failures).toEqual([]);
    expect(Object.keys(clean.crm)).toHaveLength(RECORDS - DELETED_KEYS.length);
  });
  const errors: Record<string, { error: CrmError; afterCommit?: boolean }> = {
    '429 with Retry-After': { error: crmError('rate-limited', 'mock', 'Too many requests', { retryAfterMs: 1_000 }) },
    'transient failure before commit': { error: crmError('transient', 'mock', 'Service unavailable') },
    'connection reset after commit': { error: crmError('transient', 'mock', 'Connection reset', { inDoubt: true }), afterCommit: true },
    'expired token': { error: crmError('auth', 'mock', 'Session expired', { retryable: true }) },
  };
  for (const [name, { error, afterCommit }] of Object.entries(errors)) {
    it(`ends in the fault-free state with every 10th call failing: ${name}`, async () => {
      const target = mockTarget((connector) => connector.faults.failEvery(10, error, afterCommit ? { afterCommit } : {}));
      expectSame(await workload(target, MOCK_NAMES), clean);
      expect(target.injected()).toBeGreaterThan(0);
      faultsInjected += target.injected();
      scenarios += 1;
    });
  }
});
