/**
 * Steady state: consecutive small incremental imports, each through a fresh connector built from
 * the same configuration (as a scheduler does), share one option store. After the first run,
 * each run sends its data pages plus the server-time call and nothing else: the description comes
 * from the option store's describe cache, the session from this process's session cache.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import type { ImportJob } from '@crm-sync/sdk';
import { measureSteadyStateImports } from '@crm-sync/testkit';
import { salesforceEmulatorSchemas, startSalesforceEmulator, type SalesforceEmulator } from '../src/emulator/index.js';
import { SalesforceConnector, type SalesforceConnectorConfig } from '../src/index.js';
import { CREDENTIALS } from './harness.js';

let emulator: SalesforceEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const job: ImportJob = {
  kind: 'import',
  activity: 'steady-contacts',
  object: 'Contact',
  table: 'contacts',
  fields: [
    { remote: 'LastName', local: 'last_name' },
    { remote: 'Email', local: 'email' },
  ],
  pageSize: 200,
  automaticIndex: { enabled: true, safetyLagMs: 1000 },
};

/** Requests by emulator route since `from` in the log. */
function routesSince(log: SalesforceEmulator['requestLog'], from: number): Record<string, number> {
  const routes: Record<string, number> = {};
  for (const entry of log.slice(from)) routes[entry.route] = (routes[entry.route] ?? 0) + 1;
  return routes;
}

describe('steady-state incremental imports', () => {
  it('after the first run, each run costs its data pages + 1 call (server time): no describe, no sign-in', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00.000Z');
    const crm = new InMemoryCrm({ clock, schemas: salesforceEmulatorSchemas() });
    emulator = await startSalesforceEmulator({ crm, credentials: CREDENTIALS });
    const config: SalesforceConnectorConfig = { loginUrl: emulator.url, auth: { kind: 'password', ...CREDENTIALS } };
    const log = emulator.requestLog;
    const { perRun, read, rows } = await measureSteadyStateImports({
      job,
      changes: [3, 0, 2, 250, 1],
      insert: (n) => {
        const outcome = crm.insert('Contact', { LastName: `Last${n}`, Email: `c${n}@example.com` });
        if (!outcome.ok) throw new Error(outcome.reject.message);
        clock.advance(1);
      },
      beforeRun: () => clock.advance(60_000),
      connector: () => new SalesforceConnector(config),
      requestCount: () => log.length,
      requestsSince: (from) => routesSince(log, from),
    });
    expect(read).toEqual([3, 0, 2, 250, 1]);
    expect(rows).toBe(256);
    // The first run signs in, describes and reads the server time.
    expect(perRun[0]).toEqual({ token: 1, describe: 1, limits: 1, query: 1 });
    // Then: one query page (two for 250 records at pages of 200) + the server time, nothing else.
    expect(perRun.slice(1)).toEqual([
      { limits: 1, query: 1 },
      { limits: 1, query: 1 },
      { limits: 1, query: 1, 'query-more': 1 },
      { limits: 1, query: 1 },
    ]);
  });

  it('a session Salesforce refuses is replaced once, then shared again by the next connectors', async () => {
    emulator = await startSalesforceEmulator({ credentials: CREDENTIALS });
    const config: SalesforceConnectorConfig = { loginUrl: emulator.url, auth: { kind: 'password', ...CREDENTIALS } };
    const read = async () => {
      const connector = new SalesforceConnector(config);
      const result = await connector.query({ object: 'Contact', fields: ['LastName'] });
      await connector.close();
      return result;
    };
    expect((await read()).isOk()).toBe(true);
    expect((await read()).isOk()).toBe(true);
    expect(emulator.requestLog.filter((entry) => entry.route === 'token')).toHaveLength(1);
    emulator.expireSessions();
    expect((await read()).isOk()).toBe(true);
    expect((await read()).isOk()).toBe(true);
    expect(emulator.requestLog.filter((entry) => entry.route === 'token')).toHaveLength(2);
  });
});
