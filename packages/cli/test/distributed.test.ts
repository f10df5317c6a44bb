/**
 * The distributed-run commands: `crm-sync worker` refuses what cannot work (no database, a SQLite
 * file) and says why; an unreachable Redis is a clear exit 1 without the password; with Redis and
 * PostgreSQL, a job file queued with `enqueue --wait` runs on a `crm-sync worker` (in this process)
 * and prints the summary with `crm-sync run`'s exit code, schedules are added, listed and removed,
 * and `workers status --json` shows the queue.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '@crm-sync/store-postgres';
import { POSTGRES_SERVICE, REDIS_SERVICE, requireService } from '@crm-sync/testkit';
import { cli, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const pgUrl = await requireService(POSTGRES_SERVICE);
const redisUrl = await requireService(REDIS_SERVICE);
const tag = randomBytes(4).toString('hex');
const schema = `t_cli_dist_${tag}`;
const prefix = `t-cli-dist-${tag}`;

afterAll(async () => {
  if (pgUrl !== undefined) await dropPostgresSchema(pgUrl, schema);
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
