/**
 * Steady state: consecutive small incremental imports, each through a fresh connector built from
 * the same configuration (as a scheduler does), share one option store. After the first run,
 * each run sends its data pages plus `WhoAmI` (the server time) and nothing else: the four
 * metadata GETs of a describe come from the option store's describe cache, and the token from
 * msal's cache, shared by the connectors of this process with the same app registration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import type { ImportJob } from '@crm-sync/sdk';
import { measureSteadyStateImports } from '@crm-sync/testkit';
import { dataverseSchemas, startDataverseEmulator, type DataverseEmulator } from '../src/emulator/index.js';
import { DynamicsConnector } from '../src/index.js';

let emulator: DataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const job: ImportJob = {
  kind: 'import',
  activity: 'steady-contacts',
  object: 'contact',
  table: 'contacts',
  fields: [
    { remote: 'lastname', local: 'last_name' },
    { remote: 'emailaddress1', local: 'email' },
  ],
  pageSize: 200,
  automaticIndex: { enabled: true, safetyLagMs: 1000 },
};

/** Requests since `from` in the log, by kind: token, metadata, WhoAmI, data page. */
function kindsSince(log: DataverseEmulator['requestLog'], from: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const entry of log.slice(from)) {
    const path = entry.path.split('?')[0]!;
    const kind = path.includes('/oauth2/') ? 'token' : path.includes('EntityDefinitions') ? 'metadata' : path.endsWith('/WhoAmI') ? 'whoami' : 'data';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

describe('steady-state incremental imports', () => {
  it('after the first run, each run costs its data pages + 1 call (WhoAmI): no metadata GET, no token request', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00.000Z');
    const crm = new InMemoryCrm({ clock, schemas: dataverseSchemas(), deletedRetentionDays: 30 });
    emulator = await startDataverseEmulator({ crm });
    // One configuration for every run, as an application builds it once.
    const config = emulator.connectorConfig();
    const log = emulator.requestLog;
    const { perRun, read, rows } = await measureSteadyStateImports({
      job,
      changes: [3, 0, 2, 250, 1],
      insert: (n) => {
        const outcome = crm.insert('contact', { lastname: `Last${n}`, emailaddress1: `c${n}@example.com` });
        if (!outcome.ok) throw new Error(outcome.reject.message);
        clock.advance(1);
      },
      beforeRun: () => clock.advance(60_000),
      connector: () => new DynamicsConnector(config),
      requestCount: () => log.length,
      requestsSince: (from) => kindsSince(log, from),
    });
    expect(read).toEqual([3, 0, 2, 250, 1]);
    expect(rows).toBe(256);
    // The first run gets a token, sends the four metadata GETs of a describe and WhoAmI.
    expect(perRun[0]).toEqual({ token: 1, metadata: 4, whoami: 1, data: 1 });
    // Then: the data pages (two for 250 records at pages of 200) + WhoAmI, nothing else.
    expect(perRun.slice(1)).toEqual([
      { whoami: 1, data: 1 },
      { whoami: 1, data: 1 },
      { whoami: 1, data: 2 },
      { whoami: 1, data: 1 },
    ]);
  });

  it('connectors with other credentials or another network client do not share tokens', async () => {
    emulator = await startDataverseEmulator();
    const tokens = () => emulator!.requestLog.filter((entry) => entry.path.includes('/oauth2/')).length;
    const whoAmI = async (config: ReturnType<DataverseEmulator['connectorConfig']>) => {
      const connector = new DynamicsConnector(config);
      const result = await connector.serverTime();
      await connector.close();
      return result.isOk();
    };
    const shared = emulator.connectorConfig();
    expect(await whoAmI(shared)).toBe(true);
    expect(await whoAmI(shared)).toBe(true);
    expect(tokens()).toBe(1);
    // connectorConfig() builds a new network client each time: its connectors get their own token.
    expect(await whoAmI(emulator.connectorConfig())).toBe(true);
    expect(tokens()).toBe(2);
  });
});
