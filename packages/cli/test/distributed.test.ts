/**
 * The distributed-run commands: `crm-sync worker` refuses what cannot work (no database, a SQLite
 * file) and says why; an unreachable Redis is a clear exit 1 without the password; with Redis and
 * PostgreSQL, a job file queued with `enqueue --wait` runs on a `crm-sync worker` (in this process)
 * and prints the summary with `crm-sync run`'s exit code, schedules are added, listed and removed,
 * and `workers status --json` shows the queue; an account's `maxConcurrentJobs` caps its jobs
 * across all workers together, and a bad value is refused with where it is and what is expected.
 * Every Redis key of the test's prefixes is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema, openPostgresStore } from '@crm-sync/store-postgres';
import { POSTGRES_SERVICE, REDIS_SERVICE, requireService } from '@crm-sync/testkit';
import { cli, dropRedisPrefixes, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const pgUrl = await requireService(POSTGRES_SERVICE);
const redisUrl = await requireService(REDIS_SERVICE);
const tag = randomBytes(4).toString('hex');
const schema = `t_cli_dist_${tag}`;
const prefix = `t-cli-dist-${tag}`;
const capSchema = `t_cli_cap_${tag}`;
const capPrefix = `t-cli-cap-${tag}`;

afterAll(async () => {
  if (pgUrl !== undefined) {
    await dropPostgresSchema(pgUrl, schema);
    await dropPostgresSchema(pgUrl, capSchema);
  }
  if (redisUrl !== undefined) await dropRedisPrefixes(redisUrl, [prefix, capPrefix]);
});

describe('crm-sync worker refuses what cannot work', () => {
  it('needs a PostgreSQL --db, and says why a SQLite file will not do', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS });
    const none = await cli(dir, ['worker']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs --db postgres:\/\/.*share one PostgreSQL store/);
    const sqlite = await cli(dir, ['worker', '--db', 'crm.sqlite']);
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toMatch(/is a SQLite file, but distributed runs need PostgreSQL/);
  });

  it('refuses an account whose maxConcurrentJobs is not a whole number >= 1, naming the key', async () => {
    for (const bad of ['0', '2.5', 'many']) {
      const dir = tempDir();
      writeFiles(dir, { 'crm-sync.accounts.yaml': `${MOCK_ACCOUNTS}    maxConcurrentJobs: ${bad}\n` });
      const run = await cli(dir, ['worker', '--db', 'postgres://nobody@127.0.0.1:1/none']);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain('accounts.demo.maxConcurrentJobs');
      expect(run.stderr).toMatch(/expected a (whole )?number|at least 1/);
    }
  });

  it('refuses a --capacity below 1', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS });
    const run = await cli(dir, ['worker', '--db', 'postgres://nobody@127.0.0.1:1/none', '--capacity', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--capacity');
  });

  it('reports an unreachable Redis without its password', async () => {
    const run = await cli(tempDir(), ['workers', 'status', '--redis', 'redis://:pa55-word@127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/? is unreachable/);
    expect(run.stdout + run.stderr).not.toContain('pa55-word');
  });
});

describe.skipIf(pgUrl === undefined || redisUrl === undefined)('crm-sync enqueue, schedule, workers status', () => {
  it('runs a queued job file on a worker and prints its summary with the exit code of crm-sync run', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'crm-sync.accounts.yaml': MOCK_ACCOUNTS,
      'import.yaml': `${IMPORT_HEAD}operation: import\nfields:\n  - { remote: lastName, local: last_name }\n`,
      'broken.yaml': `${IMPORT_HEAD}operation: import\nfields: nope\n`,
    });
    const env = { CRM_SYNC_REDIS_URL: redisUrl! };
    const db = `${pgUrl!}${pgUrl!.includes('?') ? '&' : '?'}schema=${schema}`;

    const broken = await cli(dir, ['enqueue', 'broken.yaml', '--prefix', prefix], env);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.yaml');

    const worker = cli(dir, ['worker', '--db', db, '--prefix', prefix, '--grace', '5s'], env);
    const waited = await cli(dir, ['enqueue', 'import.yaml', '--wait', '--json', '--prefix', prefix], env);
    expect(waited.code, waited.stderr).toBe(0);
    const answer = JSON.parse(waited.stdout) as { ok: boolean; exitCode: number; summary: { written: number; operation: string } };
    expect(answer).toMatchObject({ ok: true, exitCode: 0, summary: { operation: 'import', written: 300 } });

    const added = await cli(dir, ['schedule', 'add', 'import.yaml', '--every', '1h', '--prefix', prefix], env);
    expect(added.code, added.stderr).toBe(0);
    const listed = await cli(dir, ['schedule', 'list', '--json', '--prefix', prefix], env);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ id: 'default/importContacts', job: 'default/importContacts', every: 3_600_000 }]);
    const status = await cli(dir, ['workers', 'status', '--json', '--prefix', prefix], env);
    const parsed = JSON.parse(status.stdout) as { queues: { account: string; completed: number }[]; workers: { pid: number }[] };
    expect(parsed.queues).toMatchObject([{ account: 'demo', completed: 1 }]);
    expect(parsed.workers.map((entry) => entry.pid)).toContain(process.pid);
    expect((await cli(dir, ['schedule', 'remove', 'default/importContacts', '--prefix', prefix], env)).code).toBe(0);
    expect((await cli(dir, ['schedule', 'remove', 'default/importContacts', '--prefix', prefix], env)).code).toBe(2);

    process.emit('SIGTERM');
    const stopped = await worker;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toContain('serving demo');
  }, 90_000);
});

describe.skipIf(pgUrl === undefined || redisUrl === undefined)('an account\'s maxConcurrentJobs from the accounts file', () => {
  it('caps the account\'s jobs across all workers together: two workers of concurrency 4 run its jobs one at a time', async () => {
    const dir = tempDir();
    const jobs = ['a', 'b', 'c', 'd'];
    writeFiles(dir, {
      // Each write call of the mock waits 150 ms, so runs that were allowed to overlap would.
      'crm-sync.accounts.yaml': 'accounts:\n  demo:\n    connector: mock\n    mock: { seed: demo, contacts: 50, latencyMs: 150 }\n    maxConcurrentJobs: 1\n',
      ...Object.fromEntries(jobs.map((name) => [`export-${name}.yaml`, `activity: export_${name}\nconnector: mock\naccount: demo\noperation: export\nobject: contact\nlocal: { table: rows_${name} }\nbatchSize: 2\nexport: { syncKey: externalKey }\nfields:\n  - { local: last_name, remote: lastName }\n`])),
    });
    const store = (await openPostgresStore(pgUrl!, { schema: capSchema }))._unsafeUnwrap();
    for (const name of jobs) for (let row = 0; row < 4; row += 1) await store.records.upsertLocal(`rows_${name}`, `${name}-${row}`, { last_name: `Row ${name} ${row}` });
    const env = { CRM_SYNC_REDIS_URL: redisUrl! };
    const db = `${pgUrl!}${pgUrl!.includes('?') ? '&' : '?'}schema=${capSchema}`;

    const workers = [0, 1].map(() => cli(dir, ['worker', '--db', db, '--prefix', capPrefix, '--concurrency', '4', '--grace', '5s'], env));
    const waited = await Promise.all(jobs.map((name) => cli(dir, ['enqueue', `export-${name}.yaml`, '--wait', '--json', '--prefix', capPrefix], env)));
    for (const run of waited) expect(run.code, run.stderr).toBe(0);
    process.emit('SIGTERM');
    for (const stopped of await Promise.all(workers)) expect(stopped.code, stopped.stderr).toBe(0);

    const runs = (await store.history.listRuns({ limit: 100 })).filter((run) => run.status === 'succeeded');
    expect(runs).toHaveLength(jobs.length);
    const spans = runs.map((run) => [Date.parse(run.startedAt), Date.parse(run.endedAt!)] as const).sort((x, y) => x[0] - y[0]);
    for (let index = 1; index < spans.length; index += 1) {
      expect(spans[index]![0], 'a run of the account started while another was running').toBeGreaterThanOrEqual(spans[index - 1]![1]);
    }
    await store.close();
  }, 90_000);
});
