import { clearRegisteredSecrets, registerSecret, type CrmConnector } from '@crm-sync/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyKnownDeviation,
  checkKnownDeviationIds,
  defineCheck,
  runContractCheck,
  type CheckOutcome,
  type ContractFixtures,
  type ContractSuiteOptions,
} from '../src/index.js';

const failed: CheckOutcome = { id: 'query/paging-complete', passed: false, failure: { kind: 'missing-record', detail: '1 missing' } };
const passed: CheckOutcome = { id: 'query/paging-complete', passed: true };

describe('applyKnownDeviation', () => {
  it('turns a failure of the declared kind into a pass that records the reason', () => {
    const judged = applyKnownDeviation(failed, { reason: 'CRM pages by offset', failureKind: 'missing-record' });
    expect(judged).toEqual({ id: failed.id, passed: true, expectedFailure: { reason: 'CRM pages by offset', failure: failed.failure } });
  });

  it('fails a deviation whose check now passes', () => {
    const judged = applyKnownDeviation(passed, { reason: 'CRM pages by offset' });
    expect(judged.passed).toBe(false);
    expect(judged.failure?.kind).toBe('deviation-now-passes');
  });

  it('fails a deviation whose check fails with another kind than declared', () => {
    const judged = applyKnownDeviation(failed, { reason: 'CRM pages by offset', failureKind: 'duplicate-record' });
    expect(judged.failure?.kind).toBe('deviation-changed-kind');
    expect(judged.failure?.detail).toContain('missing-record');
  });

  it('accepts any failure kind when the deviation declares none', () => {
    expect(applyKnownDeviation(failed, { reason: 'flaky sandbox' }).passed).toBe(true);
  });

  it('never accepts a harness failure as the declared deviation, even when the deviation names no kind', () => {
    const harness = { id: 'window/after-tie-break', passed: false, failure: { kind: 'harness', detail: 'factory failed: emulator did not start' } };
    expect(applyKnownDeviation(harness, { reason: 'flaky sandbox' })).toBe(harness);
  });

  it('leaves skipped outcomes skipped', () => {
    const skipped: CheckOutcome = { id: 'x', passed: true, skipped: 'no numeric field' };
    expect(applyKnownDeviation(skipped, { reason: 'r' })).toBe(skipped);
  });
});

describe('checkKnownDeviationIds', () => {
  it('reports a knownDeviations id that names no check, listing the valid ids', () => {
    const options = { name: 'x', factory: () => { throw new Error('unused'); }, knownDeviations: { 'query/no-such-check': { reason: 'typo' } } } satisfies ContractSuiteOptions;
    const outcomes = checkKnownDeviationIds(options);
    expect(outcomes.map((outcome) => outcome.failure?.kind)).toEqual(['unknown-deviation']);
    expect(outcomes[0]?.failure?.detail).toContain('window/after-tie-break');
  });
});

describe('defineCheck and runContractCheck', () => {
  afterEach(() => clearRegisteredSecrets());
  const connector = { id: 'fake', capabilities: { orderBy: false } } as unknown as CrmConnector;
  const fixtures = { object: 'contact', reset: async () => {} } as unknown as ContractFixtures;
  const options: ContractSuiteOptions = { name: 'fake', factory: () => ({ connector, fixtures }) };

  it('reports a stray throw as failure kind threw, with secrets redacted', async () => {
    const secret = registerSecret('s3cr3t-token-value');
    const check = defineCheck({ id: 'describe/x', group: 'describe', title: 't', body: async () => { throw new Error(`boom ${secret}`); } });
    const outcome = await runContractCheck(check, options);
    expect(outcome.failure?.kind).toBe('threw');
    expect(outcome.failure?.detail).not.toContain(secret);
  });

  it('skips with the reason from requires, without running the body', async () => {
    let ran = false;
    const check = defineCheck({
      id: 'query/x',
      group: 'query',
      title: 't',
      requires: (capabilities) => (capabilities.orderBy ? undefined : 'capabilities.orderBy is false'),
      body: async () => { ran = true; },
    });
    expect(await runContractCheck(check, options)).toEqual({ id: 'query/x', passed: true, skipped: 'capabilities.orderBy is false' });
    expect(ran).toBe(false);
  });

  it('reports a factory that throws as a harness failure', async () => {
    const check = defineCheck({ id: 'query/y', group: 'query', title: 't', body: async () => {} });
    const outcome = await runContractCheck(check, { name: 'broken', factory: () => { throw new Error('emulator did not start'); } });
    expect(outcome.failure).toEqual({ kind: 'harness', detail: 'factory failed: emulator did not start' });
  });

  it('calls teardown after the check', async () => {
    let tornDown = false;
    const check = defineCheck({ id: 'query/z', group: 'query', title: 't', body: async () => {} });
    await runContractCheck(check, { name: 'fake', factory: () => ({ connector, fixtures, teardown: async () => { tornDown = true; } }) });
    expect(tornDown).toBe(true);
  });
});
