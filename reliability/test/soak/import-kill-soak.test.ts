/**
 * Kill -9 soak of an import into PostgreSQL (issue 13). A child process imports 20,000 records
 * of a deterministic mock CRM (seven records per change time, pages of 500) into a PostgreSQL
 * local table, incrementally; the orchestrator converts each page while the page before it is
 * still being written. The harness kills it with SIGKILL at a random moment or the moment a page
 * (its watermark) committed, then restarts it until an import finishes. Oracle after every kill:
 * every CRM record at or before the stored watermark (change time, then id) is in the table,
 * the table holds only CRM records, once each. After the import finishes: all 20,000, once each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { dropPostgresSchema, openPostgresStore } from '@crm-sync/store-postgres';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';

const pgUrl = await requireService(POSTGRES_SERVICE);
const SOAK = process.env['CRM_SYNC_SOAK'] === '1';
const KILLS = SOAK ? 200 : 10;
const RECORDS = 20_000;
const OPTION = 'LASTIMPORT_default_soakImport';
const CHILD = resolve(import.meta.dirname, 'import-child.mjs');
const ROOT = resolve(import.meta.dirname, '../../..');

/** The CRM the child builds, built the same way here: (change time, id) of every record. */
function crmKeys(): { at: string; id: string }[] {
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  for (let i = 0; i < RECORDS; i++) {
    crm.insert('contact', { lastName: `L${i}`, email: `c${i}@example.test` });
    if (i % 7 === 6) clock.advance(1);
  }
  return crm.records('contact').map((record) => ({ at: record.changedAt, id: record.id }));
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

let totals = { kills: 0, imports: 0 };
afterAll(() => console.info(`[reliability] import kill -9 soak on PostgreSQL: ${totals.kills} kills, ${totals.imports} imports of ${RECORDS} records finished, nothing lost, nothing twice, the watermark never ahead of the rows`));

beforeAll(() => {
  // The child runs plain node against the built packages.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const packages = ['sdk', 'store-postgres', 'connector-mock'].map((name) => resolve(ROOT, 'packages', name));
  const built = spawnSync(process.execPath, [tsc, '-b', ...packages], { encoding: 'utf8' });
  expect(built.stdout + built.stderr).toBe('');
}, 300_000);

describe.skipIf(pgUrl === undefined)('kill -9 soak of an import into PostgreSQL', () => {
  it(`survives ${KILLS} kills: the watermark never passes a record not in the table, every record once at the end`, async () => {
    const keys = crmKeys();
    const ids = new Set(keys.map((key) => key.id));
    const random = seeded(21);
    let kills = 0;
    for (let cycle = 0; kills < KILLS; cycle++) {
      const schema = `soak_import_${process.pid}_${cycle}`;
      const store = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
      try {
        /** Checks the table against the stored watermark; returns the number of rows. */
        const check = async (): Promise<number> => {
          const option = await store.options.getOption(OPTION);
          const rows = (await store.pool.query<{ crm_id: string }>(`SELECT crm_id FROM "${schema}".contacts`).catch(() => ({ rows: [] }))).rows;
          const present = new Set(rows.map((row) => row.crm_id));
          expect(present.size, 'a CRM id twice in the table').toBe(rows.length);
          for (const row of rows) expect(ids.has(row.crm_id), `row ${row.crm_id} is no CRM record`).toBe(true);
          const at = option?.meta?.['at'];
          if (typeof at === 'string') {
            const id = option?.meta?.['id'];
            const covered = keys.filter((key) => key.at < at || (key.at === at && typeof id === 'string' && key.id <= id));
            const missing = covered.filter((key) => !present.has(key.id));
            expect(missing.length, `${missing.length} records at or before the watermark (${at}, ${String(id)}) are not in the table, e.g. ${missing[0]?.id}`).toBe(0);
          }
          return rows.length;
        };
        let finished = false;
        for (let attempt = 0; !finished; attempt++) {
          expect(attempt, 'the import never finished').toBeLessThan(KILLS + 50);
          const strategy = kills >= KILLS ? 'none' : kills % 2 === 0 ? 'random' : 'after-commit';
          const outcome = await new Promise<{ killed: boolean; code: number | null; stdout: string; stderr: string }>((done) => {
            const child = spawn(process.execPath, [CHILD, pgUrl!, schema, String(RECORDS)], { cwd: resolve(import.meta.dirname) });
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
            let polling = true;
            if (strategy === 'random') timer = setTimeout(kill, 300 + Math.floor(random() * 2_000));
            if (strategy === 'after-commit') {
              // The moment the watermark moves, a page committed and the next one is converting.
              const settle = 1 + Math.floor(random() * 3);
              void (async () => {
                const start = (await store.options.getOption(OPTION))?.meta?.['id'];
                let moves = 0;
                let last = start;
                while (polling) {
                  const now = (await store.options.getOption(OPTION).catch(() => undefined))?.meta?.['id'];
                  if (now !== last) {
                    last = now;
                    moves += 1;
                    if (moves >= settle) kill();
                  }
                  await new Promise((resolve) => setTimeout(resolve, 2));
                }
              })();
            }
            child.on('exit', (code) => {
              polling = false;
              if (timer) clearTimeout(timer);
              done({ killed, code, stdout, stderr });
            });
          });
          if (outcome.killed) {
            kills += 1;
            await check();
            continue;
          }
          expect(outcome.stderr, `the import failed: ${outcome.stderr}`).toBe('');
          expect(outcome.code).toBe(0);
          finished = true;
        }
        expect(await check()).toBe(RECORDS);
        totals = { ...totals, imports: totals.imports + 1 };
      } finally {
        await store.close();
        (await dropPostgresSchema(pgUrl!, schema))._unsafeUnwrap();
      }
    }
    totals = { ...totals, kills: totals.kills + kills };
  }, SOAK ? 3_600_000 : 240_000);
});
