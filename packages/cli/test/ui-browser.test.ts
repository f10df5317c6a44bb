/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium) driven headless by
 * playwright-core, never a downloaded browser. After a demo run: the runs page, a run with its
 * plot drawn (pixels read back from the canvas), the rejects filtered and downloaded as CSV
 * (compared with the store), the jobs and workers pages, an export followed live (the page
 * updates without a reload), and the pages for a missing, newer and damaged database.
 * Screenshots of each page go to .artifacts/ui-screenshots/ (ignored by git).
 *
 * Without /usr/bin/chromium the file is skipped with one line; with CRM_SYNC_REQUIRE_SERVICES=1 it fails.
 */
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { csvCell, REJECTS_CSV_HEADER, type UiServer } from '@crm-sync/ui';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uiCommand } from '../src/commands/ui-command.js';
import type { CliIo } from '../src/io.js';
import { openStore, type CliStore } from '../src/store.js';
import { cli, tempDir } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  if (process.env.CRM_SYNC_REQUIRE_SERVICES === '1') throw new Error(`${CHROMIUM} is missing and CRM_SYNC_REQUIRE_SERVICES=1: install the Debian package chromium (apt-get install -y chromium)`);
  console.warn(`[crm-sync] skipping the dashboard browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.artifacts', 'ui-screenshots');

const quietIo = (cwd: string): CliIo => ({ stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd });

/** Serves `db` with `crm-sync ui` until the returned stop is called. */
async function serve(db: string, cwd: string): Promise<{ server: UiServer; stop: () => Promise<void> }> {
  const abort = new AbortController();
  let listening: (server: UiServer) => void = () => {};
  const started = new Promise<UiServer>((resolve) => (listening = resolve));
  const done = uiCommand(quietIo(cwd), { db, port: 0, signal: abort.signal, onListening: (server) => listening(server) });
  const server = await Promise.race([started, done.then((code) => Promise.reject(new Error(`crm-sync ui ended with ${code}`)))]);
  return {
    server,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

/** Waits until the page finished rendering its current route. */
async function ready(page: Page): Promise<void> {
  await page.waitForSelector('#main[data-ready]');
}

describe.runIf(present)('dashboard in Chromium', () => {
  let dir: string;
  let db: string;
  let browser: Browser;
  let page: Page;
  let ui: { server: UiServer; stop: () => Promise<void> };
  let store: CliStore;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = tempDir('crm-sync-ui-');
    db = join(dir, 'demo.sqlite');
    const demo = await cli(dir, ['demo', '--crm', 'mock', '--contacts', '60', '--db', db]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`crm-sync ui --db ${'demo.sqlite'}`);
    ui = await serve(db, dir);
    store = (await openStore(db))._unsafeUnwrap();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await page.goto(ui.server.openUrl);
    await ready(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await ui?.stop();
    await store?.close();
  });

  it('opens on the runs page after a demo run: its five runs, newest first, and the token is gone from the address', async () => {
    const rows = page.locator('#runs tbody tr');
    await expect.poll(() => rows.count()).toBe(5);
    expect(await rows.first().locator('td').nth(2).textContent()).toBe('delete');
    expect(page.url()).not.toContain('token=');
    expect(await page.textContent('#main'), 'no absent value rendered as text').not.toMatch(/undefined|null|NaN/);
    await page.screenshot({ path: join(SHOTS, 'runs.png'), fullPage: true });
    await page.selectOption('select[name=operation]', 'export');
    await page.click('#run-filters button[type=submit]');
    await ready(page);
    await expect.poll(() => rows.count()).toBe(1);
  });

  it('opens a run and draws its progress plot on the canvas', async () => {
    await page.locator('#runs tbody tr').first().click();
    await page.waitForSelector('#run-plot canvas');
    await ready(page);
    expect(await page.textContent('[data-fact="operation"]')).toBe('export');
    // Pixels of each series' colour on the plot canvas (the page's own code, so no DOM types here).
    const colouredPixels = async () => (await page.evaluate(`(() => {
      const canvas = document.querySelector('#run-plot canvas');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const count = (r, g, b) => {
        let n = 0;
        for (let i = 0; i < pixels.length; i += 4) if (Math.abs(pixels[i] - r) < 8 && Math.abs(pixels[i + 1] - g) < 8 && Math.abs(pixels[i + 2] - b) < 8 && pixels[i + 3] > 200) n += 1;
        return n;
      };
      return { rate: count(0x15, 0x65, 0xc0), calls: count(0x6a, 0x1b, 0x9a) };
    })()`)) as { rate: number; calls: number };
    // uPlot draws on the next frame: poll until the series are on the canvas. Both lines are
    // counted together: on a short demo run they can coincide, the one drawn last covering the other.
    await expect.poll(async () => {
      const pixels = await colouredPixels();
      return pixels.rate + pixels.calls;
    }, { timeout: 10_000 }).toBeGreaterThan(40);
    expect(await page.textContent('#journal-counts')).toMatch(/committed 4.*rejected 1/);
    await expect.poll(() => page.locator('#journal-entries tbody tr').count()).toBe(5);
    expect(await page.textContent('#main'), 'no absent value rendered as text').not.toMatch(/undefined|null|NaN/);
    await page.screenshot({ path: join(SHOTS, 'run.png'), fullPage: true });
  });

  it('filters the rejects and downloads them as CSV equal to the store', async () => {
    const runId = decodeURIComponent(page.url().split('#/run/')[1] ?? '');
    const stored = await store.history.listRejects(runId);
    expect(stored.length).toBeGreaterThan(0);
    await page.fill('#reject-search', 'no-such-text-anywhere');
    await page.press('#reject-search', 'Enter');
    await expect.poll(() => page.textContent('#rejects-count')).toBe(`0 of ${stored.length} rejects match`);
    await page.fill('#reject-search', stored[0]!.localKey ?? stored[0]!.message);
    await page.press('#reject-search', 'Enter');
    await expect.poll(() => page.locator('#rejects-table tbody tr').count()).toBe(1);
    await page.fill('#reject-search', '');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const expected = [REJECTS_CSV_HEADER.join(','), ...stored.map((r) => [r.seq, r.code, r.symbol, r.message, r.fields.join(';'), r.localKey, r.crmId].map(csvCell).join(','))];
    expect(csv).toBe(`${expected.join('\r\n')}\r\n`);
  });

  it('shows per job a plot of its last runs and its watermark', async () => {
    await page.click('a[data-nav=jobs]');
    await ready(page);
    // Five runs, four jobs: the demo imports contacts twice.
    await expect.poll(() => page.locator('.job').count()).toBe(4);
    expect(await page.locator('.job canvas').count()).toBeGreaterThanOrEqual(4);
    expect(await page.textContent('[data-job="default/importContacts"]')).toMatch(/LASTIMPORT_default_importContacts = \d{4}\/\d{2}\/\d{2}/);
    await page.screenshot({ path: join(SHOTS, 'jobs.png'), fullPage: true });
  });

  it('says the distributed workers are not in use', async () => {
    await page.click('a[data-nav=workers]');
    await ready(page);
    expect(await page.textContent('#workers-absent')).toContain('Distributed workers not in use');
    await page.screenshot({ path: join(SHOTS, 'workers.png'), fullPage: true });
  });

  it('follows a running export live: progress, rejects, journal and the end appear without a reload', async () => {
    const jobId = 'default/live-out';
    const runId = 'live-export-1';
    const lease = await store.leases.acquireLease(jobId, { host: hostname(), pid: process.pid, runId }, { ttlMs: 120_000 });
    if (!lease.acquired) throw new Error('lease not acquired');
    const fence = { key: jobId, token: lease.lease.token };
    const t0 = Date.now();
    const sample = (i: number, done: number) => ({ at: new Date(t0 + i * 1000).toISOString(), elapsedMs: i * 1000, read: done, written: done, rejected: 0, apiCalls: i + 1, retries: i >= 2 ? 1 : 0, rateLimitWaitMs: 0 });
    await store.history.startRun({ runId, jobId, activity: 'live-out', operation: 'export', connector: 'mock', host: hostname(), pid: process.pid, startedAt: new Date(t0).toISOString() }, fence);
    const journal = await store.journal.startRun(jobId, fence);
    await store.journal.addPending(journal.runId, [0, 1, 2].map((seq) => ({ seq, localKey: `live-${seq}`, mode: 'upsert' as const, payload: { Email: `l${seq}@example.test` } })), fence);
    await store.history.recordProgress(runId, { samples: [sample(0, 0), sample(1, 1)] }, fence);

    await page.goto(`${ui.server.url}/#/run/${runId}`);
    await ready(page);
    expect(await page.textContent('[data-fact="status"]')).toBe('running');
    await page.evaluate('window.noReload = true');

    await store.journal.markSent(journal.runId, [0, 1, 2], 'b1', fence);
    await store.journal.recordOutcomes(journal.runId, [{ seq: 0, state: 'committed', crmId: '003L0', action: 'created' }, { seq: 1, state: 'committed', crmId: '003L1', action: 'created' }, { seq: 2, state: 'rejected', reject: { code: 'validation', message: 'Email: invalid', fields: ['Email'], retryable: false } }], fence);
    await store.history.recordProgress(runId, { samples: [sample(2, 2), sample(3, 3)], rejects: [{ code: 'validation', symbol: 'INVALID_EMAIL_ADDRESS', message: 'Email: invalid', fields: ['Email'], localKey: 'live-2' }] }, fence);
    await expect.poll(() => page.textContent('#rejects-count'), { timeout: 15_000 }).toBe('1 rejects');
    await expect.poll(() => page.textContent('#journal-counts'), { timeout: 15_000 }).toMatch(/committed 2.*rejected 1/);

    await store.journal.closeRun(journal.runId, 'finished', undefined, fence);
    await store.history.finishRun(runId, { status: 'succeeded', endedAt: new Date(t0 + 4000).toISOString(), journalRunId: journal.runId }, fence);
    await store.leases.releaseLease(fence);
    await expect.poll(() => page.textContent('[data-fact="status"]'), { timeout: 15_000 }).toBe('succeeded');
    expect(await page.evaluate('window.noReload')).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'run-live.png'), fullPage: true });
  });

  it('shows a clear page, never a stack trace, for a missing, a newer-schema and a damaged database', async () => {
    const newer = join(dir, 'newer.sqlite');
    copyFileSync(db, newer);
    // PRAGMA user_version lives at byte 60 of the SQLite header (big-endian).
    const fd = openSync(newer, 'r+');
    writeSync(fd, Buffer.from([0, 0, 0, 99]), 0, 4, 60);
    closeSync(fd);
    const damaged = join(dir, 'damaged.sqlite');
    copyFileSync(db, damaged);
    const bad = openSync(damaged, 'r+');
    writeSync(bad, Buffer.alloc(4096 * 3, 0x5a), 0, 4096 * 3, 4096);
    closeSync(bad);
    for (const [name, file, title] of [
      ['missing', join(dir, 'nothing-here.sqlite'), 'No runs recorded yet'],
      ['newer', newer, 'This database is from a newer crm-sync'],
      ['damaged', damaged, 'This database file is damaged'],
    ] as const) {
      const served = await serve(file, dir);
      try {
        await page.goto(served.server.openUrl);
        await ready(page);
        expect(await page.textContent('#problem h1'), name).toBe(title);
        const text = (await page.textContent('#problem')) ?? '';
        expect(text).not.toMatch(/\bat \S+ \(|node:internal|\.ts:\d+/);
        await page.screenshot({ path: join(SHOTS, `problem-${name}.png`), fullPage: true });
      } finally {
        await served.stop();
      }
    }
  });
}, 180_000);
