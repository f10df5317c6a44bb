/**
 * How a run holds its job's lease: acquire before reading anything (taking over from a holder
 * that is provably dead, or waiting when asked), renew on a timer while the run lives, stop the
 * run the moment the lease is lost, release at the end.
 *
 * @module
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { err, ok, type Result } from 'neverthrow';
import { redact } from '../errors/redact.js';
import { isStaleFenceError, MemoryLeaseStore, type Fence, type LeaseOwner, type LeaseStore, type RunLease } from '../stores/lease.js';
import type { RunContext } from './context.js';
import { exportJobId } from './job.js';
import type { RunError } from './types.js';

/** Default lease TTL: a run whose process dies is taken over this long after its last renewal. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** Longest pause between two tries while waiting for a lease (`leaseWaitMs`). */
const WAIT_POLL_MS = 1_000;

let processLeases: MemoryLeaseStore | undefined;

/**
 * The lease store orchestrators use when given none: one per process, so two orchestrators in one
 * process exclude each other. It gives no protection across processes; pass a store's `leases`.
 */
export function processLeaseStore(): MemoryLeaseStore {
  processLeases ??= new MemoryLeaseStore();
  return processLeases;
}

/** True when `pid` is a live process on this host (a process of another user counts as live). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ESRCH';
  }
}

/** How a lease holder is named in messages. */
export function describeHolder(lease: RunLease): string {
  return `host ${lease.owner.host}, pid ${lease.owner.pid}, run ${lease.owner.runId}, since ${lease.acquiredAt}, lease expires ${lease.expiresAt} unless renewed`;
}

/** Milliseconds on a monotonic clock: lease timing must not follow a test's or a user's wall clock. */
const monotonic = (): number => performance.now();

/**
 * The lease a run holds while it lives. Timing is on this process's monotonic clock, which keeps
 * counting while the process is paused (SIGSTOP, a suspended VM): a run that was paused past its
 * TTL knows it may have been taken over before it sends anything more.
 */
export class HeldLease {
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewing = false;
  /** When the last successful renewal (or the acquisition) was asked for: the store's expiry is later. */
  private lastRenewed: number;
  private lostWith: RunError | undefined;

  constructor(
    private readonly store: LeaseStore,
    readonly lease: RunLease,
    private readonly ttlMs: number,
    private readonly context: RunContext,
    private readonly abort: (reason: unknown) => void,
  ) {
    this.lastRenewed = monotonic();
  }

  /** What every write of the run carries. */
  get fence(): Fence {
    return { key: this.lease.key, token: this.lease.token };
  }

  /**
   * The run error when the lease was lost, else `undefined`. Also lost when no renewal succeeded
   * within the TTL (the process was paused or the store unreachable): another run may hold the
   * job now, so this one must not call the CRM again.
   */
  get lost(): RunError | undefined {
    if (this.lostWith === undefined && this.timer !== undefined && monotonic() - this.lastRenewed >= this.ttlMs) {
      this.lose(`the lease of job "${this.lease.key}" was not renewed within its TTL (${this.ttlMs} ms; the process was paused or the store unreachable), so another run may hold the job now; this run stopped`, undefined);
    }
    return this.lostWith;
  }

  /** Renews every third of the TTL until {@link HeldLease.release}. */
  startRenewing(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(10, Math.floor(this.ttlMs / 3)));
    this.timer.unref?.();
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lostWith) return;
    this.renewing = true;
    const asked = monotonic();
    try {
      await this.store.renewLease(this.fence, this.ttlMs);
      this.lastRenewed = asked;
    } catch (error) {
      if (isStaleFenceError(error)) {
        this.lose(`another run took over job "${this.lease.key}" (lease token ${this.lease.token} is stale); this run stopped and wrote nothing more`, error);
      } else if (monotonic() - this.lastRenewed >= this.ttlMs) {
        this.lose(`the lease of job "${this.lease.key}" could not be renewed within its TTL (${this.ttlMs} ms), so another run may take over; this run stopped`, error);
      } else {
        this.context.deps.logger.warn({ error: redact(error) }, `[crm-sync] [orchestrator] renewing the lease of job "${this.lease.key}" failed; retrying`);
      }
    } finally {
      this.renewing = false;
    }
  }

  private lose(message: string, cause: unknown): void {
    this.lostWith = this.context.fail('lease-lost', message, cause === undefined ? {} : { cause: redact(cause) });
    this.context.deps.logger.error({ key: this.lease.key, token: this.lease.token }, this.lostWith.message);
    this.abort(this.lostWith);
  }

  /** Stops renewing and releases the lease (harmless when it was lost). */
  async release(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.store.releaseLease(this.fence);
    } catch (error) {
      this.context.deps.logger.warn({ error: redact(error) }, `[crm-sync] [orchestrator] releasing the lease of job "${this.lease.key}" failed; it lapses after its TTL`);
    }
  }
}

/** What acquiring needs besides the context. */
export interface AcquireOptions {
  readonly store: LeaseStore;
  readonly ttlMs: number;
  /** How long to wait for a held lease; 0 refuses at once. */
  readonly waitMs: number;
  readonly abort: (reason: unknown) => void;
}

/**
 * Acquires the job's lease. A holder on this host whose pid is gone is taken over at once (by
 * compare-and-set on its token); any other holder is waited for up to `waitMs`, then the run is
 * refused with a `job-running` error naming the holder.
 */
export async function acquireRunLease(context: RunContext, options: AcquireOptions): Promise<Result<HeldLease, RunError>> {
  const key = exportJobId(context.job);
  const owner: LeaseOwner = { host: hostname(), pid: process.pid, runId: newRunId() };
  const { sleep } = context.deps;
  const deadline = monotonic() + options.waitMs;
  for (let tries = 0; ; tries += 1) {
    let result = await options.store.acquireLease(key, owner, { ttlMs: options.ttlMs });
    if (!result.acquired && result.holder.owner.host === owner.host && !isProcessAlive(result.holder.owner.pid)) {
      result = await options.store.acquireLease(key, owner, { ttlMs: options.ttlMs, takeOverToken: result.holder.token });
    }
    if (result.acquired) {
      const previous = result.previous;
      if (previous !== undefined) {
        const why = previous.owner.host === owner.host && !isProcessAlive(previous.owner.pid) ? 'its process is gone' : 'its lease expired';
        context.note(`took over job "${key}" from a run that died (${describeHolder(previous)}): ${why}`);
      }
      return ok(new HeldLease(options.store, result.lease, options.ttlMs, context, options.abort));
    }
    const holder = result.holder;
    const left = deadline - monotonic();
    const stopped = context.aborted();
    if (stopped) return err(stopped);
    if (left <= 0) {
      const waited = options.waitMs > 0 ? ` after waiting ${options.waitMs} ms` : '';
      return err(
        context.fail(
          'job-running',
          `job "${key}" is already running${waited} (${describeHolder(holder)}); nothing was read or written. ` +
            'Wait for it to finish (CLI: --wait <duration>, e.g. --wait 10m; API: leaseWaitMs). ' +
            'If that process is dead, its lease is taken over automatically: at once on the same host, otherwise once the lease expires.',
          { holder },
        ),
      );
    }
    if (tries === 0) context.note(`job "${key}" is running (${describeHolder(holder)}); waiting up to ${options.waitMs} ms`);
    await sleep(Math.min(WAIT_POLL_MS, Math.max(10, options.ttlMs / 3), left), context.options.signal);
  }
}

function newRunId(): string {
  return globalThis.crypto.randomUUID();
}
