/**
 * A Dynamics harness in the shape of the SDK's orchestrator end-to-end harnesses
 * (`packages/sdk/test/orchestrator/harnesses.ts`): the connector over the emulator, plus the CRM
 * side the tests use to arrange data, move the server clock and script faults.
 */
import type { CrmConnector, CrmError, FieldValues, Instant } from '@crm-sync/sdk';
import type { DataverseFault } from '../../src/emulator/index.js';
import { startHarness, type DynamicsHarness } from './harness.js';

/** Emulator paths per contract operation, for faults aimed at one operation. */
const OPERATION_MATCH: Readonly<Record<string, DataverseFault['match']>> = {
  query: { method: 'GET', path: /^contacts/ },
  upsertBatch: { method: 'POST', path: '$batch' },
  delete: { method: 'POST', path: '$batch' },
  getDeleted: { method: 'GET', path: /^audits/ },
  describe: { method: 'GET', path: /^EntityDefinitions/ },
};

/** The fault that makes the connector report `error`. */
function faultFor(error: CrmError, count: number, afterCommit: boolean): DataverseFault {
  switch (error.kind) {
    case 'rate-limited':
      return { kind: 'rate-limit', times: count, retryAfterSeconds: (error.retryAfterMs ?? 1000) / 1000 };
    case 'transient':
      return afterCommit || error.inDoubt ? { kind: 'reset-after-commit', times: count } : { kind: 'unavailable', times: count };
    case 'auth':
      return { kind: 'token-expired', times: count * 2 };
    case 'permission':
      return { kind: 'error', times: count, status: 403, code: '0x80040220', message: error.message };
    case 'not-found':
      return { kind: 'error', times: count, status: 404, code: '0x80040217', message: error.message };
    default:
      return { kind: 'error', times: count, status: 400, code: '0x80040203', message: error.message };
  }
}

/** What the SDK's orchestrator harness list expects (structurally). */
export interface OrchestratorHarness {
  readonly connector: CrmConnector;
  readonly names: {
    readonly object: string;
    readonly id: string;
    readonly lastName: string;
    readonly email: string;
    readonly changeField: string;
    readonly syncKey: string;
    readonly readOnly: string;
    readonly notSortable?: string;
  };
  readonly crm: {
    create(values: FieldValues, at?: Instant): string;
    update(id: string, values: FieldValues): void;
    remove(id: string): void;
    stampChange(id: string, at: Instant): void;
    setNow(at: Instant): void;
    advance(ms: number): void;
    now(): Instant;
    contacts(): readonly { readonly id: string; readonly values: FieldValues }[];
    failNext(count: number, error: CrmError, options?: { operations?: readonly string[]; afterCommit?: boolean }): void;
  };
}

const running = new WeakMap<object, DynamicsHarness>();

/** The harness factory: `{ name: 'dynamics', setup, teardown }`. */
export const dynamicsOrchestratorHarness = {
  name: 'dynamics',
  async setup(): Promise<OrchestratorHarness> {
    // Batches of 200 so that exports of a few hundred records span several batches, as the tests expect.
    const harness = await startHarness({ batchSize: 200 });
    const { crm, clock, emulator } = harness;
    const object = 'contact';
    const result: OrchestratorHarness = {
      connector: harness.connector,
      names: { object, id: 'contactid', lastName: 'lastname', email: 'emailaddress1', changeField: 'modifiedon', syncKey: 'crm_synckey', readOnly: 'createdon', notSortable: 'description' },
      crm: {
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
        setNow: (at) => clock.set(at),
        advance: (ms) => clock.advance(ms),
        now: () => clock.now().toISOString(),
        contacts: () => crm.records(object).map((record) => ({ id: record.id, values: record.values })),
        failNext(count, error, options) {
          const fault = faultFor(error, count, options?.afterCommit ?? false);
          const operations = options?.operations ?? [undefined];
          for (const operation of operations) {
            const match = operation === undefined ? undefined : OPERATION_MATCH[operation];
            emulator.faults.inject(match === undefined ? fault : { ...fault, match });
          }
        },
      },
    };
    running.set(result, harness);
    return result;
  },
  async teardown(result: OrchestratorHarness): Promise<void> {
    await running.get(result)?.close();
  },
};
