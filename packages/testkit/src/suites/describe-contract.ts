/**
 * The vitest entry points: the whole contract in one call, or each group on its own so a
 * connector can compose (e.g. run only the read groups for a read-only CRM).
 *
 * @module
 */
import { CONTRACT_GROUPS } from '../checks/types.js';
import type { ContractSuiteOptions } from '../options.js';
import { describeContractGroup, describeKnownDeviationIds } from './describe-group.js';

/**
 * Registers the whole conformance suite with vitest: every group, one test per check, each on a
 * fresh connector from `options.factory`.
 *
 * @example
 * ```ts
 * describeConnectorContract({ name: 'mock', factory: () => mockUnderTest() });
 * ```
 */
export function describeConnectorContract(options: ContractSuiteOptions): void {
  describeKnownDeviationIds(options);
  for (const group of CONTRACT_GROUPS) describeContractGroup(group, options);
}

/** `listObjects` and `describe`: shape, primary key, unique names, time semantics, change field. */
export function describeDescribeContract(options: ContractSuiteOptions): void {
  describeContractGroup('describe', options);
}

/** `query`: paging without loss or duplicates, portable filter operators, order by. */
export function describeQueryContract(options: ContractSuiteOptions): void {
  describeContractGroup('query', options);
}

/** `query` windows: start included, end excluded, `after` tie-break, checkpoint resume. */
export function describeWindowContract(options: ContractSuiteOptions): void {
  describeContractGroup('window', options);
}

/** `query` by ids: found subset, unknown ids absent, a full chunk of ids. */
export function describeIdsContract(options: ContractSuiteOptions): void {
  describeContractGroup('ids', options);
}

/** `upsertBatch`: insert, update, upsert by external id, idempotent retry, partial failure. */
export function describeUpsertContract(options: ContractSuiteOptions): void {
  describeContractGroup('upsert', options);
}

/** `getDeleted`: window inclusive at both ends, retention refused. */
export function describeGetDeletedContract(options: ContractSuiteOptions): void {
  describeContractGroup('deleted', options);
}

/** `delete`: already-deleted ids count as deleted, outcomes in input order. */
export function describeDeleteContract(options: ContractSuiteOptions): void {
  describeContractGroup('delete', options);
}

/** Error kinds: auth failure and rate limit, through the fixtures' fault injection. */
export function describeErrorContract(options: ContractSuiteOptions): void {
  describeContractGroup('errors', options);
}
