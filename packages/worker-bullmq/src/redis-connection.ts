/**
 * How crm-sync connects to Redis: BullMQ connection options from a `redis://` URL, set up to ride
 * out a Redis restart (ioredis reconnects forever, commands wait for the connection instead of
 * failing: `maxRetriesPerRequest: null`), and a reachability check that says what to fix.
 * A URL's password is registered with the SDK's redaction the moment it is read, and shown masked.
 *
 * @module
 */
import { registerSecret } from '@crm-sync/sdk';
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';

/** The Redis crm-sync uses when none is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A Redis URL with its password masked: `redis://:***@host:6379/0`. Safe to print. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable Redis URL)';
  }
}

/** ioredis options for `url`; throws a `RangeError` naming the problem when it is not a Redis URL. */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`[crm-sync] [worker] "${redactRedisUrl(url)}" is not a Redis URL: use redis://[user:password@]host[:port][/db], e.g. ${DEFAULT_REDIS_URL}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RangeError(`[crm-sync] [worker] "${redactRedisUrl(url)}" is not a Redis URL (scheme ${parsed.protocol}): use redis:// or rediss://, e.g. ${DEFAULT_REDIS_URL}`);
  }
  const password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  if (password !== undefined) registerSecret(password);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new RangeError(`[crm-sync] [worker] "${redactRedisUrl(url)}": the database number "${parsed.pathname.slice(1)}" is not a whole number`);
  return {
    host: parsed.hostname === '' ? '127.0.0.1' : parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db,
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(password === undefined ? {} : { password }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's requirement for workers: a command waits for the reconnection instead of failing.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    // Reconnect forever, at most every 2 s: a Redis restart only pauses the workers.
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  };
}

/**
 * Connects to `url` once and pings it, within `timeoutMs`. Resolves with `undefined` when Redis
 * answers, or with a message saying what failed and how to fix it (never the password).
 */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<string | undefined> {
  let options: RedisOptions;
  try {
    options = redisOptions(url);
  } catch (error) {
    return (error as Error).message;
  }
  const client = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split(String(options.password ?? '\u0000')).join('***') : String(error);
    return (
      `[crm-sync] [worker] Redis at ${redactRedisUrl(url)} is unreachable (${reason}). ` +
      'Start Redis (e.g. `redis-server`), or pass the right --redis URL (or set CRM_SYNC_REDIS_URL).'
    );
  } finally {
    client.disconnect();
  }
}

/** A plain ioredis client for crm-sync's own keys (pauses, heartbeats), reconnecting like the workers. */
export function openRedis(url: string): Redis {
  const client = new Redis(redisOptions(url));
  // Errors while reconnecting are expected during a Redis restart; commands wait meanwhile.
  client.on('error', () => undefined);
  return client;
}
