/**
 * Test hooks that change an {@link InMemoryCrm} behind a connector's back: the `seed`,
 * `deleteDirect` and `setTime` members of the testkit's contract fixtures, for any connector whose
 * CRM (or emulator) keeps its records in an `InMemoryCrm`.
 *
 * @module
 */
import type { FieldValues, Instant } from '@crm-sync/sdk';
import type { ManualClock } from './clock.js';
import type { InMemoryCrm } from './in-memory-crm.js';

/** Options for {@link InMemoryCrmFixtureHooks.seed}; the same shape as the testkit's `SeedOptions`. */
export interface InMemoryCrmSeedOptions {
  /** Every seeded record gets this change time. */
  readonly changedAt?: Instant;
  /** Values of the i-th seeded record (i from 0); without it, `newRecord(i)`. */
  readonly values?: (i: number) => FieldValues;
}

/** Hooks that write straight into the engine, matching the testkit's `ContractFixtures` members. */
export interface InMemoryCrmFixtureHooks {
  /** Inserts `n` records of the object and returns their ids in insertion order; throws on a reject. */
  seed(n: number, options?: InMemoryCrmSeedOptions): Promise<string[]>;
  /** Deletes one record as if someone deleted it in the CRM, stamped `at` when given. */
  deleteDirect(id: string, at?: Instant): Promise<void>;
  /** Moves the engine's clock to `at`. */
  setTime(at: Instant): Promise<void>;
}

/**
 * Creates the engine-side hooks of a contract fixture for one object: spread the result into the
 * `ContractFixtures` you hand `describeConnectorContract`.
 *
 * @param crm - The engine behind the connector under test.
 * @param clock - The engine's clock.
 * @param object - The object the hooks seed and delete in (`contact`, `Contact`, ...).
 * @param newRecord - Valid values for the i-th new record, used when `seed` gets no `values`.
 */
export function inMemoryCrmFixtureHooks(
  crm: InMemoryCrm,
  clock: ManualClock,
  object: string,
  newRecord: (i: number) => FieldValues,
): InMemoryCrmFixtureHooks {
  return {
    async seed(n, options) {
      const ids: string[] = [];
      for (let i = 0; i < n; i += 1) {
        const outcome = crm.insert(object, options?.values?.(i) ?? newRecord(i), options?.changedAt ? { at: options.changedAt } : {});
        // A test fixture that cannot arrange its data must stop the test, so this throws.
        if (!outcome.ok) throw new Error(`[crm-sync] [connector-mock] seeding ${object} record ${i} was rejected: ${outcome.reject.message}; make newRecord/values valid for the schema`);
        ids.push(outcome.id);
      }
      return ids;
    },
    async deleteDirect(id, at) {
      crm.delete(object, id, at ? { at } : {});
    },
    async setTime(at) {
      clock.set(at);
    },
  };
}
