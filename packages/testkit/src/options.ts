/**
 * What a connector author hands the conformance suite: a factory for an isolated connector, the
 * fixtures that let the suite arrange data in the backing CRM, and the checks known to fail.
 *
 * @module
 */
import type { CrmConnector, FieldValue, FieldValues, Instant, RejectCode, UpsertBatchRequest } from '@crm-sync/sdk';

/** Options for {@link ContractFixtures.seed}. */
export interface SeedOptions {
  /** Every seeded record gets this change time (for window and tie-break checks). */
  readonly changedAt?: Instant;
  /**
   * Values of the i-th seeded record (i from 0). Without it, the fixture uses its own valid
   * values (typically `newRecord`).
   */
  readonly values?: (i: number) => FieldValues;
}

/**
 * Harness hooks into the CRM behind the connector under test. The suite uses them to arrange
 * situations (many records, one shared timestamp, a deletion at an exact instant, a fault) without
 * going through the connector it is judging.
 */
export interface ContractFixtures {
  /** An object the suite may read and write (e.g. `contact` for mock, `Contact` for Salesforce). */
  readonly object: string;
  /** Builds values for a new valid record; `n` makes them unique. Must include the external-id field when upsert is supported. */
  newRecord(n: number): FieldValues;
  /** A field the suite updates, and a factory of distinct values for it. */
  readonly updateField: {
    /** The field's remote name; it must be updateable. */
    readonly name: string;
    /** A valid value for the field; distinct `n` give distinct values. */
    value(n: number): FieldValue;
  };
  /** Values the CRM refuses per record (e.g. a required field missing), for reject checks. */
  invalidRecord(): FieldValues;
  /** External-id field used for upsert (when `capabilities.upsertByExternalId`). */
  readonly externalIdField?: string;
  /** A nullable numeric field usable in portable filters and order by. Filter checks skip without it. */
  readonly numericField?: string;
  /** A nullable date or date-time field usable in portable filters. Date filter checks skip without it. */
  readonly dateField?: string;
  /**
   * The change field windows run on. Defaults to the first of `capabilities.changeFields` that
   * the object has.
   */
  readonly changeField?: string;
  /**
   * Seeds `n` records directly in the backing CRM (not through the connector) and returns their
   * ids in seeding order. Used to build large or tie-heavy data sets fast.
   */
  seed(n: number, options?: SeedOptions): Promise<string[]>;
  /** Deletes a record directly in the backing CRM (for `getDeleted` checks), optionally at a given time. */
  deleteDirect(id: string, at?: Instant): Promise<void>;
  /** Sets the backing CRM's clock, when the harness controls it. */
  setTime?(at: Instant): Promise<void>;
  /**
   * Makes the next `count` calls fail with a rate limit announced `retryAfterMs` from now, in the
   * CRM's own way (Retry-After seconds, or a reset time rounded up to a whole second), when the
   * harness can. The check accepts a wait that ends between the announced time and one second after.
   */
  injectRateLimit?(count: number, retryAfterMs: number): Promise<void>;
  /**
   * Revokes the connector's credential for good (a revoked API key, a deleted app): every later
   * call, including any token refresh, is refused. The connector must answer kind `auth`, not
   * retryable. Not an expiry that a refresh cures: that is {@link ContractFixtures.expireToken}.
   */
  injectAuthFailure?(): Promise<void>;
  /**
   * Makes the CRM refuse connections (its server stopped, or the connector pointed at a closed
   * port) until the returned function restores them, with the CRM's data and the connector's
   * credential intact. A connector must answer a refused connection with a plain retryable error,
   * never "in doubt": nothing was sent. Only for connectors that reach their CRM over the network.
   */
  refuseConnections?(): Promise<() => Promise<void>>;
  /**
   * Expires the access token the connector holds now, on the CRM's side (the credential stays
   * good). The next call must refresh the token and succeed. Only for CRMs with expiring tokens.
   */
  expireToken?(): Promise<void>;
  /**
   * How the CRM announces a rate limit as an absolute reset time, when it does (instead of
   * Retry-After). The check injects one and expects the connector to wait until that time.
   */
  readonly rateLimitReset?: RateLimitResetFixture;
  /**
   * A text field usable in `eq` filters and writable with any string, for the string-literal
   * round-trip check (quotes, backslashes, operators, newlines, Unicode). The check skips without it.
   */
  readonly stringField?: string;
  /**
   * Extra strings for that check, e.g. the CRM's own query operators and escape characters
   * (`" AND "`, `$filter`, `\\'`). Each must be a value the CRM stores unchanged.
   */
  readonly trickyStrings?: readonly string[];
  /** Rejects the CRM can be made to give, each with the reject code the connector must map it to. */
  readonly rejectCases?: readonly RejectCase[];
  /**
   * How many days the CRM behind the connector keeps deletions (what it really does, not what the
   * connector declares). The retention check compares it with `capabilities.deletedRetentionDays`
   * and probes just inside and just outside it.
   */
  readonly deletedRetentionDays?: number;
  /**
   * Credentials the connector was built with (password, token, client secret). The error checks
   * assert none of them appears in an error the connector returns.
   */
  readonly secrets?: readonly string[];
  /** Clears the CRM (records, deletions, faults). Called before every check. */
  reset(): Promise<void>;
}

/** A rate limit announced by an absolute reset time (see {@link ContractFixtures.rateLimitReset}). */
export interface RateLimitResetFixture {
  /** The response header that carries the reset time, e.g. `X-RateLimit-Reset` (for messages). */
  readonly header: string;
  /**
   * Makes the next `count` calls fail with a rate limit whose header says the quota resets at
   * `resetAt` (a whole second), and sends no Retry-After.
   */
  inject(count: number, resetAt: Instant): Promise<void>;
}

/** A reject the fixture can provoke, and the reject code the connector must report for it. */
export interface RejectCase {
  /** Names the case in messages, e.g. `required field missing`. */
  readonly what: string;
  /**
   * The code the connector must report. `unknown` only when the CRM's answer really says no more
   * (the check fails an `unknown` anywhere else).
   */
  readonly expected: RejectCode;
  /** Arranges what the case needs (may seed) and returns a one-record write the CRM rejects. */
  arrange(): Promise<UpsertBatchRequest>;
}

/** A connector under test, with the fixtures bound to its backing CRM. */
export interface ConnectorUnderTest {
  /** The connector the checks call. */
  readonly connector: CrmConnector;
  /** Hooks into the CRM behind `connector`. */
  readonly fixtures: ContractFixtures;
  /** Stops emulators and frees what the factory started. Called after every check. */
  teardown?(): Promise<void>;
}

/**
 * A check known to fail for this connector. It runs as a strict expected failure: the suite
 * fails if the check passes, or if it fails with a failure kind other than `failureKind`.
 */
export interface KnownDeviation {
  /** Why the connector cannot conform (shown in reports). Required: no silent bypass. */
  readonly reason: string;
  /** The failure kind the check must keep producing (e.g. `missing-record`). Any kind when omitted. */
  readonly failureKind?: string;
}

/** Scale knobs. Defaults are small enough for CI. */
export interface ContractScale {
  /** Records read across many pages by the paging check. Default: 1,200. */
  readonly pagingRecords?: number;
  /** Records sharing one timestamp in the tie-break check. Default: 1,000. */
  readonly tieRecords?: number;
  /** Page size the paging and tie-break checks ask for. Default: 50. */
  readonly pageSize?: number;
}

/** Everything {@link describeConnectorContract} and {@link runContractChecks} need. */
export interface ContractSuiteOptions {
  /** Shown in test names (e.g. `mock`, `salesforce (emulator)`). */
  readonly name: string;
  /**
   * Returns a fresh, isolated connector plus fixtures bound to its backing CRM. Called once per
   * check; may be async (e.g. to start an emulator).
   */
  readonly factory: () => Promise<ConnectorUnderTest> | ConnectorUnderTest;
  /** Checks known to fail, by check id (e.g. `window/after-tie-break`), each with a reason. */
  readonly knownDeviations?: Readonly<Record<string, KnownDeviation>>;
  /** Scale knobs. */
  readonly scale?: ContractScale;
  /** Per-check time-out in the vitest glue. Default: 60,000 ms (emulators over loopback are slower than the mock). */
  readonly timeoutMs?: number;
}
