/**
 * The workers page of `crm-sync ui` over Redis: with Redis up, a job queued and a schedule added
 * with the `@crm-sync/worker-bullmq` API show on `/api/v1/workers` (the queue, its counts, the
 * schedule's next fire time); a Redis that refuses, or accepts and never answers, gives the page a
 * clear message within the time limit, and the password of the Redis URL is nowhere (not in the
 * API's answers, not in what the command prints).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { UiServer } from '@crm-sync/ui';
import { enqueueSyncJob, removeSchedule, upsertSchedule } from '@crm-sync/worker-bullmq';
import { REDIS_SERVICE, requireService } from '@crm-sync/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { uiCommand, type UiCommandOptions } from '../src/commands/ui-command.js';
import { ExitCode } from '../src/exit-codes.js';
import type { CliIo } from '../src/io.js';
import { dropRedisPrefixes, tempDir } from './helpers.js';

const redisUrl = await requireService(REDIS_SERVICE);
const prefix = `t-cli-uiworkers-${randomBytes(4).toString('hex')}`;
const TOKEN = 'a-token-for-the-workers-page-1';
const PASSWORD = 'pa55-w0rd-of-redis';

interface WorkersAnswer {
  inUse: boolean;
  status?: {
    at: string;
    queues: { name: string; account: string; waiting: number; active: number; delayed: number; failed: number; completed: number; paused: boolean }[];
    workers: unknown[];
    schedules: { id: string; queue: string; job: string; every?: number; next?: string }[];
  };
  error?: { code: string; message: string };
}

function captureIo(env: NodeJS.ProcessEnv): { io: CliIo; printed: () => string } {
  let printed = '';
  const write = (text: string): void => {
    printed += text;
  };
  return { io: { stdout: { write }, stderr: { write }, env: { CRM_SYNC_UI_TOKEN: TOKEN, ...env }, cwd: tempDir() }, printed: () => printed };
}

/** Runs `crm-sync ui` on a missing SQLite file, reads `/api/v1/workers` (as text) and stops it. */
async function workersPage(io: CliIo, options: Omit<UiCommandOptions, 'db' | 'signal' | 'onListening' | 'port'>): Promise<{ code: number; text: string }> {
  const abort = new AbortController();
  let text = '';
  let work: Promise<void> = Promise.resolve();
  const code = await uiCommand(io, {
    db: join(io.cwd, 'none.sqlite'),
    port: 0,
    ...options,
    signal: abort.signal,
    onListening: (server: UiServer) => {
      work = (async () => {
        const answer = await fetch(`${server.url}/api/v1/workers`, { headers: { Authorization: `Bearer ${TOKEN}` } });
        expect(answer.status).toBe(200);
        text = await answer.text();
      })().finally(() => abort.abort());
    },
  });
  await work;
  return { code, text };
}

describe.skipIf(redisUrl === undefined)('crm-sync ui with the distributed workers on Redis', () => {
  const redis = redisUrl!;
  afterAll(async () => {
    await removeSchedule('ui-nightly', { redis, prefix });
    await dropRedisPrefixes(redis, [prefix]);
  });

  it('shows the queue with its counts and the schedule with its next fire time', async () => {
    const job = { account: 'ui-sales', jobKey: 'default/importContacts', definition: { operation: 'import' } };
    await enqueueSyncJob(job, { redis, prefix });
    await enqueueSyncJob(job, { redis, prefix });
    await upsertSchedule('ui-nightly', job, { cron: '0 3 * * *', timeZone: 'UTC' }, { redis, prefix });
    const now = new Date();
    const today3 = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 3);
    const nextThree = new Date(today3 > now.getTime() ? today3 : today3 + 86_400_000).toISOString();
    // The Redis comes from the environment, as for the worker commands; the prefix from --prefix.
    const { io, printed } = captureIo({ CRM_SYNC_REDIS_URL: redis });
    const { code, text } = await workersPage(io, { prefix });
    expect(code).toBe(ExitCode.ok);
    const answer = JSON.parse(text) as WorkersAnswer;
    expect(answer.error).toBeUndefined();
    expect(answer.inUse).toBe(true);
    expect(answer.status?.queues).toEqual([{ name: 'account.ui-sales', account: 'ui-sales', waiting: 2, active: 0, delayed: 1, failed: 0, completed: 0, paused: false }]);
    const [schedule, ...others] = answer.status?.schedules ?? [];
    expect(others).toEqual([]);
    // The schedule's next firing waits on the queue as a delayed job.
    expect(schedule).toEqual({ id: 'ui-nightly', queue: 'account.ui-sales', job: 'default/importContacts', cron: '0 3 * * *', next: nextThree });
    expect(printed()).toContain(`Workers: from Redis at ${new URL(redis).toString()}, prefix ${prefix}.`);
  });
});

describe('crm-sync ui with a Redis that does not answer', () => {
  it('says Redis is unreachable on the workers page, without the password', async () => {
    const { io, printed } = captureIo({});
    const { code, text } = await workersPage(io, { redis: `redis://:${PASSWORD}@127.0.0.1:1`, prefix: 'crm-sync' });
    expect(code).toBe(ExitCode.ok);
    const answer = JSON.parse(text) as WorkersAnswer;
    expect(answer.inUse).toBe(true);
    expect(answer.error?.code).toBe('workers-unreadable');
    expect(answer.error?.message).toMatch(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/? is unreachable .*pass the right --redis URL \(or set CRM_SYNC_REDIS_URL\)/);
    expect(answer.error?.message).not.toMatch(/\n\s+at /);
    expect(text + printed()).not.toContain(PASSWORD);
    expect(printed()).toContain('Workers: from Redis at redis://:***@127.0.0.1:1');
  });

  it('gives up on a Redis that accepts the connection but never answers, within the time limit', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const { io, printed } = captureIo({});
      const { code, text } = await workersPage(io, { redis: `redis://:${PASSWORD}@127.0.0.1:${port}/0`, workersTimeoutMs: 500 });
      expect(code).toBe(ExitCode.ok);
      const answer = JSON.parse(text) as WorkersAnswer;
      expect(answer.error?.message).toContain(`Redis at redis://:***@127.0.0.1:${port}/0 did not answer within 0.5 s. Check that Redis runs and that --redis (or CRM_SYNC_REDIS_URL) names it`);
      expect(text + printed()).not.toContain(PASSWORD);
      expect(sockets.size, 'the status function did try this Redis').toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('leaves the workers out when no Redis is named', async () => {
    const { io, printed } = captureIo({});
    const { text } = await workersPage(io, {});
    expect(JSON.parse(text)).toEqual({ inUse: false });
    expect(printed()).not.toContain('Workers:');
  });
});
