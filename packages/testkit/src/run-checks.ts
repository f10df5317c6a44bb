/**
 * Runs contract checks outside any test runner: one fresh connector per check, capability gates,
 * and known deviations applied as strict expected failures. The vitest glue uses the same code.
 *
 * @module
 */
import { redactText } from '@crm-sync/sdk';
import { contractChecks } from './checks/index.js';
import { DEFAULT_SCALE, type CheckOutcome, type ContractCheck } from './checks/types.js';
import type { ContractSuiteOptions, KnownDeviation } from './options.js';

/** Failure kinds the runner itself reports (as opposed to the checks). */
export const RUNNER_FAILURE_KINDS = {
  /** A known deviation's check passed: remove the deviation. */
  deviationNowPasses: 'deviation-now-passes',
  /** A known deviation's check failed another way than declared. */
  deviationChangedKind: 'deviation-changed-kind',
  /** `knownDeviations` names a check id that does not exist. */
  unknownDeviation: 'unknown-deviation',
  /** The factory, `reset` or `teardown` failed. */
  harness: 'harness',
} as const;

/**
 * Judges an outcome against a known deviation: a deviation must fail, and fail the declared way.
 * Skipped outcomes stay skipped. A harness failure (factory, reset or teardown) never counts as
 * the deviation: the check did not judge the connector at all.
 */
export function applyKnownDeviation(outcome: CheckOutcome, deviation: KnownDeviation | undefined): CheckOutcome {
  if (!deviation || outcome.skipped !== undefined) return outcome;
  if (outcome.failure?.kind === RUNNER_FAILURE_KINDS.harness) return outcome;
  if (outcome.passed || !outcome.failure) {
    return {
      id: outcome.id,
      passed: false,
      failure: {
        kind: RUNNER_FAILURE_KINDS.deviationNowPasses,
        detail: `check ${outcome.id} is listed in knownDeviations ("${deviation.reason}") but now passes; remove it from knownDeviations`,
      },
    };
  }
  if (deviation.failureKind !== undefined && deviation.failureKind !== outcome.failure.kind) {
    return {
      id: outcome.id,
      passed: false,
      failure: {
        kind: RUNNER_FAILURE_KINDS.deviationChangedKind,
        detail: `check ${outcome.id} was expected to fail with "${deviation.failureKind}" ("${deviation.reason}") but failed with "${outcome.failure.kind}": ${outcome.failure.detail}`,
      },
    };
  }
  return { id: outcome.id, passed: true, expectedFailure: { reason: deviation.reason, failure: outcome.failure } };
}

function harnessFailure(id: string, step: string, thrown: unknown): CheckOutcome {
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  return { id, passed: false, failure: { kind: RUNNER_FAILURE_KINDS.harness, detail: redactText(`${step} failed: ${text}`) } };
}

/**
 * Runs one check against a fresh connector from `options.factory`: resets the CRM, gates on
 * capabilities, runs, tears down, then applies the check's known deviation.
 */
export async function runContractCheck(check: ContractCheck, options: ContractSuiteOptions): Promise<CheckOutcome> {
  let underTest;
  try {
    underTest = await options.factory();
  } catch (thrown) {
    return harnessFailure(check.id, 'factory', thrown);
  }
  let outcome: CheckOutcome;
  try {
    await underTest.fixtures.reset();
    const skipReason = check.requires?.(underTest.connector.capabilities);
    outcome =
      skipReason !== undefined
        ? { id: check.id, passed: true, skipped: skipReason }
        : await check.run(underTest.connector, underTest.fixtures, { scale: { ...DEFAULT_SCALE, ...options.scale } });
  } catch (thrown) {
    outcome = harnessFailure(check.id, 'fixtures.reset', thrown);
  }
  try {
    await underTest.teardown?.();
  } catch (thrown) {
    if (outcome.passed) outcome = harnessFailure(check.id, 'teardown', thrown);
  }
  return applyKnownDeviation(outcome, options.knownDeviations?.[check.id]);
}

/**
 * Lists `knownDeviations` entries that name no existing check, as failing outcomes, so a renamed
 * or mistyped id never silently disables a deviation.
 */
export function checkKnownDeviationIds(options: ContractSuiteOptions, checks: readonly ContractCheck[] = contractChecks): CheckOutcome[] {
  const ids = new Set(checks.map((check) => check.id));
  return Object.keys(options.knownDeviations ?? {})
    .filter((id) => !ids.has(id))
    .map((id) => ({
      id,
      passed: false,
      failure: {
        kind: RUNNER_FAILURE_KINDS.unknownDeviation,
        detail: `knownDeviations names "${id}", which is not a check id; valid ids: ${[...ids].join(', ')}`,
      },
    }));
}

/**
 * Runs every contract check (or those `select` keeps) one after the other, outside any test
 * runner (e.g. a live smoke run against a sandbox). Never throws; each outcome says what happened.
 */
export async function runContractChecks(
  options: ContractSuiteOptions,
  select: (check: ContractCheck) => boolean = () => true,
): Promise<CheckOutcome[]> {
  const outcomes = checkKnownDeviationIds(options);
  for (const check of contractChecks.filter(select)) outcomes.push(await runContractCheck(check, options));
  return outcomes;
}
