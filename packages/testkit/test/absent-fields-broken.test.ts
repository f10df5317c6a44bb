import type { CallOptions, CrmConnector, FieldValues, UpsertBatchRequest } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { runContractChecks } from '../src/index.js';
import { ForwardingConnector } from './broken-connectors.js';
import { mockUnderTest } from './mock-harness.js';

/**
 * Builds one column list for the batch (as a CSV header would) and sends `null` for every field a
 * record does not carry: the bug of issue 12, where an absent value wiped the CRM's.
 */
class NullsAbsentFields extends ForwardingConnector {
  override upsertBatch(request: UpsertBatchRequest, options?: CallOptions) {
    const columns = new Set(request.records.flatMap((record) => Object.keys(record.values)));
    const records = request.records.map((record) => {
      const values: FieldValues = {};
      for (const column of columns) values[column] = record.values[column] ?? null;
      return { ...record, values };
    });
    return this.inner.upsertBatch({ ...request, records }, options);
  }
}

describe('the contract suite catches a connector that sends absent fields as null', () => {
  it('fails upsert/absent-fields-kept with wrong-value, naming the field that was wiped', async () => {
    const outcomes = await runContractChecks({ name: 'broken', factory: () => mockUnderTest((connector: CrmConnector) => new NullsAbsentFields(connector)) }, (check) => check.group === 'upsert');
    const failed = outcomes.filter((outcome) => !outcome.passed);
    expect(failed.map((outcome) => outcome.id)).toEqual(['upsert/absent-fields-kept']);
    expect(failed[0]?.failure?.kind).toBe('wrong-value');
    expect(failed[0]?.failure?.detail).toContain('absent is not null');
  });
});
