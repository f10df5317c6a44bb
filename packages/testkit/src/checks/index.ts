/**
 * Every contract check, in the order the suite runs them.
 *
 * @module
 */
import { deleteChecks } from './delete-checks.js';
import { deletedChecks } from './deleted-checks.js';
import { describeChecks } from './describe-checks.js';
import { errorChecks } from './error-checks.js';
import { filterChecks } from './filter-checks.js';
import { idsChecks } from './ids-checks.js';
import { literalChecks } from './literal-checks.js';
import { queryChecks } from './query-checks.js';
import { rejectChecks } from './reject-checks.js';
import { upsertChecks } from './upsert-checks.js';
import { windowChecks } from './window-checks.js';
import { windowFilterChecks } from './window-filter-checks.js';
import type { ContractCheck } from './types.js';

/** All built-in checks, grouped in {@link CONTRACT_GROUPS} order. Ids are stable. */
export const contractChecks: readonly ContractCheck[] = [
  ...describeChecks,
  ...queryChecks,
  ...filterChecks,
  ...literalChecks,
  ...windowChecks,
  ...windowFilterChecks,
  ...idsChecks,
  ...upsertChecks,
  ...rejectChecks,
  ...deletedChecks,
  ...deleteChecks,
  ...errorChecks,
];

export { CONTRACT_GROUPS, DEFAULT_SCALE } from './types.js';
export type { CheckContext, CheckFailure, CheckOutcome, ContractCheck, ContractGroup } from './types.js';
export { defineCheck, FAILURE_KINDS } from './define-check.js';
export { TRICKY_STRINGS } from './literal-checks.js';
export type { CheckDefinition, CheckScope } from './define-check.js';
