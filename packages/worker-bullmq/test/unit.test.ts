/**
 * The parts of worker-bullmq that need no service: queue names, what BullMQ is told to do with each
 * kind of run failure, and Redis URLs (parsed, redacted, refused with a reason).
 */
import type { RunError } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { accountOfQueue, accountQueueName, checkRedis, exitCodeOf, failureHandling, payloadProblem, redactRedisUrl } from '../src/index.js';
import { redisOptions } from '../src/redis-connection.js';

const runError = (kind: RunError['kind'], retryable?: boolean): RunError =>
  ({ kind, message: kind, ...(retryable === undefined ? {} : { crmError: { kind: 'transient', retryable, connector: 'x', message: 'm' } }) }) as RunError;

describe('queue names', () => {
  it('give each account its own queue and map back, escaping what BullMQ refuses', () => {
    for (const account of ['sales-org', 'a:b', '100%', 'x%3Ay']) expect(accountOfQueue(accountQueueName(account))).toBe(account);
    expect(accountQueueName('a:b')).not.toContain(':');
    expect(accountOfQueue('other')).toBeUndefined();
  });
});

describe('failure handling', () => {
  it('retries only what the SDK marks retryable, fails the rest at once, puts back running and aborted jobs', () => {
    expect(failureHandling(runError('crm', true))).toBe('retry');
    expect(failureHandling(runError('crm', false))).toBe('fail');
    expect(failureHandling(runError('store'))).toBe('retry');
    expect(failureHandling(runError('invalid-job'))).toBe('fail');
    expect(failureHandling(runError('watermark'))).toBe('fail');
    expect(failureHandling(runError('in-doubt'))).toBe('fail');
    expect(failureHandling(runError('job-running'))).toBe('requeue');
    expect(failureHandling(runError('aborted'))).toBe('requeue');
  });

  it("gives crm-sync run's exit codes", () => {
    expect([exitCodeOf('invalid-job'), exitCodeOf('job-running'), exitCodeOf('crm'), exitCodeOf('invalid-payload')]).toEqual([2, 4, 1, 2]);
  });

  it('refuses a payload of another version or without an account', () => {
    expect(payloadProblem({ version: 2, account: 'a', jobKey: 'k', definition: 'x' })).toMatch(/version 2/);
    expect(payloadProblem({ version: 1, account: '', jobKey: 'k', definition: 'x' })).toMatch(/no account/);
    expect(payloadProblem({ version: 1, account: 'a', jobKey: 'k', definition: 'x' })).toBeUndefined();
  });
});

describe('Redis URLs', () => {
  it('mask the password and refuse what is not a Redis URL, saying how to write one', () => {
    expect(redactRedisUrl('redis://user:s3cret@host:6380/2')).toBe('redis://user:***@host:6380/2');
    expect(() => redisOptions('postgres://x@y/z')).toThrow(/not a Redis URL.*redis:\/\//);
    expect(redisOptions('redis://:pw@h:6390/3')).toMatchObject({ host: 'h', port: 6390, db: 3, password: 'pw', maxRetriesPerRequest: null });
  });

  it('say Redis is unreachable without the password', async () => {
    const message = await checkRedis('redis://:t0p-secret@127.0.0.1:1', 1_000);
    expect(message).toMatch(/unreachable/);
    expect(message).not.toContain('t0p-secret');
  });
});
