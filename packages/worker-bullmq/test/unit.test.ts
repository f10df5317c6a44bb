/**
 * The parts of worker-bullmq that need no service: queue names, what BullMQ is told to do with each
 * kind of run failure, Redis URLs (parsed, redacted, refused with a reason) and a process's slots.
 */
import type { RunError } from '@crm-sync/sdk';
import { describe, expect, it } from 'vitest';
import { accountOfQueue, accountQueueName, checkRedis, exitCodeOf, failureHandling, payloadProblem, redactRedisUrl } from '../src/index.js';
import { ProcessSlots } from '../src/process-capacity.js';
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

describe('a process\'s slots', () => {
  it('give at most the capacity at once, and a freed slot to the longest waiter first', async () => {
    const slots = new ProcessSlots(1);
    const never = new AbortController().signal;
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    const order: string[] = [];
    const first = slots.acquire(never).then((got) => order.push(`first ${got}`));
    const second = slots.acquire(never).then((got) => order.push(`second ${got}`));
    slots.release();
    await first;
    expect(order).toEqual(['first true']);
    slots.release();
    await second;
    expect(order).toEqual(['first true', 'second true']);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
  });

  it('answer a waiter "no slot" when its signal fires, and do not count it', async () => {
    const slots = new ProcessSlots(1);
    slots.tryAcquire();
    const stop = new AbortController();
    const waiting = slots.acquire(stop.signal);
    stop.abort();
    expect(await waiting).toBe(false);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
    expect(() => new ProcessSlots(0)).toThrow(/capacity must be a whole number >= 1/);
  });
});

describe('the account-pause wrapper', () => {
  it('keeps the connector\'s instanceKey and hands cached descriptions to it, and their drops (the describe cache stays per org and saves the describe)', async () => {
    const { InMemoryCrm, MockConnector } = await import('@crm-sync/connector-mock');
    const { pausedConnector } = await import('../src/index.js');
    const inner = new MockConnector(new InMemoryCrm(), { instanceKey: 'https://a.example.test' });
    const adopted: string[] = [];
    const forgotten: string[] = [];
    const withAdopt = Object.assign(Object.create(inner) as typeof inner, {
      adoptDescription: (description: { name: string }) => void adopted.push(description.name),
      forgetDescription: (object: string) => void forgotten.push(object),
    });
    // Only whenOpen and pauseFor are used by the wrapper; this pause is always open.
    const pause = { whenOpen: async () => undefined, pauseFor: async () => undefined } as unknown as Parameters<typeof pausedConnector>[1];
    const wrapped = pausedConnector(withAdopt, pause);
    expect(wrapped.instanceKey).toBe('https://a.example.test');
    wrapped.adoptDescription?.({ name: 'contact', primaryKey: 'id', fields: [], queryable: true, createable: true, updateable: true, deletable: true, custom: false });
    expect(adopted).toEqual(['contact']);
    wrapped.forgetDescription?.('contact');
    expect(forgotten).toEqual(['contact']);
    expect(pausedConnector(new MockConnector(new InMemoryCrm()), pause).instanceKey).toBeUndefined();
  });
});
