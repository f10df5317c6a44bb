#!/usr/bin/env node
// Refreshes docs/images/dashboard.png, the dashboard screenshot in the README: runs the demo
// (mock CRM) into a temporary SQLite file, serves it with `crm-sync ui`, and photographs the first
// import's run page with Debian's Chromium (/usr/bin/chromium) through playwright-core.
//
//   pnpm ui:screenshot        (builds first)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliBin = join(root, 'packages/cli/dist/bin/crm-sync.js');
const chromiumPath = '/usr/bin/chromium';
const out = join(root, 'docs/images/dashboard.png');

if (!existsSync(chromiumPath)) {
  console.error(`${chromiumPath} is missing: install the Debian package chromium (apt-get install -y chromium), then run again.`);
  process.exit(1);
}
const { chromium } = createRequire(join(root, 'packages/ui/package.json'))('playwright-core');

const dir = mkdtempSync(join(tmpdir(), 'crm-sync-ui-shot-'));
const db = join(dir, 'demo.sqlite');
let server;
let browser;
try {
  execFileSync(process.execPath, [cliBin, 'demo', '--crm', 'mock', '--db', db], { cwd: dir, stdio: 'ignore', env: { ...process.env, CI: '1' } });
  server = spawn(process.execPath, [cliBin, 'ui', '--db', db, '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const openUrl = await new Promise((resolve, reject) => {
    let text = '';
    server.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /^Open: (\S+)$/m.exec(text);
      if (match) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`crm-sync ui ended with ${code} before listening`)));
  });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(openUrl);
  await page.waitForSelector('#main[data-ready]');
  await page.goto(openUrl.replace(/#.*$/, '#/runs?operation=import'));
  await page.waitForSelector('#runs tbody tr');
  await page.locator('#runs tbody tr').last().click();
  await page.waitForSelector('#run-plot canvas');
  await page.waitForSelector('#main[data-ready]');
  await page.waitForTimeout(300);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser?.close();
  server?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
