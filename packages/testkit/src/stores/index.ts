/**
 * The store contract suite: runner-agnostic checks ({@link storeChecks}) and the vitest glue
 * ({@link describeStoreContract}) a store implementation runs in its own tests.
 *
 * @module
 */
import { describe, it } from 'vitest';
import { runStoreCheck, storeChecks, type StoreFactory } from './checks.js';

export { runStoreCheck, storeChecks, STORE_CHECK_GROUPS, type StoreCheck, type StoreCheckGroup, type StoreFactory, type StoresUnderTest } from './checks.js';
export { historyChecks } from './history-checks.js';

/** What {@link describeStoreContract} needs. */
export interface StoreContractOptions {
  /** The store's name, shown in test names. */
  readonly name: string;
  /** Builds fresh, empty stores for each check. */
  readonly factory: StoreFactory;
  /** Skip the checks of `records` (the store has no application side). */
  readonly withoutRecords?: boolean;
  /**
   * Skip the lease and fencing checks. Only for stores that knowingly give no protection against
   * two runs of one job; every store the orchestrator's `leases` come from must pass them.
   */
  readonly withoutLeases?: boolean;
  /** Skip the run-history checks (the store keeps no run history). */
  readonly withoutHistory?: boolean;
}

/**
 * Declares one vitest test per store contract check:
 * `describeStoreContract({ name: 'sqlite', factory: () => openTestStores() })`.
 */
export function describeStoreContract(options: StoreContractOptions): void {
  describe(`store contract: ${options.name}`, () => {
    for (const check of storeChecks) {
      if (check.needs === 'records' && options.withoutRecords) continue;
      if (check.needs === 'leases' && options.withoutLeases) continue;
      if (check.needs === 'history' && options.withoutHistory) continue;
      it(check.name, () => runStoreCheck(check, options.factory));
    }
  });
}
