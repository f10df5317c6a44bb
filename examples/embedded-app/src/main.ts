/**
 * The application's entry point: its SQLite database, a Salesforce connection, and the sync loop
 * every `SYNC_EVERY_MS` (default 60 s) until SIGINT/SIGTERM.
 *
 *   APP_DB=app.sqlite SF_INSTANCE_URL=http://127.0.0.1:8080 SF_ACCESS_TOKEN=... node dist/main.js
 *
 * With `--once` it runs one round, prints its errors (none: `[]`) and exits: 0 when the round went
 * through, 2 when it failed. The kill test runs it that way.
 */
import { SalesforceConnector } from '@crm-sync/connector-salesforce';
import { openSqliteApp } from './app-db.js';
import { createSync, crmStores, startSyncLoop } from './sync.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`[embedded-app] set ${name} (see the header of src/main.ts)`);
  return value;
};

const { database, db } = openSqliteApp(process.env['APP_DB'] ?? 'app.sqlite');
const crm = crmStores(database);
const connector = new SalesforceConnector({ instanceUrl: env('SF_INSTANCE_URL'), auth: { kind: 'access-token', accessToken: env('SF_ACCESS_TOKEN') } });
const round = createSync(db, crm, connector);
const describe = (errors: readonly { kind: string; message: string }[]): string => JSON.stringify(errors.map((e) => ({ kind: e.kind, message: e.message })));

const close = async (): Promise<void> => {
  await connector.close();
  crm.close();
  await db.destroy();
};

if (process.argv.includes('--once')) {
  const errors = await round();
  process.stdout.write(`${describe(errors)}\n`);
  await close();
  process.exit(errors.length === 0 ? 0 : 2);
} else {
  const stop = startSyncLoop(round, Number(process.env['SYNC_EVERY_MS'] ?? 60_000), (errors) => {
    if (errors.length > 0) process.stderr.write(`[embedded-app] sync round failed (retried on the next tick): ${describe(errors)}\n`);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop().then(close));
}
