/**
 * Shared rate limits per CRM account. When any run on any worker gets a 429 with Retry-After (or
 * a Dataverse service-protection error: both are `rate-limited` CRM errors with `retryAfterMs`),
 * the account is paused for everyone until the wait is over:
 * - the account's queue is rate-limited in BullMQ (`Queue.rateLimit`), so no worker starts another
 *   job of that account;
 * - a Redis key `<prefix>:crm-sync:pause:<account>` lives exactly as long as the wait; every CRM
 *   call of every run of that account, on every worker, first waits until the key is gone. So runs
 *   already going on other workers hold back too, not just new ones.
 * The key is only ever extended (a shorter Retry-After never shortens a longer pause), atomically.
 * Other accounts have other queues and other keys: they keep running.
 *
 * @module
 */
import {
  crmError,
  type CallOptions,
  type CrmConnector,
  type CrmError,
  type DeleteBatchRequest,
  type DeletedRequest,
  type ObjectDescription,
  type QueryRequest,
  type UpsertBatchRequest,
} from '@crm-sync/sdk';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { err, ResultAsync, type Result } from 'neverthrow';
import { pauseKey } from './queue-names.js';

/** Sets the pause when it is longer than what is left of the current one; 1 when set. */
const EXTEND_PAUSE = `local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
  return 1
end
return 0`;

/** The pause used when a rate-limited error carries no Retry-After. */
export const DEFAULT_RATE_LIMIT_PAUSE_MS = 5_000;

/** One account's shared pause. */
export class AccountPause {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** The account's name. */
    readonly account: string,
    private readonly queue: Queue | undefined,
  ) {}

  /** Pauses the account on every worker for `ms` (extends, never shortens, a running pause). */
  async pauseFor(ms: number, reason: string): Promise<void> {
    const wait = Math.max(1, Math.ceil(ms));
    const set = await this.redis.eval(EXTEND_PAUSE, 1, pauseKey(this.prefix, this.account), String(wait), reason);
    if (set === 1 && this.queue !== undefined) await this.queue.rateLimit(wait);
  }

  /** Milliseconds left of the pause, 0 when the account is not paused. */
  async remainingMs(): Promise<number> {
    const left = await this.redis.pttl(pauseKey(this.prefix, this.account));
    return left > 0 ? left : 0;
  }

  /** Resolves once the account is not paused (or `signal` fires). */
  async whenOpen(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted === true) return;
      const left = await this.remainingMs();
      if (left <= 0) return;
      await sleep(left, signal);
    }
  }
}

/**
 * `connector` with every call gated by the account's shared pause, and every rate-limited answer
 * turned into a pause for all workers. `mayCall` is asked right before each call is sent (after
 * the pause check): false refuses it with a retryable `transient` error. Wrapped *inside* the SDK's runtime wrapper, so the runtime's
 * own retries go through the gate too.
 */
export function pausedConnector(
  connector: CrmConnector,
  pause: AccountPause,
  onPause?: (ms: number, error: CrmError) => void,
  mayCall: () => boolean = () => true,
): CrmConnector {
  const gate = async <T>(options: CallOptions | undefined, call: () => ResultAsync<T, CrmError>): Promise<Result<T, CrmError>> => {
    await pause.whenOpen(options?.signal);
    // The run checked its lease before this call, but waiting for Redis is a gap: a process
    // paused in it (SIGSTOP, a frozen VM) past its lease must not send once it resumes.
    if (!mayCall()) {
      return err(crmError('transient', connector.id, '[crm-sync] [worker] the run\'s lease was not renewed within its TTL (the process was paused?); the call was not sent', { retryable: true }));
    }
    const settled = await call();
    if (settled.isErr() && settled.error.kind === 'rate-limited' && settled.error.retryable) {
      const ms = settled.error.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS;
      onPause?.(ms, settled.error);
      await pause.pauseFor(ms, `${settled.error.connector} rate limit (${settled.error.vendorCode ?? 'HTTP 429'}): wait ${ms} ms`);
    }
    return settled;
  };
  const wrap = <T>(options: CallOptions | undefined, call: () => ResultAsync<T, CrmError>): ResultAsync<T, CrmError> => new ResultAsync(gate(options, call));
  return wrapConnector(connector, wrap);
}

function wrapConnector(
  connector: CrmConnector,
  wrap: <T>(options: CallOptions | undefined, call: () => ResultAsync<T, CrmError>) => ResultAsync<T, CrmError>,
): CrmConnector {
  const wrapped: CrmConnector = {
    id: connector.id,
    ...(connector.instanceKey === undefined ? {} : { instanceKey: connector.instanceKey }),
    capabilities: connector.capabilities,
    listObjects: (options?: CallOptions) => wrap(options, () => connector.listObjects(options)),
    describe: (object: string, options?: CallOptions) => wrap(options, () => connector.describe(object, options)),
    query: (request: QueryRequest, cursor?: string, options?: CallOptions) => wrap(options, () => connector.query(request, cursor, options)),
    upsertBatch: (request: UpsertBatchRequest, options?: CallOptions) => wrap(options, () => connector.upsertBatch(request, options)),
    getDeleted: (request: DeletedRequest, cursor?: string, options?: CallOptions) => wrap(options, () => connector.getDeleted(request, cursor, options)),
    delete: (request: DeleteBatchRequest, options?: CallOptions) => wrap(options, () => connector.delete(request, options)),
    ...(connector.normalizeId === undefined ? {} : { normalizeId: (object: string, id: string) => connector.normalizeId!(object, id) }),
    ...(connector.serverTime === undefined ? {} : { serverTime: (options?: CallOptions) => wrap(options, () => connector.serverTime!(options)) }),
    ...(connector.close === undefined ? {} : { close: () => connector.close!() }),
    ...(connector.adoptDescription === undefined ? {} : { adoptDescription: (description: ObjectDescription) => connector.adoptDescription!(description) }),
    ...(connector.forgetDescription === undefined ? {} : { forgetDescription: (object: string) => connector.forgetDescription!(object) }),
  };
  return wrapped;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
