/**
 * A worker process's capacity: at most N jobs running at once in this process over all the account
 * queues it serves. BullMQ's `concurrency` is per `Worker`, i.e. per queue, and a process serves
 * one queue per account, so without this a process with 8 accounts and concurrency 4 may run 32
 * jobs. The capacity is taken *before* a job is moved to active, never after: a process at
 * capacity leaves waiting jobs in Redis for a process with room (no job is hoarded by a process
 * that cannot start it), and a freed slot goes to the queue that has waited longest for one.
 *
 * It is built on the protected members BullMQ's `Worker` offers subclasses (`moveToActive`,
 * `processJob`), so BullMQ keeps its own job locks, stalled checks and rate limits:
 * - `moveToActive` (the only way a job becomes active once the job-after-completion fetch is
 *   off) waits for a slot first and gives it back when no job came. A worker gets there after
 *   taking its queue's wake-up marker (the key idle workers block on, BullMQ re-adds it each time
 *   a job goes active): one that must wait for a slot first puts the marker back, or the
 *   processes with room would sleep until their block timeout while jobs wait;
 * - `processJob` gives the slot back when the job is done, and never fetches the next job in the
 *   same Redis call as the completion (that fetch would skip the slot);
 * - BullMQ's loop starts a fetched job only once its next fetch returns, so a fetch never waits
 *   for a slot while a job this worker fetched is not started yet (it answers "no job" instead);
 * - `close` wakes a queue waiting for a slot, so shutting down never waits on one.
 *
 * @module
 */
import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';

/** A counting semaphore: first come, first served. */
export class ProcessSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  /** @param capacity Jobs at once; a whole number >= 1. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`[crm-sync] [worker] capacity must be a whole number >= 1, got ${capacity}`);
  }

  /** Takes a slot when one is free now; false otherwise. */
  tryAcquire(): boolean {
    if (this.used >= this.capacity) return false;
    this.used += 1;
    return true;
  }

  /** Resolves true with a slot taken, or false (no slot) once `signal` fires. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', give);
        resolve(true);
      };
      const give = (): void => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', give, { once: true });
    });
  }

  /** Gives a slot back; the longest waiter gets it. */
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.used = Math.max(0, this.used - 1);
  }
}

/** A BullMQ `Worker` that takes a slot of its process's {@link ProcessSlots} for each job it runs. */
export class CappedWorker<Data, Result> extends Worker<Data, Result> {
  private readonly stopWaiting = new AbortController();
  /** Jobs this worker moved to active whose processing has not started yet. */
  private fetchedNotStarted = 0;

  /**
   * @param wake Puts the queue's marker back (`ZADD <marker key> 0 "0"`, as BullMQ does when a job
   *   is added), so that a blocked worker of another process wakes up.
   */
  constructor(
    name: string,
    processor: Processor<Data, Result>,
    options: WorkerOptions,
    private readonly slots: ProcessSlots,
    private readonly wake: (markerKey: string) => Promise<unknown>,
  ) {
    super(name, processor, { ...options, concurrency: Math.min(options.concurrency ?? 1, slots.capacity) });
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job<Data, Result>> {
    if (!this.slots.tryAcquire()) {
      // BullMQ's loop starts the jobs it fetched only after its fetch returns: waiting for a slot
      // while one of them is not started would wait on ourselves. Answer "no job" instead; the
      // loop starts them and asks again.
      if (this.fetchedNotStarted > 0) return undefined as unknown as Job<Data, Result>;
      await this.wake(this.keys['marker']!).catch(() => undefined);
      if (!(await this.slots.acquire(this.stopWaiting.signal))) return undefined as unknown as Job<Data, Result>;
    }
    let job: Job<Data, Result> | undefined;
    try {
      job = await super.moveToActive(token, name);
      return job;
    } finally {
      // BullMQ answers `undefined` when another process took the job first.
      if (job === undefined) this.slots.release();
      else this.fetchedNotStarted += 1;
    }
  }

  override async processJob(job: Job<Data, Result>, token: string): Promise<void | Job<Data, Result>> {
    this.fetchedNotStarted -= 1;
    try {
      return await super.processJob(job, token, () => false);
    } finally {
      this.slots.release();
    }
  }

  override async close(force?: boolean): Promise<void> {
    this.stopWaiting.abort();
    await super.close(force);
  }
}
