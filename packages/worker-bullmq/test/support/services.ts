/**
 * The services of this package's tests: PostgreSQL and Redis (probed once per file; skipped with
 * one line when unreachable, failing with CRM_SYNC_REQUIRE_SERVICES=1), a fresh PostgreSQL schema
 * and a fresh queue prefix per test file, both removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { POSTGRES_SERVICE, REDIS_SERVICE, requireService } from '@crm-sync/testkit';
import { dropPostgresSchema, openPostgresStore, type PostgresStore } from '@crm-sync/store-postgres';

export const pgUrl: string | undefined = await requireService(POSTGRES_SERVICE);
export const redisUrl: string | undefined = await requireService(REDIS_SERVICE);
/** True when both services answer. */
export const servicesUp = pgUrl !== undefined && redisUrl !== undefined;

const tag = randomBytes(4).toString('hex');
const schemas: string[] = [];
const prefixes: string[] = [];

/** A queue prefix of its own, its keys deleted after the file. */
export function freshPrefix(): string {
  const prefix = `t-wb-${tag}-${prefixes.length}`;
  prefixes.push(prefix);
  return prefix;
}

/** A schema of its own and its store, dropped after the file. */
export async function freshStore(): Promise<{ store: PostgresStore; url: string; schema: string }> {
  const schema = `t_wb_${tag}_${schemas.length}`;
  schemas.push(schema);
  const store = (await openPostgresStore(pgUrl!, { schema }))._unsafeUnwrap();
  const url = new URL(pgUrl!);
  url.searchParams.set('schema', schema);
  return { store, url: url.toString(), schema };
}

afterAll(async () => {
  if (!servicesUp) return;
  for (const schema of schemas) await dropPostgresSchema(pgUrl!, schema);
  const client = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
  try {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
});

const ROOT = resolve(import.meta.dirname, '../../../..');

/** Builds what the worker child imports (a no-op when up to date). */
export function buildForChildren(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const packages = ['sdk', 'store-postgres', 'connector-mock', 'connector-salesforce', 'connector-dynamics', 'worker-bullmq'].map((name) => resolve(ROOT, 'packages', name));
  const built = spawnSync(process.execPath, [tsc, '-b', ...packages], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building the packages failed:\n${built.stdout}${built.stderr}`);
}
