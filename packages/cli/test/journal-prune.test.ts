// `crm-sync journal prune [--older-than 30d] [--dry-run]`: deletes old closed export runs, never an
// open run nor a closed run with records in doubt.
import { join } from 'node:path';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { cli, tempDir } from './helpers.js';

const DAY = 86_400_000;

async function seedJournal(path: string): Promise<{ old: string; doubt: string; open: string; recent: string }> {
  const longAgo = openSqliteStore(path, { now: () => new Date(Date.now() - 40 * DAY), journalRetentionDays: 'forever' })._unsafeUnwrap();
  const old = await longAgo.journal.startRun('default/old');
  await longAgo.journal.addPending(old.runId, [{ seq: 0, localKey: 'k0', mode: 'insert', payload: { Email: 'a@example.com' } }]);
  await longAgo.journal.recordOutcomes(old.runId, [{ seq: 0, state: 'committed', crmId: 'c0', action: 'created' }]);
  await longAgo.journal.closeRun(old.runId, 'finished');
  const doubt = await longAgo.journal.startRun('default/doubt');
  await longAgo.journal.addPending(doubt.runId, [{ seq: 0, localKey: 'k0', mode: 'insert', payload: {} }]);
  await longAgo.journal.markSent(doubt.runId, [0], 'b1');
  await longAgo.journal.closeRun(doubt.runId, 'failed');
  const open = await longAgo.journal.startRun('default/open');
  longAgo.close();
  const today = openSqliteStore(path, { journalRetentionDays: 'forever' })._unsafeUnwrap();
  const recent = await today.journal.startRun('default/recent');
  await today.journal.closeRun(recent.runId, 'finished');
  today.close();
  return { old: old.runId, doubt: doubt.runId, open: open.runId, recent: recent.runId };
}

describe('crm-sync journal prune', () => {
  it('--dry-run names what would go; prune deletes old closed runs only, keeping open and in-doubt runs', async () => {
    const dir = tempDir();
    const db = join(dir, 'crm.sqlite');
    const runs = await seedJournal(db);

    const dry = await cli(dir, ['journal', 'prune', '--dry-run', '--json', '--db', db]);
    expect(dry.code).toBe(ExitCode.ok);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, runIds: [runs.old], entries: 1, keptInDoubt: [runs.doubt] });

    const text = await cli(dir, ['journal', 'prune', '--db', db]);
    expect(text.code).toBe(ExitCode.ok);
    expect(text.stdout).toMatch(/^Pruned 1 export run \(1 entries\) that finished before /);
    expect(text.stdout).toContain(`Kept 1 closed run with records in doubt (the CRM may hold them): ${runs.doubt}`);

    const left = openSqliteStore(db)._unsafeUnwrap();
    expect((await left.journal.listRuns()).map((run) => run.runId).sort()).toEqual([runs.doubt, runs.open, runs.recent].sort());
    left.close();
  });

  it('refuses a bad --older-than with exit 2 and deletes nothing', async () => {
    const dir = tempDir();
    const db = join(dir, 'crm.sqlite');
    await seedJournal(db);
    const bad = await cli(dir, ['journal', 'prune', '--older-than', 'a month', '--db', db]);
    expect(bad.code).toBe(ExitCode.invalidInput);
    expect(bad.stderr).toMatch(/--older-than "a month": expected a duration/);
    const left = openSqliteStore(db)._unsafeUnwrap();
    expect((await left.journal.listRuns()).length).toBe(4);
    left.close();
  });
});
