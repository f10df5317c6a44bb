/**
 * What the example's tests run on: the Salesforce emulator (in this process, so it outlives a
 * killed app process, as an org would) and the application's database, SQLite in a temp file or
 * PostgreSQL in a schema of its own (skipped with one line when the server is unreachable,
 * failing with CRM_SYNC_REQUIRE_SERVICES=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { ManualClock } from '@crm-sync/connector-mock';
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { startSalesforceEmulator, type SalesforceEmulator } from '@crm-sync/connector-salesforce/emulator';
import { RuntimeConnector, type CrmConnector, type RunError } from '@crm-sync/sdk';
import { POSTGRES_SERVICE, requireService } from '@crm-sync/testkit';
import { dropPostgresApp, openPostgresApp, openSqliteApp, type AppTables } from '../src/app-db.js';
import { createSync, crmStores, crmStoresPg } from '../src/sync.js';

/** The server's URL, or `undefined` when the PostgreSQL tests are skipped. */
export const pgUrl: string | undefined = await requireService(POSTGRES_SERVICE);

/** The emulator, its clock, and a connector signed in to it. */
export interface Crm {
  readonly emulator: SalesforceEmulator;
  readonly clock: ManualClock;
  readonly token: string;
  /** A connector with short retry delays (the runtime's defaults wait up to ~8 s in an outage). */
  readonly connector: CrmConnector;
  /** Time passes in the CRM: two minutes, so the last round's writes are inside the next import window and the deleted-records feed covers the minute they happened in. */
  tick(): void;
  /** Contacts by sync key: how many records carry each one. */
  syncKeys(): Map<string, number>;
  close(): Promise<void>;
}

export async function startCrm(options: { latencyMs?: number } = {}): Promise<Crm> {
  // A fixed clock at the current minute that moves only when the test says: the deleted-records
  // feed never covers the current minute (as Salesforce), so a test on the machine's clock would wait.
  const emulator = await startSalesforceEmulator({ fixedClock: new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString(), ...options });
  const clock = emulator.crm.clock as ManualClock;
  const token = emulator.issueAccessToken();
  const salesforce = new SalesforceConnector({ instanceUrl: emulator.url, auth: { kind: 'access-token', accessToken: token } });
  const connector = new RuntimeConnector(salesforce, { retry: { retries: 2, minDelayMs: 5, maxDelayMs: 20 } });
  return {
    emulator,
    clock,
    token,
    connector,
    tick: () => clock.advance(120_000),
    syncKeys: () => {
      const keys = new Map<string, number>();
      for (const record of emulator.crm.records('Contact')) {
        const key = record.values['Sync_Key__c'];
        if (typeof key === 'string') keys.set(key, (keys.get(key) ?? 0) + 1);
      }
      return keys;
    },
    close: async () => {
      await salesforce.close();
      await emulator.close();
    },
  };
}

/** The application's database with the sync wired on it. */
export interface App {
  readonly name: 'sqlite' | 'postgres';
  /** Kysely for the application's own queries. */
  readonly db: Kysely<AppTables>;
  /** One sync round. */
  readonly round: () => Promise<RunError[]>;
  close(): Promise<void>;
}

export async function openSqlite(connector: CrmConnector): Promise<App & { file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-sync-embedded-app-'));
  const file = join(dir, 'app.sqlite');
  const { database, db } = openSqliteApp(file);
  const crm = crmStores(database);
  return {
    name: 'sqlite',
    file,
    db,
    round: createSync(db, crm, connector),
    close: async () => {
      crm.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let schemas = 0;
const prefix = `t_embedded_app_${randomBytes(4).toString('hex')}`;

export async function openPostgres(connector: CrmConnector): Promise<App> {
  if (pgUrl === undefined) throw new Error('PostgreSQL is not reachable');
  const schema = `${prefix}_${schemas++}`;
  const pool = new pg.Pool({ connectionString: pgUrl, max: 4 });
  pool.on('error', () => undefined);
  const db = await openPostgresApp(pool, schema);
  const crm = await crmStoresPg(pool, schema);
  return {
    name: 'postgres',
    db: db.withSchema(schema),
    round: createSync(db, crm, connector, schema),
    close: async () => {
      await crm.close();
      await dropPostgresApp(db, schema);
      await db.destroy();
    },
  };
}

/** The databases to run on: SQLite always, PostgreSQL when reachable. */
export const databases = [
  { name: 'sqlite', open: openSqlite },
  ...(pgUrl === undefined ? [] : [{ name: 'postgres', open: openPostgres }]),
] as const;

/** Rows of the application's customers, by key. */
export async function customers(db: Kysely<AppTables>) {
  return db.selectFrom('customers').selectAll().orderBy('id').execute();
}

/** Inserts a contact straight into the CRM (someone working in Salesforce). */
export function crmInsert(crm: Crm, values: Record<string, string>): string {
  const outcome = crm.emulator.crm.insert('Contact', values);
  if (!outcome.ok) throw new Error(outcome.reject.message);
  return outcome.id;
}
