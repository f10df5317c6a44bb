/**
 * Helpers of the lease and fencing checks: two holders of one job, a zombie fence, and the
 * assertion that a write was refused as stale.
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { Fence, LeaseOwner, LeaseStore } from '@crm-sync/sdk';

/** The first holder of {@link JOB}. */
export const HOLDER_A: LeaseOwner = { host: 'host-a', pid: 101, runId: 'run-a' };
/** The second holder of {@link JOB}, on another host. */
export const HOLDER_B: LeaseOwner = { host: 'host-b', pid: 202, runId: 'run-b' };
/** The lease key the fencing checks use. */
export const JOB = 'default/leased';

/** Waits `ms` on the real clock. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Acquires for A, then has B take over by compare-and-set: A's fence is now a zombie's. */
export async function zombieAndHolder(store: LeaseStore): Promise<{ zombie: Fence; holder: Fence }> {
  const first = await store.acquireLease(JOB, HOLDER_A, { ttlMs: 60_000 });
  assert.ok(first.acquired, 'the first acquisition of a free lease must succeed');
  const second = await store.acquireLease(JOB, HOLDER_B, { ttlMs: 60_000, takeOverToken: first.lease.token });
  assert.ok(second.acquired, 'a takeover with the current token must succeed');
  return { zombie: { key: JOB, token: first.lease.token }, holder: { key: JOB, token: second.lease.token } };
}

/** Asserts that `write` rejects with a stale-fence error. */
export async function refused(write: () => Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(write, (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, 'stale-fence', `${what}: expected a StaleFenceError (code stale-fence), got ${String(error)}`);
    return true;
  });
}
