// Opening a PostgreSQL store: migrations, the schema option, and every way opening can fail,
// each with its code and a message that never contains the password.
import { describe, expect, it } from 'vitest';
import { redactText } from '@crm-sync/sdk';
import { openPostgresStore, PostgresStoreError, redactConnectionString, SCHEMA_VERSION } from '../src/index.js';
import { adminQuery, freshSchema, openTestStore, pgUrl } from './helpers.js';

const PASSWORD = 'S3cr3t-pw-never-shown';

function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

describe('redactConnectionString', () => {
  it('masks the password of a URL and password= parameters', () => {
    expect(redactConnectionString(`postgres://crm:${PASSWORD}@db:5432/app`)).toBe('postgres://crm:***@db:5432/app');
    expect(redactConnectionString(`postgres://db/app?password=${PASSWORD}&sslmode=require`)).not.toContain(PASSWORD);
    expect(redactConnectionString('postgres://crm@db/app')).toBe('postgres://crm@db/app');
  });
});

describe.skipIf(pgUrl === undefined)('openPostgresStore', () => {
  it('creates the schema with its migration table at the current version, and opening again changes nothing', async () => {
    const schema = freshSchema();
    const first = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
    await first.options.setOption('A', '1');
    await first.close();
    const second = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
    expect((await second.options.getOption('A'))?.value).toBe('1');
    await second.close();
    const versions = await adminQuery<{ version: number }>(`SELECT version FROM "${schema}".crm_sync_migrations ORDER BY version`);
    expect(versions.map((row) => row.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('refuses a schema migrated by a newer release, changing nothing', async () => {
    const schema = freshSchema();
    (await (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap()).close();
    await adminQuery(`INSERT INTO "${schema}".crm_sync_migrations (version, description) VALUES ($1, 'from the future')`, [SCHEMA_VERSION + 1]);
    const opened = await openPostgresStore(pgUrl!, { schema });
    expect(opened.isErr()).toBe(true);
    const error = opened._unsafeUnwrapErr();
    expect(error.code).toBe('schema-too-new');
    expect(error.message).toMatch(/newer than this release understands.*upgrade @crm-sync\/store-postgres/);
  });

  it('keeps two installations apart in one database with the schema option', async () => {
    const a = await openTestStore();
    const b = await openTestStore();
    await a.options.setOption('LASTIMPORT_x', 'a');
    await a.records.write('contacts', [{ crmId: '1', values: { n: 1 } }]);
    expect(await b.options.getOption('LASTIMPORT_x')).toBeUndefined();
    expect(await b.records.countLocal('contacts')).toBe(0);
    expect(a.schema).not.toBe(b.schema);
    await a.close();
    await b.close();
  });

  it('migrates concurrently opened stores once', async () => {
    const schema = freshSchema();
    const opened = await Promise.all([1, 2, 3].map(() => openPostgresStore(pgUrl!, { schema })));
    for (const result of opened) expect(result.isOk()).toBe(true);
    await Promise.all(opened.map((result) => result._unsafeUnwrap().close()));
  });

  it('rejects a bad schema name and a non-PostgreSQL location with invalid-argument', async () => {
    expect((await openPostgresStore(pgUrl!, { schema: 'x; DROP TABLE y' }))._unsafeUnwrapErr().code).toBe('invalid-argument');
    expect((await openPostgresStore(pgUrl!, { schema: 'pg_catalog' }))._unsafeUnwrapErr().code).toBe('invalid-argument');
    const notPg = (await openPostgresStore(`mysql://u:${PASSWORD}@h/db`))._unsafeUnwrapErr();
    expect(notPg.code).toBe('invalid-argument');
    expect(notPg.message).not.toContain(PASSWORD);
  });

  it('maps a refused connection to connection-failed without the password', async () => {
    const url = withCredentials('postgres://127.0.0.1:1/test', 'crm', PASSWORD);
    const error = (await openPostgresStore(url, { connectTimeoutMs: 2_000 }))._unsafeUnwrapErr();
    expect(error).toBeInstanceOf(PostgresStoreError);
    expect(error.code).toBe('connection-failed');
    expect(error.message).toMatch(/cannot be reached \(ECONNREFUSED\)/);
    expect(error.message).toContain('postgres://crm:***@127.0.0.1:1/test');
    expect(JSON.stringify({ message: error.message, stack: error.stack, cause: String(error.cause) })).not.toContain(PASSWORD);
  });

  it('maps a refused login to auth-failed without the password', async () => {
    const url = withCredentials(pgUrl!, 'no_such_role_crm_sync', PASSWORD);
    const error = (await openPostgresStore(url))._unsafeUnwrapErr();
    expect(error.code).toBe('auth-failed');
    expect(error.message).toMatch(/refused the login.*password is not shown/);
    expect(JSON.stringify({ message: error.message, stack: error.stack, cause: String(error.cause) })).not.toContain(PASSWORD);
  });

  it('maps a missing privilege to permission-denied, naming the guide', async () => {
    await adminQuery(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_sync_no_create') THEN CREATE ROLE crm_sync_no_create LOGIN; END IF; END $$`);
    await adminQuery(`REVOKE CREATE ON DATABASE "${new URL(pgUrl!).pathname.slice(1)}" FROM crm_sync_no_create`);
    const url = withCredentials(pgUrl!, 'crm_sync_no_create', PASSWORD);
    const error = (await openPostgresStore(url, { schema: freshSchema() }))._unsafeUnwrapErr();
    expect(error.code).toBe('permission-denied');
    expect(error.message).toMatch(/docs\/guides\/stores\.md/);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('works with the least-privilege role of the guide: it owns its schema and has no CREATE on the database', async () => {
    const schema = freshSchema();
    await adminQuery(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_sync_least') THEN CREATE ROLE crm_sync_least LOGIN; END IF; END $$`);
    await adminQuery(`REVOKE CREATE ON DATABASE "${new URL(pgUrl!).pathname.slice(1)}" FROM crm_sync_least`);
    await adminQuery(`CREATE SCHEMA "${schema}" AUTHORIZATION crm_sync_least`);
    const store = (await openPostgresStore(withCredentials(pgUrl!, 'crm_sync_least', PASSWORD), { schema }))._unsafeUnwrap();
    await store.records.write('contacts', [{ crmId: '1', values: { email: 'a@example.com' } }], { optionName: 'W', value: 'v' });
    const run = await store.journal.startRun('job');
    await store.journal.addPending(run.runId, [{ seq: 0, localKey: '1', mode: 'upsert', payload: {} }]);
    const lease = await store.leases.acquireLease('job', { host: 'h', pid: 1, runId: 'r' }, { ttlMs: 1000 });
    expect(lease.acquired).toBe(true);
    expect(await store.records.countLocal('contacts')).toBe(1);
    await store.close();
  });

  it("registers the password with the SDK's redaction, so a log line that carried it would be masked", async () => {
    const password = 'Pw-registered-on-open-9';
    const store = (await openPostgresStore(withCredentials(pgUrl!, 'postgres', password), { schema: freshSchema() }))._unsafeUnwrap();
    await store.close();
    expect(redactText(`connecting with ${password}`)).not.toContain(password);
  });

  it('rejects calls after close with code closed', async () => {
    const store = await openTestStore();
    await store.close();
    await store.close();
    await expect(store.options.getOption('x')).rejects.toMatchObject({ code: 'closed' });
  });
});
