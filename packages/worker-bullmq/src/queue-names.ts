/**
 * Names in Redis: every key crm-sync's queues use starts with a prefix (default `crm-sync`; tests
 * and separate installations pick their own), and each CRM account has its own queue, so a rate
 * limit or a concurrency cap of one account never holds up another.
 *
 * @module
 */

/** The key prefix used when none is given. */
export const DEFAULT_PREFIX = 'crm-sync';

/** Queue names start with this; the rest is the account name. */
const ACCOUNT_QUEUE = 'account.';

/**
 * The queue of `account`. BullMQ refuses `:` in queue names, so it is escaped (as `%3A`, and `%`
 * as `%25`), which keeps the mapping reversible.
 */
export function accountQueueName(account: string): string {
  if (account === '') throw new RangeError('[crm-sync] [worker] an account name is empty; name the account as in the accounts file');
  return ACCOUNT_QUEUE + account.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** The account of a queue made by {@link accountQueueName}; `undefined` for any other queue. */
export function accountOfQueue(queue: string): string | undefined {
  if (!queue.startsWith(ACCOUNT_QUEUE)) return undefined;
  return queue.slice(ACCOUNT_QUEUE.length).replace(/%3A/g, ':').replace(/%25/g, '%');
}

/** Checks a prefix: not empty, no `:` (BullMQ joins keys with it), no spaces. */
export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.\-{}]+$/.test(prefix)) {
    throw new RangeError(`[crm-sync] [worker] the queue prefix "${prefix}" may hold letters, digits, _ . - { } only (no ":"), e.g. ${DEFAULT_PREFIX}`);
  }
  return prefix;
}

/** The set of account queues ever used under `prefix` (status reads it). */
export const accountsKey = (prefix: string): string => `${prefix}:crm-sync:accounts`;
/** Where an account's shared rate-limit pause lives (value: the reason; expiry: the end). */
export const pauseKey = (prefix: string, account: string): string => `${prefix}:crm-sync:pause:${account}`;
/** Where a worker process's heartbeat lives. */
export const heartbeatKey = (prefix: string, workerId: string): string => `${prefix}:crm-sync:worker:${workerId}`;
/** The pattern matching every heartbeat under `prefix`. */
export const heartbeatPattern = (prefix: string): string => `${prefix}:crm-sync:worker:*`;
/** Where a delivery's successful outcome is kept for a day, so a re-delivery of a finished job does not run it again. */
export const doneKey = (prefix: string, queue: string, bullJobId: string): string => `${prefix}:crm-sync:done:${queue}:${bullJobId}`;
