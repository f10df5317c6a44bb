/**
 * Helpers for the write checks: outcome shape, reject shape, and reading records back by id.
 *
 * @module
 */
import type { CrmRecord, RejectCode, WriteAction, WriteOutcome } from '@crm-sync/sdk';
import { FAILURE_KINDS, type CheckScope } from './define-check.js';
import { readAllPages } from './read-helpers.js';

const REJECT_CODES: ReadonlySet<RejectCode> = new Set<RejectCode>([
  'validation', 'required-field-missing', 'duplicate', 'invalid-field', 'invalid-value',
  'not-found', 'deleted-in-crm', 'permission', 'locked', 'conflict', 'unknown',
]);

/** Fails unless there is exactly one outcome per input record. */
export function expectOutcomeCount(scope: CheckScope, outcomes: readonly WriteOutcome[], inputCount: number, what: string): void {
  if (outcomes.length !== inputCount) {
    scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: ${outcomes.length} outcome(s) for ${inputCount} input record(s); the contract requires one per input, in input order`);
  }
}

/** Fails unless outcome `index` is ok with one of `actions`; returns its id. */
export function expectOkOutcome(scope: CheckScope, outcomes: readonly WriteOutcome[], index: number, actions: readonly WriteAction[], what: string): string {
  const outcome = outcomes[index];
  if (!outcome?.ok) {
    const reason = outcome ? `${outcome.reject.code}: ${outcome.reject.message}` : 'no outcome';
    return scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index} should be ok (${actions.join(' or ')}), got a reject (${reason})`);
  }
  if (!actions.includes(outcome.action)) {
    scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index} has action '${outcome.action}', expected ${actions.join(' or ')}`);
  }
  if (typeof outcome.id !== 'string' || outcome.id === '') scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index} has no id`);
  return outcome.id;
}

/** Fails unless outcome `index` is a well-formed reject (canonical code, message, retryable flag) with one of `codes` when given. */
export function expectRejectOutcome(scope: CheckScope, outcomes: readonly WriteOutcome[], index: number, what: string, codes?: readonly RejectCode[]): void {
  const outcome = outcomes[index];
  if (outcome === undefined || outcome.ok) {
    scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index} should be a reject, got ${outcome ? `ok (${outcome.action} ${outcome.id})` : 'nothing'}`);
  }
  const { reject } = outcome;
  if (!REJECT_CODES.has(reject.code)) scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index} has reject code '${String(reject.code)}', not a canonical RejectCode`);
  if (codes && !codes.includes(reject.code)) scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index} has reject code '${reject.code}', expected ${codes.join(' or ')}`);
  if (typeof reject.message !== 'string' || reject.message.trim() === '') scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index}'s reject has no message`);
  if (reject.symbol !== undefined && typeof reject.symbol !== 'string') scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index}'s reject symbol is not a string`);
  if (typeof reject.retryable !== 'boolean') scope.fail(FAILURE_KINDS.wrongOutcome, `${what}: outcome ${index}'s reject has no retryable flag`);
}

/** Reads records back by id (the ids must fit one `maxIdsPerQuery` chunk). */
export async function readByIds(scope: CheckScope, ids: readonly string[], fields: readonly string[], what: string): Promise<Map<string, CrmRecord>> {
  const records = await readAllPages(scope, { object: scope.fixtures.object, fields, ids }, what, ids.length);
  return new Map(records.map((record) => [record.id, record]));
}

/** Reads every record of the fixture object (the CRM is reset before each check). */
export async function readAllIds(scope: CheckScope, primaryKey: string, what: string, maxRecords: number): Promise<string[]> {
  const records = await readAllPages(scope, { object: scope.fixtures.object, fields: [primaryKey] }, what, maxRecords);
  return records.map((record) => record.id);
}

/** Loose equality for values read back: numbers and numeric strings compare by value, instants by time. */
export function sameFieldValue(written: unknown, read: unknown): boolean {
  if (written === read) return true;
  if (typeof written === 'number' || typeof read === 'number') return Number(written) === Number(read);
  if (typeof written === 'string' && typeof read === 'string') {
    const a = Date.parse(written);
    return !Number.isNaN(a) && /\d{4}-\d{2}-\d{2}T/.test(written) && a === Date.parse(read);
  }
  return false;
}
