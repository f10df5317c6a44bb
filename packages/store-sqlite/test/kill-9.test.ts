import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEntry } from '@crm-sync/sdk';
import type { SqliteSynchronous } from '../src/index.js';
import { makeTempDir, openOrThrow } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const writerScript = fileURLToPath(new URL('./fixtures/journal-writer.mjs', import.meta.url));
const BATCH_SIZE = 200;
/** Delays after the child's first committed batch; varied so the kill lands at different points. */
const KILL_DELAYS_MS = [0, 1, 3, 7, 15, 30];

/** Starts the writer, waits for its first committed batch, waits `delayMs`, then SIGKILLs it. */
function runAndKill(path: string, synchronous: SqliteSynchronous, delayMs: number): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, path, String(BATCH_SIZE), synchronous], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(signal);
      else reject(new Error(`writer exited with code ${code} before it was killed: ${stderr}`));
    });
  });
}

/** Every entry must be fully written or absent, and each batch in one state (each call is one transaction). */
function expectConsistentJournal(entries: readonly JournalEntry[]): void {
  expect(entries.length % BATCH_SIZE).toBe(0);
  entries.forEach((entry, index) => {
    const seq = entry.seq;
    expect(seq).toBe(index);
    expect(entry).toMatchObject({ localKey: `k${seq}`, syncKey: `sync-${seq}`, mode: 'insert' });
    // A committed entry forgets its values in the same transaction that commits it; any other keeps them whole.
    const values = { LastName: `Name ${seq}`, Email: `person${seq}@example.com`, Score: seq, Active: seq % 2 === 0, Note: null };
    expect(entry.payload).toEqual(entry.state === 'committed' ? {} : values);
    const batchStart = seq - (seq % BATCH_SIZE);
    expect(entry.state).toBe(entries[batchStart]?.state);
    if (entry.state === 'pending') expect(entry).toMatchObject({ attempts: 0 });
    if (entry.state === 'sent') expect(entry).toMatchObject({ attempts: 1, batchId: `b${batchStart}` });
    if (entry.state === 'committed') expect(entry).toMatchObject({ crmId: `003${seq}`, action: 'created' });
  });
  // Batches run one after another, so only the last one may be unfinished.
  const unfinished = entries.filter((entry) => entry.state !== 'committed');
  expect(unfinished.every((entry) => entry.seq >= entries.length - BATCH_SIZE)).toBe(true);
}

describe('export journal under kill -9', () => {
  const temp = makeTempDir();
  beforeAll(() => {
    // The child runs on plain Node 20, which cannot import .ts: it imports the built package.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-b', packageDir], { stdio: 'pipe' });
  }, 180_000);
  afterAll(() => temp.remove());

  it.each<SqliteSynchronous>(['NORMAL', 'FULL'])(
    'with synchronous=%s, every entry is fully written or absent after each of several kills, and the run resumes',
    async (synchronous) => {
      const path = join(temp.dir, `journal-${synchronous}.sqlite`);
      let committedBefore = 0;
      for (const delayMs of KILL_DELAYS_MS) {
        expect(await runAndKill(path, synchronous, delayMs)).toBe('SIGKILL');

        const db = new Database(path);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();

        const store = openOrThrow(path);
        try {
          const run = await store.journal.findOpenRun('kill9');
          expect(run).toBeDefined();
          const entries = await store.journal.listEntries(run!.runId);
          expectConsistentJournal(entries);
          const committed = entries.filter((entry) => entry.state === 'committed').length;
          // Each life commits at least one batch before it is killed: nothing is lost, progress is made.
          expect(committed).toBeGreaterThan(committedBefore);
          committedBefore = committed;
        } finally {
          store.close();
        }
      }
    },
    120_000,
  );
});
