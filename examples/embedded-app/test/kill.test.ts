/**
 * SIGKILL during an export: the app (src/main.ts --once, a separate process running the built
 * example) is killed with kill -9 while its export is under way, twice (the moment the CRM has
 * committed a batch whose answer is still on its way, then once the restarted run got further), and started again. After the
 * round that finishes: 0 duplicates in the CRM (by sync key), 0 rows lost, every local row linked
 * to the CRM record carrying its key. The emulator lives in this process, so it outlives the app.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteApp } from '../src/app-db.js';
import { customers, openSqlite, startCrm, type Crm } from './harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const ROWS = 1000;

beforeAll(() => {
  // The child runs plain node on the built example and packages.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const built = spawnSync(process.execPath, [tsc, '-b', ROOT], { encoding: 'utf8' });
  expect(built.stdout + built.stderr).toBe('');
}, 120_000);

let crm: Crm | undefined;
afterEach(async () => {
  await crm?.close();
  crm = undefined;
});

/** Runs one round in a child process; `killWhen` is polled and kills it with SIGKILL once true. */
function runApp(file: string, crm: Crm, killWhen?: () => boolean): Promise<{ killed: boolean; code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { ...process.env, APP_DB: file, SF_INSTANCE_URL: crm.emulator.url, SF_ACCESS_TOKEN: crm.token, SF_CONCURRENCY: '1' }; // one batch at a time, so a kill leaves a part in the CRM
    const child = spawn(process.execPath, [MAIN, '--once'], { env });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const poll = setInterval(() => {
      if (killWhen?.() === true && child.exitCode === null && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, 2);
    child.on('exit', (code) => {
      clearInterval(poll);
      done({ killed, code, stdout, stderr });
    });
  });
}

describe('the example app killed with SIGKILL during an export', () => {
  it('recovers on restart: 0 duplicates in the CRM, 0 lost, every local row linked', async () => {
    // Each answer waits 60 ms after the CRM committed: a kill then loses the answer, not the write.
    crm = await startCrm({ latencyMs: 60 });
    const seeded = await openSqlite(crm.connector);
    const now = new Date().toISOString();
    const values = Array.from({ length: ROWS }, (_, i) => ({ first_name: `First ${i}`, last_name: `Customer ${i}`, email: `c${i}@example.test`, updated_at: now }));
    await seeded.db.insertInto('customers').values(values).execute();
    const file = seeded.file;
    // Keep the file: close only the connection (the harness's close would delete the directory).
    const { db: _db, ...rest } = seeded;
    void rest;
    const count = () => crm!.emulator.crm.records('Contact').length;


    const first = await runApp(file, crm, () => count() >= 1); // a batch committed, its answer not yet sent
    expect(first.killed, `the app finished before the kill: ${first.stdout}${first.stderr}`).toBe(true);
    const afterFirst = count();
    const second = await runApp(file, crm, () => count() > afterFirst); // the restarted run settled what was in flight and got further
    expect(second.killed, `the app finished before the kill: ${second.stdout}${second.stderr}`).toBe(true);
    console.info(`[embedded-app] kill test: ${afterFirst} of ${ROWS} records in the CRM after kill 1, ${count()} after kill 2`);
    expect(afterFirst).toBeGreaterThan(0);
    expect(count(), 'the second kill came after the export finished').toBeLessThan(ROWS);
    const last = await runApp(file, crm);
    expect([last.code, last.stdout.trim(), last.stderr]).toEqual([0, '[]', '']);

    const keys = crm.syncKeys();
    expect([...keys.values()].filter((n) => n > 1), 'duplicates in the CRM').toEqual([]);
    const { database, db } = openSqliteApp(file);
    try {
      const rows = await customers(db);
      expect(rows).toHaveLength(ROWS);
      expect(rows.filter((r) => !keys.has(String(r.id))).map((r) => r.id), 'rows lost').toEqual([]);
      expect(keys.size).toBe(ROWS);
      expect(rows.filter((r) => r.crm_id === null || r.synced_at === null).map((r) => r.id), 'rows not linked').toEqual([]);
      for (const row of rows) expect(crm.emulator.crm.get('Contact', row.crm_id!)?.values['Sync_Key__c']).toBe(String(row.id));
      expect(await db.selectFrom('sync_rejects').selectAll().execute()).toEqual([]);
    } finally {
      await db.destroy();
      database.close();
      await seeded.close();
    }
  });
});
