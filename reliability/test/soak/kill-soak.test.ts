/**
 * Kill -9 soak (issue 8, item 1; scenarios S1, S2). A child process exports 5,000 records to the
 * Salesforce emulator and to the Dataverse emulator (both live in this process, so the CRM
 * outlives the child, as a real org would) through the SQLite journal. The harness kills it with
 * SIGKILL, either at a random moment or the moment the emulator has committed a write (the
 * emulators add latency before answering, so the answer is still unsent), then restarts it, until
 * an export finishes; then starts over on a fresh CRM until the cycle budget is spent. Oracle after
 * every finished export: every local record exists exactly once in the CRM by sync key (or is a
 * reject), and the journal has nothing pending, sent or unknown. The same soak runs once more on
 * the Salesforce emulator with the PostgreSQL store (issue 13): the killed child's connection
 * drops mid-transaction, the server rolls that transaction back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCrm, SystemClock } from '@crm-sync/connector-mock';
import { salesforceEmulatorSchemas, startSalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { dataverseSchemas, startDataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import { dropPostgresSchema, openPostgresStore } from '@crm-sync/store-postgres';
import { openSqliteStore } from '@crm-sync/store-sqlite';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';
import { tempStoreFile } from '../support/sqlite-rig.js';

const pgUrl = await requireService(POSTGRES_SERVICE);

/** The stores a soak cycle works with: a SQLite file or a PostgreSQL schema. */
interface SoakDatabase {
  /** What the child gets: a file path or a postgres:// URL with ?schema=. */
  readonly location: string;
  seed(): Promise<void>;
  openJournal(): Promise<{ journal: import('@crm-sync/sdk').ExportJournal; close(): Promise<void> }>;
  drop(): Promise<void>;
}

function sqliteDatabase(): SoakDatabase {
  const db = tempStoreFile();
  return {
    location: db,
    async seed() {
      const seed = openSqliteStore(db)._unsafeUnwrap();
      for (let i = 0; i < RECORDS; i += 1) await seed.records.upsertLocal('people', `k${String(i).padStart(5, '0')}`, { last_name: `Soak ${i}`, email: `s${i}@example.test` });
      seed.close();
    },
    async openJournal() {
      const store = openSqliteStore(db)._unsafeUnwrap();
      return { journal: store.journal, close: async () => store.close() };
    },
    async drop() {},
  };
}

let pgCycles = 0;
function postgresDatabase(): SoakDatabase {
  const schema = `soak_${process.pid}_${pgCycles++}`;
  const url = new URL(pgUrl!);
  url.searchParams.set('schema', schema);
  return {
    location: url.toString(),
    async seed() {
      const store = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
      await store.records.upsertLocal('people', 'k00000', { last_name: 'Soak 0', email: 's0@example.test' });
      // The rest in one statement: the soak is about the export, not about seeding.
      await store.pool.query(
        `INSERT INTO "${schema}".people (key, data, local_changed_at)
         SELECT 'k' || lpad(i::text, 5, '0'), jsonb_build_object('last_name', 'Soak ' || i, 'email', 's' || i || '@example.test'), $1
         FROM generate_series(1, $2 - 1) AS i`,
        [new Date().toISOString(), RECORDS],
      );
      await store.close();
    },
    async openJournal() {
      const store = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
      return { journal: store.journal, close: () => store.close() };
    },
    async drop() {
      (await dropPostgresSchema(pgUrl!, schema))._unsafeUnwrap();
    },
  };
}

const SOAK = process.env['CRM_SYNC_SOAK'] === '1';
const KILLS_PER_CONNECTOR = SOAK ? 200 : 10;
const RECORDS = 5_000;
const CHILD = resolve(import.meta.dirname, 'export-child.mjs');
const ROOT = resolve(import.meta.dirname, '../../..');

interface Emulated {
  readonly crm: InMemoryCrm;
  readonly object: string;
  readonly syncKey: string;
  readonly settings: Record<string, unknown>;
  close(): Promise<void>;
}

async function salesforce(): Promise<Emulated> {
  const crm = new InMemoryCrm({ schemas: salesforceEmulatorSchemas(), clock: new SystemClock() });
  const emulator = await startSalesforceEmulator({ crm, latencyMs: 40 });
  const names = { object: 'Contact', syncKey: 'Sync_Key__c', lastName: 'LastName', email: 'Email' };
  return { crm, ...names, settings: { ...names, url: emulator.url, token: emulator.issueAccessToken() }, close: () => emulator.close() };
}

async function dynamics(): Promise<Emulated> {
  const crm = new InMemoryCrm({ schemas: dataverseSchemas(), clock: new SystemClock(), deletedRetentionDays: 30 });
  const emulator = await startDataverseEmulator({ crm, latencyMs: 40 });
  const { networkClient: _client, ...config } = emulator.connectorConfig({ batchSize: 100 });
  const names = { object: 'contact', syncKey: 'crm_synckey', lastName: 'lastname', email: 'emailaddress1' };
  return { crm, ...names, settings: { ...names, config }, close: () => emulator.close() };
}

/** Runs the child once; kills it per `strategy`. Resolves how it ended. */
function runChild(kind: string, db: string, emulated: Emulated, strategy: 'random' | 'after-commit' | 'none', random: () => number): Promise<{ killed: boolean; code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CHILD, kind, db], { env: { ...process.env, SOAK_SETTINGS: JSON.stringify(emulated.settings) }, cwd: resolve(import.meta.dirname) });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const kill = (): void => {
      if (child.exitCode === null && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    let timer: NodeJS.Timeout | undefined;
    if (strategy === 'random') timer = setTimeout(kill, 300 + Math.floor(random() * 2_500));
    if (strategy === 'after-commit') {
      // The moment the CRM count moves, a write has committed and its answer is still delayed.
      const start = emulated.crm.count(emulated.object);
      const settle = 1 + Math.floor(random() * 5);
      timer = setInterval(() => {
        if (emulated.crm.count(emulated.object) >= start + settle) kill();
      }, 2);
    }
    child.on('exit', (code) => {
      if (timer) clearInterval(timer);
      done({ killed, code, stdout, stderr });
    });
  });
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

let totals = { kills: 0, exports: 0 };
afterAll(() => console.info(`[reliability] kill -9 soak: ${totals.kills} kills, ${totals.exports} exports of ${RECORDS} records finished, no loss, no duplicate, no journal entry left open`));

beforeAll(() => {
  // The child runs plain node against the built packages.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const packages = ['sdk', 'store-sqlite', 'store-postgres', 'connector-mock', 'connector-salesforce', 'connector-dynamics'].map((name) => resolve(ROOT, 'packages', name));
  const built = spawnSync(process.execPath, [tsc, '-b', ...packages], { encoding: 'utf8' });
  expect(built.stdout + built.stderr).toBe('');
}, 300_000);

for (const [kind, start, storeKind] of [
  ['salesforce', salesforce, 'sqlite'],
  ['dynamics', dynamics, 'sqlite'],
  ['salesforce', salesforce, 'postgres'],
] as const) {
  describe.skipIf(storeKind === 'postgres' && pgUrl === undefined)(`kill -9 soak on ${kind} (emulator)${storeKind === 'postgres' ? ' with the PostgreSQL store' : ''}`, () => {
    it(`survives ${KILLS_PER_CONNECTOR} kills: every record exactly once in the CRM, nothing left pending or unknown`, async () => {
      const random = seeded(storeKind === 'postgres' ? 13 : kind === 'salesforce' ? 8 : 9);
      let kills = 0;
      while (kills < KILLS_PER_CONNECTOR) {
        const emulated = await start();
        const database = storeKind === 'postgres' ? postgresDatabase() : sqliteDatabase();
        const db = database.location;
        await database.seed();
        let finished: { runId?: string; rejected: number } | undefined;
        for (let attempt = 0; finished === undefined; attempt += 1) {
          expect(attempt, 'the export never finished').toBeLessThan(KILLS_PER_CONNECTOR + 50);
          const strategy = kills >= KILLS_PER_CONNECTOR ? 'none' : kills % 2 === 0 ? 'random' : 'after-commit';
          const outcome = await runChild(kind, db, emulated, strategy, random);
          if (outcome.killed) {
            kills += 1;
            continue;
          }
          expect(outcome.stderr, `the export failed: ${outcome.stderr}`).toBe('');
          expect(outcome.code).toBe(0);
          finished = JSON.parse(outcome.stdout.trim().split('\n').at(-1) ?? '{}') as { runId?: string; rejected: number };
        }
        const keys = emulated.crm.records(emulated.object).map((record) => String(record.values[emulated.syncKey]));
        expect(new Set(keys).size, 'a sync key exists twice in the CRM').toBe(keys.length);
        expect(keys.length + finished.rejected, 'records lost').toBe(RECORDS);
        const store = await database.openJournal();
        expect(await store.journal.findOpenRun('default/soakExport')).toBeUndefined();
        if (finished.runId) expect(await store.journal.countByState(finished.runId)).toMatchObject({ pending: 0, sent: 0, unknown: 0 });
        await store.close();
        await database.drop();
        await emulated.close();
        totals = { kills: totals.kills + 0, exports: totals.exports + 1 };
      }
      totals = { ...totals, kills: totals.kills + kills };
    }, SOAK ? 3_600_000 : 240_000);
  });
}
