/**
 * The application's entry point: its SQLite database, a Salesforce connection, and the sync loop
 * every `SYNC_EVERY_MS` (default 60 s) until SIGINT/SIGTERM.
 *
 *   APP_DB=app.sqlite SF_INSTANCE_URL=https://acme.my.salesforce.com SF_ACCESS_TOKEN=... node dist/main.js
 *   APP_DB=app.sqlite SF_LOGIN_URL=http://127.0.0.1:8080 SF_USERNAME=me SF_PASSWORD=pw node dist/main.js
 *
 * The first form uses a pre-issued access token; the second signs in with the OAuth password flow
 * (SF_CLIENT_ID / SF_CLIENT_SECRET when the connected app needs them), which the emulator started
 * with `npx crm-sync-salesforce-emulator --port 8080` accepts with any user name and password.
 * SF_CONCURRENCY sets the Salesforce calls in flight (default 8).
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
const concurrency = process.env['SF_CONCURRENCY'] ? { concurrency: Number(process.env['SF_CONCURRENCY']) } : {}; // calls in flight, default 8
const clientId = process.env['SF_CLIENT_ID'];
const clientSecret = process.env['SF_CLIENT_SECRET'];
const connector = process.env['SF_ACCESS_TOKEN']
  ? new SalesforceConnector({ ...concurrency, instanceUrl: env('SF_INSTANCE_URL'), auth: { kind: 'access-token', accessToken: env('SF_ACCESS_TOKEN') } })
  : new SalesforceConnector({
      ...concurrency,
      loginUrl: env('SF_LOGIN_URL'),
      auth: { kind: 'password', username: env('SF_USERNAME'), password: env('SF_PASSWORD'), ...(clientId ? { clientId } : {}), ...(clientSecret ? { clientSecret } : {}) },
    });
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
