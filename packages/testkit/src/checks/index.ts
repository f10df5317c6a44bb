/**
 * Every contract check, in the order the suite runs them.
 *
 * @module
 */
import { describeChecks } from './describe-checks.js';
import type { ContractCheck } from './types.js';

/** All built-in checks, grouped in {@link CONTRACT_GROUPS} order. Ids are stable. */
export const contractChecks: readonly ContractCheck[] = [...describeChecks];

export { CONTRACT_GROUPS, DEFAULT_SCALE } from './types.js';
export type { CheckContext, CheckFailure, CheckOutcome, ContractCheck, ContractGroup } from './types.js';
export { defineCheck, FAILURE_KINDS } from './define-check.js';
export type { CheckDefinition, CheckScope } from './define-check.js';
