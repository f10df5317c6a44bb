/**
 * The runner-agnostic shape of a conformance check and its outcome. Nothing here imports a test
 * runner, so the same checks run under vitest or as a live smoke run against a sandbox.
 *
 * @module
 */
import type { ConnectorCapabilities, CrmConnector } from '@crm-sync/sdk';
import type { ContractFixtures, ContractScale } from '../options.js';

/** Why a check failed: a stable `kind` (e.g. `missing-record`, `wrong-order`) and a human detail. */
export interface CheckFailure {
  /** A stable kind (see `FAILURE_KINDS` and `RUNNER_FAILURE_KINDS`); known deviations match on it. */
  readonly kind: string;
  /** What went wrong, naming the request and a few offending ids (redacted). */
  readonly detail: string;
}

/** The result of one check. */
export interface CheckOutcome {
  /** The check id, e.g. `query/paging-complete`. */
  readonly id: string;
  /** True when the check held (or, for a known deviation, failed exactly as declared). */
  readonly passed: boolean;
  /** Set when the check did not run, with the reason. */
  readonly skipped?: string;
  /** Set when the check failed. */
  readonly failure?: CheckFailure;
  /** Set when a known deviation failed as declared: the declared reason and the observed failure. */
  readonly expectedFailure?: {
    /** The reason given in `knownDeviations`. */
    readonly reason: string;
    /** The failure observed, of the declared kind. */
    readonly failure: CheckFailure;
  };
}

/** What a check may use besides the connector and fixtures. */
export interface CheckContext {
  /** Scale knobs with defaults applied. */
  readonly scale: Required<ContractScale>;
}

/** One conformance check. */
export interface ContractCheck {
  /** `<group>/<name>`, stable: known deviations refer to it. */
  readonly id: string;
  /** The group (`describe`, `query`, `window`, `ids`, `upsert`, `deleted`, `delete`, `errors`). */
  readonly group: ContractGroup;
  /** The behaviour the check asserts, as a sentence. */
  readonly title: string;
  /** Returns a skip reason when the connector's capabilities rule the check out. */
  readonly requires?: (capabilities: ConnectorCapabilities) => string | undefined;
  /** Runs the check. Never throws: every failure is an outcome. */
  run(connector: CrmConnector, fixtures: ContractFixtures, context?: CheckContext): Promise<CheckOutcome>;
}

/** The check groups, in the order the suite runs them. */
export const CONTRACT_GROUPS = ['describe', 'query', 'window', 'ids', 'upsert', 'deleted', 'delete', 'errors'] as const;

/** One of {@link CONTRACT_GROUPS}. */
export type ContractGroup = (typeof CONTRACT_GROUPS)[number];

/** Scale defaults: small enough for CI, large enough to cross many pages and a real tie. */
export const DEFAULT_SCALE: Required<ContractScale> = { pagingRecords: 1200, tieRecords: 1000, pageSize: 50 };
