/**
 * Run leases: one run per job at a time, across processes and hosts, with a fencing token.
 *
 * A run acquires the lease of its job (`<instance>/<activity>`) before it reads anything, renews it
 * while it lives, and releases it at the end. Every acquisition gets a token one higher than the
 * last (never reused, also after a release). Every store write of the run carries its
 * {@link Fence}; the store refuses the write, in the same transaction, when the token is no longer
 * the current one. So a run that lost its lease (its process paused past the TTL, and another run
 * took over) can never write again: it is fenced off, not merely asked to stop.
 *
 * Implementations: {@link MemoryLeaseStore} (one process) and the `leases` of
 * `@crm-sync/store-sqlite` (one file, any number of processes on one host). A server database
 * (PostgreSQL) implements the same contract with `SELECT ... FOR UPDATE` on the lease row and the
 * database's own clock (`now()`), so that expiry never depends on a worker's clock.
 *
 * @module
 */
import type { Instant } from '../contract/values.js';

/** Who holds a lease: enough to find the process, and to tell whether it is still alive. */
export interface LeaseOwner {
  /** The host name (`os.hostname()`). A dead pid is only proven dead on the same host. */
  readonly host: string;
  /** The process id on that host. */
  readonly pid: number;
  /** An id of this run invocation (not the journal's run id), unique across hosts. */
  readonly runId: string;
}

/** A lease as the store keeps it. */
export interface RunLease {
  /** The job the lease is for: `<instance>/<activity>`. */
  readonly key: string;
  readonly owner: LeaseOwner;
  /** The fencing token: higher on every acquisition of this key, never reused. */
  readonly token: number;
  /** When this token was acquired (the store's clock). */
  readonly acquiredAt: Instant;
  /** The last renewal (the store's clock). */
  readonly renewedAt: Instant;
  /** When the lease lapses unless renewed (the store's clock). */
  readonly expiresAt: Instant;
}

/** What every fenced write carries: the lease key and the token of the run that writes. */
export interface Fence {
  readonly key: string;
  readonly token: number;
}

/** Options of {@link LeaseStore.acquireLease}. */
export interface AcquireLeaseOptions {
  /** How long the lease lasts without a renewal, in ms. */
  readonly ttlMs: number;
  /**
   * Compare-and-set takeover of a lease that still looks live but whose holder the caller proved
   * dead (same host, pid gone): acquires only when the current token equals this one, so two
   * callers that both saw the dead holder cannot both take over.
   */
  readonly takeOverToken?: number;
}

/** The answer of {@link LeaseStore.acquireLease}. */
export type AcquireLeaseResult =
  /** Acquired; `previous` is the unreleased lease that was taken over (expired or proven dead). */
  | { readonly acquired: true; readonly lease: RunLease; readonly previous?: RunLease }
  /** Refused: another run holds the lease. */
  | { readonly acquired: false; readonly holder: RunLease };

/**
 * Where run leases live. The same store (same database) must check the fences of the option
 * store, the journal and the record store a run writes to, or fencing protects nothing.
 */
export interface LeaseStore {
  /**
   * Acquires the lease of `key` when it is free, released, expired (by the store's clock), or held
   * with token `options.takeOverToken`. The new token is the previous token + 1 (the row is kept
   * after a release so tokens are never reused). Atomic: of two callers, one acquires.
   */
  acquireLease(key: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquireLeaseResult>;
  /**
   * Extends the lease to `ttlMs` from now. Rejects with {@link StaleFenceError} when `fence.token`
   * is no longer the current unreleased token of `fence.key`.
   */
  renewLease(fence: Fence, ttlMs: number): Promise<RunLease>;
  /** Releases the lease; harmless when the fence is stale (someone else holds it now). */
  releaseLease(fence: Fence): Promise<void>;
  /** The current unreleased lease of `key`, expired or not; `undefined` when free. */
  getLease(key: string): Promise<RunLease | undefined>;
}

/**
 * A write or renewal carried a token that is no longer current: a newer run took the job over.
 * Nothing of the write was stored.
 */
export class StaleFenceError extends Error {
  override readonly name = 'StaleFenceError';
  /** Always `stale-fence`, for callers that branch on codes. */
  readonly code = 'stale-fence' as const;
  /** The lease key. */
  readonly key: string;
  /** The stale token the write carried. */
  readonly token: number;
  /** The current token, when the key has an unreleased lease. */
  readonly currentToken?: number;

  /**
   * @param fence - the fence the refused write carried
   * @param currentToken - the current unreleased token, if any
   */
  constructor(fence: Fence, currentToken?: number) {
    super(
      `[crm-sync] [lease] the run holding token ${fence.token} of job "${fence.key}" lost its lease: ` +
        (currentToken === undefined
          ? 'the lease was released or never taken in this store'
          : `a newer run took the job over (token ${currentToken})`) +
        '; nothing was written. This run must stop; the current holder carries on.',
    );
    this.key = fence.key;
    this.token = fence.token;
    if (currentToken !== undefined) this.currentToken = currentToken;
  }
}

/** True when `error` is a {@link StaleFenceError} (also one from another copy of this package). */
export function isStaleFenceError(error: unknown): error is StaleFenceError {
  return error instanceof StaleFenceError || (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'stale-fence');
}

interface LeaseRow {
  lease: RunLease;
  released: boolean;
}

/**
 * Leases in memory: excludes runs within one process only. The memory option store, journal and
 * record store check fences against the lease store they were given.
 */
export class MemoryLeaseStore implements LeaseStore {
  private readonly rows = new Map<string, LeaseRow>();

  /** @param now The store's clock, which decides expiry (defaults to the system clock). */
  constructor(private readonly now: () => Date = () => new Date()) {}

  async acquireLease(key: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquireLeaseResult> {
    checkTtl(options.ttlMs);
    const now = this.now();
    const row = this.rows.get(key);
    const live = row !== undefined && !row.released;
    if (row !== undefined && live && Date.parse(row.lease.expiresAt) > now.getTime() && options.takeOverToken !== row.lease.token) {
      return { acquired: false, holder: row.lease };
    }
    const stamp = now.toISOString();
    const lease: RunLease = {
      key,
      owner: { ...owner },
      token: (row?.lease.token ?? 0) + 1,
      acquiredAt: stamp,
      renewedAt: stamp,
      expiresAt: new Date(now.getTime() + options.ttlMs).toISOString(),
    };
    this.rows.set(key, { lease, released: false });
    return live ? { acquired: true, lease, previous: row.lease } : { acquired: true, lease };
  }

  async renewLease(fence: Fence, ttlMs: number): Promise<RunLease> {
    checkTtl(ttlMs);
    const row = this.checkFence(fence);
    const now = this.now();
    const lease = { ...row.lease, renewedAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
    row.lease = lease;
    return lease;
  }

  async releaseLease(fence: Fence): Promise<void> {
    const row = this.rows.get(fence.key);
    if (row !== undefined && !row.released && row.lease.token === fence.token) row.released = true;
  }

  async getLease(key: string): Promise<RunLease | undefined> {
    const row = this.rows.get(key);
    return row === undefined || row.released ? undefined : row.lease;
  }

  /**
   * Throws {@link StaleFenceError} unless `fence.token` is the current unreleased token of
   * `fence.key`. Synchronous, so a memory store checks and mutates in one step.
   */
  assertFence(fence: Fence): void {
    this.checkFence(fence);
  }

  private checkFence(fence: Fence): LeaseRow {
    const row = this.rows.get(fence.key);
    if (row === undefined || row.released || row.lease.token !== fence.token) {
      throw new StaleFenceError(fence, row === undefined || row.released ? undefined : row.lease.token);
    }
    return row;
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`[crm-sync] [lease] ttlMs must be a number of milliseconds > 0, got ${ttlMs}; e.g. 30000`);
  }
}
