import type { CrmConnector } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { runContractChecks, type CheckOutcome, type ContractGroup } from '../src/index.js';
import {
  DeletedEndExclusive,
  DropsLastPage,
  HidesRetentionGap,
  IgnoresAfter,
  IgnoresWindowEnd,
  LeaksSecretInErrors,
  OffsetPaging,
  QueriesIdsExactly,
  RateLimitAsTransient,
  ReordersWriteOutcomes,
  SkipsAlreadyDeleted,
  LowerCasesIds,
} from './broken-connectors.js';
import { mockUnderTest } from './mock-harness.js';

/** Runs the given groups against a broken wrapper of the mock and returns the failed outcomes by id. */
async function failuresOf(wrap: (connector: CrmConnector) => CrmConnector, groups: readonly ContractGroup[]): Promise<Map<string, CheckOutcome>> {
  const outcomes = await runContractChecks({ name: 'broken', factory: () => mockUnderTest(wrap) }, (check) => groups.includes(check.group));
  return new Map(outcomes.filter((outcome) => !outcome.passed).map((outcome) => [outcome.id, outcome]));
}

describe('the contract suite fails on broken connectors', () => {
  it('catches a connector whose normalizeId says two spellings are one id while its query compares ids exactly', async () => {
    const outcomes = await runContractChecks({ name: 'broken', factory: () => mockUnderTest((connector) => new QueriesIdsExactly(connector), {}, [], 'guid') }, (check) => check.group === 'ids');
    const failed = outcomes.filter((outcome) => !outcome.passed);
    expect(failed.map((outcome) => outcome.id)).toEqual(['ids/normalized-forms-find-the-record']);
    expect(failed[0]?.failure?.kind).toBe('missing-record');
  });

  it('catches a normalizeId that changes the ids the connector itself returns', async () => {
    const failures = await failuresOf((connector) => new LowerCasesIds(connector), ['ids']);
    expect([...failures.keys()]).toEqual(['ids/normalized-forms-find-the-record']);
    expect(failures.get('ids/normalized-forms-find-the-record')?.failure?.kind).toBe('wrong-value');
  });

  it('catches a connector that drops the last page of a paged read', async () => {
    const failures = await failuresOf((connector) => new DropsLastPage(connector), ['query', 'window']);
    expect(failures.get('query/paging-complete')?.failure?.kind).toBe('missing-record');
    expect(failures.get('window/tie-cursor-paging')?.failure?.kind).toBe('missing-record');
  });

  it('catches a connector that pages by offset, which skips a record when an earlier one is deleted mid-read', async () => {
    const failures = await failuresOf((connector) => new OffsetPaging(connector), ['query']);
    expect([...failures.keys()]).toEqual(['query/paging-stable-under-writes']);
    expect(failures.get('query/paging-stable-under-writes')?.failure?.kind).toBe('missing-record');
  });

  it('catches a connector that ignores the window end', async () => {
    const failures = await failuresOf((connector) => new IgnoresWindowEnd(connector), ['window']);
    expect(failures.get('window/start-included-end-excluded')?.failure?.kind).toBe('unexpected-record');
  });

  it('catches a connector that ignores the after keyset', async () => {
    const failures = await failuresOf((connector) => new IgnoresAfter(connector), ['window']);
    // The filter-group check resumes with after too, so it notices as well.
    expect([...failures.keys()]).toEqual(['window/after-tie-break', 'window/filter-groups-stay-in-window']);
    expect(failures.get('window/after-tie-break')?.failure?.kind).toBe('duplicate-record');
  });

  it('catches a connector that reorders write outcomes', async () => {
    const failures = await failuresOf((connector) => new ReordersWriteOutcomes(connector), ['upsert']);
    expect(failures.get('upsert/partial-failure-in-input-order')?.failure?.kind).toBe('wrong-outcome');
    expect(failures.get('upsert/update-missing-rejected')?.failure?.kind).toBe('wrong-outcome');
    expect(failures.get('upsert/update-updated')?.failure?.kind).toBe('wrong-order');
    expect(failures.get('upsert/insert-created')?.failure?.kind).toBe('wrong-value');
  });

  it('catches a connector that silently skips already-deleted ids', async () => {
    const failures = await failuresOf((connector) => new SkipsAlreadyDeleted(connector), ['delete']);
    expect([...failures.keys()]).toEqual(['delete/already-deleted-ok-in-order', 'delete/retry-harmless']);
    expect(failures.get('delete/already-deleted-ok-in-order')?.failure?.kind).toBe('wrong-outcome');
  });

  it('catches a connector that treats the deleted-records window end as exclusive', async () => {
    const failures = await failuresOf((connector) => new DeletedEndExclusive(connector), ['deleted']);
    expect([...failures.keys()]).toEqual(['deleted/window-inclusive']);
    expect(failures.get('deleted/window-inclusive')?.failure?.kind).toBe('missing-record');
  });

  it('catches a connector that answers a window beyond retention with an empty list instead of refusing it', async () => {
    const failures = await failuresOf((connector) => new HidesRetentionGap(connector), ['deleted']);
    expect([...failures.keys()]).toEqual(['deleted/retention-exceeded', 'deleted/retention-matches-crm']);
    expect(failures.get('deleted/retention-exceeded')?.failure?.kind).toBe('wrong-error-kind');
  });

  it('catches a connector that reports a rate limit as a plain transient error without Retry-After', async () => {
    const failures = await failuresOf((connector) => new RateLimitAsTransient(connector), ['errors']);
    expect([...failures.keys()]).toEqual(['errors/rate-limited-retryable']);
    expect(failures.get('errors/rate-limited-retryable')?.failure?.kind).toBe('wrong-error-kind');
  });

  it('catches a connector whose errors carry a credential, without repeating the credential', async () => {
    const secret = 'sk-test-0123456789abcdef';
    const outcomes = await runContractChecks(
      { name: 'leaky', factory: () => mockUnderTest((connector) => new LeaksSecretInErrors(connector, secret), {}, [secret]) },
      (check) => check.group === 'errors',
    );
    expect(outcomes.filter((outcome) => outcome.skipped === undefined).map((outcome) => outcome.failure?.kind)).toEqual(['secret-leaked', 'secret-leaked']);
    expect(JSON.stringify(outcomes)).not.toContain(secret);
  });

  it('passes a broken check listed as a known deviation with the same failure kind, and fails it with another kind', async () => {
    const factory = () => mockUnderTest((connector) => new IgnoresWindowEnd(connector));
    const select = (check: { id: string }) => check.id === 'window/start-included-end-excluded';
    const [declared] = await runContractChecks(
      { name: 'deviant', factory, knownDeviations: { 'window/start-included-end-excluded': { reason: 'reads past end', failureKind: 'unexpected-record' } } },
      select,
    );
    expect(declared?.passed).toBe(true);
    expect(declared?.expectedFailure?.failure.kind).toBe('unexpected-record');
    const [changed] = await runContractChecks(
      { name: 'deviant', factory, knownDeviations: { 'window/start-included-end-excluded': { reason: 'reads past end', failureKind: 'missing-record' } } },
      select,
    );
    expect(changed?.failure?.kind).toBe('deviation-changed-kind');
  });

  it('fails a known deviation on a check the mock passes', async () => {
    const [outcome] = await runContractChecks(
      { name: 'mock', factory: () => mockUnderTest(), knownDeviations: { 'delete/retry-harmless': { reason: 'stale entry' } } },
      (check) => check.id === 'delete/retry-harmless',
    );
    expect(outcome?.failure?.kind).toBe('deviation-now-passes');
  });
});
