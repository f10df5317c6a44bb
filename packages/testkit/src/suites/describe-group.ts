/**
 * vitest glue: one `describe` per check group, one `it` per check. Skips show their reason; known
 * deviations pass only while they keep failing the declared way.
 *
 * @module
 */
import { describe, it } from 'vitest';
import { contractChecks } from '../checks/index.js';
import type { ContractGroup } from '../checks/types.js';
import type { ContractSuiteOptions } from '../options.js';
import { checkKnownDeviationIds, runContractCheck } from '../run-checks.js';

const DEFAULT_TIMEOUT_MS = 60_000;

/** Registers the checks of one group under `describe('<name> › <group>')`. */
export function describeContractGroup(group: ContractGroup, options: ContractSuiteOptions): void {
  describe(`${options.name} › ${group}`, () => {
    for (const check of contractChecks.filter((candidate) => candidate.group === group)) {
      it(
        `${check.id}: ${check.title}`,
        async (context) => {
          const outcome = await runContractCheck(check, options);
          if (outcome.skipped !== undefined) context.skip(`${check.id} skipped: ${outcome.skipped}`);
          if (outcome.expectedFailure) {
            await context.annotate(`known deviation (${outcome.expectedFailure.reason}): ${outcome.expectedFailure.failure.kind}`);
          }
          if (outcome.failure) {
            throw new Error(`[crm-sync] [testkit] ${options.name}: ${check.id} failed (${outcome.failure.kind}): ${outcome.failure.detail}`);
          }
        },
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
    }
  });
}

/** Registers a test that fails when `knownDeviations` names a check id that does not exist. */
export function describeKnownDeviationIds(options: ContractSuiteOptions): void {
  if (!options.knownDeviations) return;
  it(`${options.name}: every knownDeviations id names a contract check`, () => {
    const stale = checkKnownDeviationIds(options);
    if (stale.length > 0) throw new Error(`[crm-sync] [testkit] ${stale.map((outcome) => outcome.failure?.detail).join('; ')}`);
  });
}
