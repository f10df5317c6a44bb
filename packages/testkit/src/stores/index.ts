/**
 * The store conformance suite: every crm-sync store (in-memory, SQLite, PostgreSQL, a third
 * party's) runs the same checks ({@link storeChecks}), grouped by part of the contract
 * ({@link STORE_CHECK_GROUPS}: options, journal, records, leases, history), the way connectors run
 * `describeConnectorContract`. {@link describeStoreContract} registers them with vitest;
 * {@link runStoreContract} runs them under any other runner.
 *
 * A store passes every group unless it declares, in `without`, the parts it does not implement;
 * those checks are registered as skipped with the reason, so a report shows what was not checked.
 * A part the factory does not return and the options do not declare is a failure, never a silent
 * pass.
 *
 * @module
 */
import { describe, it } from 'vitest';
import { recordShapeOf, runStoreCheck, STORE_CHECK_GROUPS, storeChecks, type StoreCheck, type StoreCheckGroup, type StoreFactory, type StoreRecordTable } from './checks.js';

export {
  recordShapeOf,
  runStoreCheck,
  SCHEMALESS_RECORDS,
  storeChecks,
  STORE_CHECK_GROUPS,
  type RecordShape,
  type StoreCheck,
  type StoreCheckGroup,
  type StoreFactory,
  type StoreRecordTable,
  type StoresUnderTest,
} from './checks.js';
export { historyChecks } from './history-checks.js';

/** What {@link describeStoreContract} and {@link runStoreContract} need. */
export interface StoreContractOptions {
  /** The store's name, shown in test names. */
  readonly name: string;
  /** Builds fresh, empty stores for each check. */
  readonly factory: StoreFactory;
  /**
   * The parts of the contract the store does not implement; their checks are skipped (shown as
   * skipped, with the reason). Default: none, every group must pass. `options` and `journal` are
   * the core of every store and cannot be left out.
   */
  readonly without?: readonly Exclude<StoreCheckGroup, 'options' | 'journal'>[];
  /** Same as `without: ['records']` (the store has no application side). */
  readonly withoutRecords?: boolean;
  /**
   * Same as `without: ['leases']`. Only for stores that knowingly give no protection against two
   * runs of one job; every store the orchestrator's `leases` come from must pass them.
   */
  readonly withoutLeases?: boolean;
  /** Same as `without: ['history']` (the store keeps no run history). */
  readonly withoutHistory?: boolean;
  /**
   * The application's typed table the `records` checks run on (its name, key type and three text
   * fields), for stores over typed tables and non-string keys, such as the Kysely table adapter.
   * Default: the schemaless tables `contacts` and `people` with string keys.
   */
  readonly recordTable?: StoreRecordTable;
  /** Per-check timeout in ms (default 30,000): a server database may need more than vitest's 5 s. */
  readonly timeoutMs?: number;
}

/** The result of one check under {@link runStoreContract}. */
export interface StoreCheckOutcome {
  readonly group: StoreCheckGroup;
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped. */
  readonly reason?: string;
  /** What failed (the assertion or the store's error). */
  readonly error?: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The groups `options` leaves out, with the option that left each out. */
function leftOut(options: StoreContractOptions): ReadonlyMap<StoreCheckGroup, string> {
  const out = new Map<StoreCheckGroup, string>();
  for (const group of options.without ?? []) out.set(group, `without: ['${group}']`);
  if (options.withoutRecords === true) out.set('records', 'withoutRecords');
  if (options.withoutLeases === true) out.set('leases', 'withoutLeases');
  if (options.withoutHistory === true) out.set('history', 'withoutHistory');
  for (const group of out.keys()) {
    if (group === 'options' || group === 'journal' || !STORE_CHECK_GROUPS.includes(group)) {
      throw new RangeError(`[crm-sync] [testkit] store contract "${options.name}": without may name ${STORE_CHECK_GROUPS.filter((g) => g !== 'options' && g !== 'journal').join(', ')}, got "${group}"`);
    }
  }
  return out;
}

function skipReason(check: StoreCheck, out: ReadonlyMap<StoreCheckGroup, string>, name: string): string | undefined {
  const by = out.get(check.needs);
  return by === undefined ? undefined : `${name} declares ${by}: the store does not implement ${check.needs}`;
}

/**
 * Declares the whole store suite with vitest: one `describe` per group, one test per check, each
 * on fresh stores from the factory.
 *
 * @example
 * ```ts
 * describeStoreContract({ name: 'sqlite', factory: () => openTestStores() });
 * ```
 */
export function describeStoreContract(options: StoreContractOptions): void {
  for (const group of STORE_CHECK_GROUPS) describeStoreGroup(group, options);
}

/** Declares the checks of one group: `describe('store contract: <name> › <group>')`. */
export function describeStoreGroup(group: StoreCheckGroup, options: StoreContractOptions): void {
  const out = leftOut(options);
  describe(`store contract: ${options.name} › ${group}`, () => {
    for (const check of storeChecks.filter((candidate) => candidate.needs === group)) {
      const reason = skipReason(check, out, options.name);
      it(
        check.name,
        async (context) => {
          if (reason !== undefined) context.skip(reason);
          await runStoreCheck(check, options.factory, recordShapeOf(options.recordTable));
        },
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
    }
  });
}

/**
 * Runs the whole suite without vitest (node:test, jest, a script) and resolves with one outcome
 * per check, in suite order. Never rejects for a failing check: look for `status: 'failed'`.
 */
export async function runStoreContract(options: StoreContractOptions): Promise<readonly StoreCheckOutcome[]> {
  const out = leftOut(options);
  const outcomes: StoreCheckOutcome[] = [];
  for (const check of storeChecks) {
    const reason = skipReason(check, out, options.name);
    if (reason !== undefined) {
      outcomes.push({ group: check.needs, name: check.name, status: 'skipped', reason });
      continue;
    }
    try {
      await runStoreCheck(check, options.factory, recordShapeOf(options.recordTable));
      outcomes.push({ group: check.needs, name: check.name, status: 'passed' });
    } catch (error) {
      outcomes.push({ group: check.needs, name: check.name, status: 'failed', error });
    }
  }
  return outcomes;
}
