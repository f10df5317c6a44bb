/**
 * The dashboard's workers page in a real browser (Debian's Chromium, driven by playwright-core)
 * while the distributed workers are in use: a `crm-sync worker` runs in this process on Redis and
 * PostgreSQL, a job file ran on it, a schedule is added and the account is paused by a shared rate
 * limit; the page shows the queue with its counts and pause, the live worker and the schedule,
 * and after the worker stops and the pause ends it shows neither without a reload.
 *
 * Skipped with one line without PostgreSQL, Redis or /usr/bin/chromium; with
 * CRM_SYNC_REQUIRE_SERVICES=1 a missing one fails the run. Every Redis key under the test's own
 * prefix and its PostgreSQL schema are removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UiServer } from '@crm-sync/ui';
import { dropPostgresSchema } from '@crm-sync/store-postgres';
import { POSTGRES_SERVICE, REDIS_SERVICE, requireService } from '@crm-sync/testkit';
import { AccountPause, readWorkersStatus } from '@crm-sync/worker-bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uiCommand } from '../src/commands/ui-command.js';
import { workerCommand } from '../src/commands/worker-command.js';
import type { CliIo } from '../src/io.js';
import { cli, dropRedisPrefixes, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  if (process.env.CRM_SYNC_REQUIRE_SERVICES === '1') throw new Error(`${CHROMIUM} is missing and CRM_SYNC_REQUIRE_SERVICES=1: install the Debian package chromium (apt-get install -y chromium)`);
  console.warn(`[crm-sync] skipping the workers-page browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}
const pgUrl = await requireService(POSTGRES_SERVICE);
const redisUrl = await requireService(REDIS_SERVICE);
const tag = randomBytes(4).toString('hex');
const schema = `t_cli_uiwb_${tag}`;
const prefix = `t-cli-uiwb-${tag}`;
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.artifacts', 'ui-screenshots');

describe.runIf(present && pgUrl !== undefined && redisUrl !== undefined)('the workers page in Chromium, with workers in use', () => {
  const quiet = (cwd: string, env: NodeJS.ProcessEnv): CliIo => ({ stdout: { write: () => true }, stderr: { write: () => true }, env, cwd });
  let dir: string;
  let redis: Redis;
  let browser: Browser;
  let page: Page;
  let stopWorker: AbortController;
  let worker: Promise<number>;
  let stopUi: AbortController;
  let ui: Promise<number>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
    dir = tempDir('crm-sync-uiwb-');
    writeFiles(dir, {
      'crm-sync.accounts.yaml': MOCK_ACCOUNTS,
      'import.yaml': `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: lastName, local: last_name }\n`,
    });
    env = { CRM_SYNC_REDIS_URL: redisUrl!, CRM_SYNC_UI_TOKEN: `tok-${tag}-for-the-workers-page` };
    const db = `${pgUrl!}${pgUrl!.includes('?') ? '&' : '?'}schema=${schema}`;
    stopWorker = new AbortController();
    worker = workerCommand(quiet(dir, env), { db, prefix, grace: 5_000, signal: stopWorker.signal });
    const ran = await cli(dir, ['enqueue', 'import.yaml', '--wait', '--prefix', prefix], env);
    expect(ran.code, ran.stderr).toBe(0);
    const added = await cli(dir, ['schedule', 'add', 'import.yaml', '--cron', '0 3 * * *', '--prefix', prefix], env);
    expect(added.code, added.stderr).toBe(0);
    // A rate limit one worker hit: the account is paused on all of them for a while.
    await new AccountPause(redis, prefix, 'demo', undefined).pauseFor(60_000, 'HTTP 429 REQUEST_LIMIT_EXCEEDED from the CRM');

    stopUi = new AbortController();
    let listening: (server: UiServer) => void = () => {};
    const started = new Promise<UiServer>((resolve) => (listening = resolve));
    ui = uiCommand(quiet(dir, env), { db: join(dir, 'none.sqlite'), port: 0, prefix, signal: stopUi.signal, onListening: (server) => listening(server) });
    const server = await Promise.race([started, ui.then((code) => Promise.reject(new Error(`crm-sync ui ended with ${code}`)))]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(server.openUrl);
    await page.waitForSelector('#main[data-ready]');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    stopUi?.abort();
    await ui;
    stopWorker?.abort();
    await worker;
    redis?.disconnect();
    if (redisUrl !== undefined) await dropRedisPrefixes(redisUrl, [prefix]);
    if (pgUrl !== undefined) await dropPostgresSchema(pgUrl, schema);
  }, 60_000);

  it('shows the queue with its counts and its pause, the live worker and the schedule', async () => {
    await page.click('a[data-nav=workers]');
    await page.waitForSelector('#main[data-ready] #queues');
    const queue = page.locator('#queues tbody tr');
    expect(await queue.count()).toBe(1);
    const cells = await queue.first().locator('td').allTextContents();
    // queue, account, waiting, active, delayed (the schedule's next firing), failed, completed, paused
    expect(cells.slice(0, 7)).toEqual(['account.demo', 'demo', '0', '0', '1', '0', '1']);
    expect(cells[7]).toMatch(/^paused until .+: HTTP 429 REQUEST_LIMIT_EXCEEDED from the CRM$/);
    const workers = await page.locator('#workers tbody tr').first().locator('td').allTextContents();
    expect(workers[2]).toBe(String(process.pid));
    expect(workers[3]).toBe('account.demo');
    const schedule = await page.locator('#schedules tbody tr').first().locator('td').allTextContents();
    // A cron schedule (an `every` schedule would fire at once and make the counts race).
    expect(schedule.slice(0, 5)).toEqual(['default/importContacts', 'account.demo', 'default/importContacts', '', '0 3 * * *']);
    expect(await page.textContent('#main'), 'no absent value rendered as text').not.toMatch(/undefined|null|NaN/);
    await page.screenshot({ path: join(SHOTS, 'workers-in-use.png'), fullPage: true });
  });

  it('follows the worker stopping and the pause ending without a reload', async () => {
    stopWorker.abort();
    expect(await worker).toBe(0);
    await redis.del(`${prefix}:crm-sync:pause:demo`);
    const status = await readWorkersStatus({ redis: redisUrl!, prefix });
    expect(status.workers).toEqual([]);
    expect(status.queues[0]?.paused).toBe(false);
    // The page polls: the worker's row and the pause go away by themselves.
    await page.waitForSelector('#main[data-ready] p.muted >> text=No live worker.', { timeout: 30_000 });
    await expect.poll(async () => (await page.locator('#queues tbody tr td').nth(7).textContent()) ?? '', { timeout: 30_000 }).toBe('no');
  }, 60_000);
});
