/**
 * An outage: the CRM stops answering (connections refused), the app's round fails retryably and
 * nothing is in doubt (the request never left the machine); once the CRM is back, the next round
 * catches up and every row is exported exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addCustomer } from '../src/app-db.js';
import { customers, openSqlite, startCrm, type App, type Crm } from './harness.js';

let crm: Crm | undefined;
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  await crm?.close();
  app = undefined;
  crm = undefined;
});

describe('the example app through a CRM outage', () => {
  it('fails retryably (never in doubt) while the CRM is down, then catches up: every row exported exactly once', async () => {
    crm = await startCrm();
    app = await openSqlite(crm.connector);
    const { db, round } = app;
    await addCustomer(db, { last_name: 'Before' });
    crm.tick();
    expect(await round()).toEqual([]);

    for (let i = 0; i < 5; i += 1) await addCustomer(db, { last_name: `During ${i}` });
    await crm.emulator.stop();
    const errors = await round();
    expect(errors).toHaveLength(1); // the export failed, so the round stopped there
    expect(errors[0]).toMatchObject({ kind: 'crm', crmError: { retryable: true } });
    expect(errors[0]?.crmError?.inDoubt ?? false).toBe(false);
    expect(errors[0]?.message).toMatch(/ECONNREFUSED|refused/i);
    expect((await customers(db)).filter((r) => r.crm_id === null)).toHaveLength(5);
    expect(crm.syncKeys().size).toBe(1);

    await crm.emulator.start();
    crm.tick();
    expect(await round()).toEqual([]);
    const rows = await customers(db);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.crm_id !== null && r.synced_at !== null)).toBe(true);
    const keys = crm.syncKeys();
    expect([...keys.values()].every((count) => count === 1)).toBe(true);
    expect([...keys.keys()].sort()).toEqual(rows.map((r) => String(r.id)).sort());
    for (const row of rows) expect(crm.emulator.crm.get('Contact', row.crm_id!)?.values['Sync_Key__c']).toBe(String(row.id));
  });
});
