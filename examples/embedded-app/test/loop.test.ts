/**
 * The example app's sync loop against the Salesforce emulator, on SQLite and on PostgreSQL:
 * export (rows marked synced by the callback), import (the echo of the app's own exports lands on
 * the same rows), deleted-record import with its automatic watermark, and rejects in the app's
 * `sync_rejects` table while the rest of the page commits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addCustomer, changeCustomer } from '../src/app-db.js';
import { startSyncLoop } from '../src/sync.js';
import { crmInsert, customers, databases, openSqlite, startCrm, type App, type Crm } from './harness.js';

let crm: Crm | undefined;
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  await crm?.close();
  app = undefined;
  crm = undefined;
});

describe.each(databases)('the sync loop on $name', ({ open }) => {
  it('exports, imports, follows deletions, and keeps rejects in sync_rejects', async () => {
    crm = await startCrm();
    app = await open(crm.connector);
    const { db, round } = app;
    const ada = await addCustomer(db, { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.test' });
    const alan = await addCustomer(db, { first_name: 'Alan', last_name: 'Turing' });
    const grace = await addCustomer(db, { last_name: 'Hopper', email: 'grace@example.test' });
    const fromCrm = crmInsert(crm, { FirstName: 'Edsger', LastName: 'Dijkstra', Email: 'ewd@example.test' });
    const tooLong = crmInsert(crm, { LastName: 'A last name of sixty characters, longer than the column (40)' });
    crm.tick();

    expect(await round()).toEqual([]);
    let rows = await customers(db);
    // The three rows the app added are in the CRM once each, by sync key (the row's id), and linked.
    expect(Object.fromEntries(crm.syncKeys())).toEqual({ [ada]: 1, [alan]: 1, [grace]: 1 });
    expect(rows.filter((r) => r.crm_id !== null).map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(rows.filter((r) => [ada, alan, grace].includes(r.id)).every((r) => r.synced_at !== null)).toBe(true);
    // The CRM's valid record is a new row; the one its column refuses is a reject, not a failed page.
    expect(rows.find((r) => r.crm_id === fromCrm)).toMatchObject({ first_name: 'Edsger', last_name: 'Dijkstra', updated_at: null });
    expect(rows.some((r) => r.crm_id === tooLong)).toBe(false);
    expect(await db.selectFrom('sync_rejects').select(['activity', 'crm_id', 'code']).execute()).toEqual([{ activity: 'importCustomers', crm_id: tooLong, code: 'invalid-value' }]);
    expect(rows).toHaveLength(4);

    // Next round: the app changed one row, someone deleted a contact in Salesforce.
    await changeCustomer(db, alan, { email: 'alan@example.test' });
    expect(crm.emulator.crm.delete('Contact', rows.find((r) => r.id === grace)!.crm_id!).ok).toBe(true);
    crm.tick();
    const before = crm.emulator.crm.records('Contact').length;
    expect(await round()).toEqual([]);
    rows = await customers(db);
    // The echo of round 1's exports came back through the import onto the same rows: no new rows.
    expect(rows).toHaveLength(4);
    expect(crm.emulator.crm.records('Contact')).toHaveLength(before);
    expect(crm.emulator.crm.get('Contact', rows.find((r) => r.id === alan)!.crm_id!)?.values['Email']).toBe('alan@example.test');
    expect(rows.find((r) => r.id === grace)?.deleted_at).not.toBeNull();
    expect(rows.filter((r) => r.deleted_at !== null).map((r) => r.id)).toEqual([grace]);
    // The page with the refused record committed its watermark: the record is not read (or rejected) again.
    expect(await db.selectFrom('sync_rejects').select('crm_id').execute()).toEqual([{ crm_id: tooLong }]);
    // The echo wrote the CRM's change time on the rows exported in round 1; Alan's update of this
    // round is newer than this round's import window, so its echo comes in the next round.
    expect(rows.filter((r) => r.crm_changed_at === null).map((r) => r.id)).toEqual([alan, grace]);

    // A quiet round: nothing changed anywhere, nothing is sent.
    crm.tick();
    const writes = crm.emulator.requestLog.filter((entry) => entry.method !== 'GET').length;
    expect(await round()).toEqual([]);
    expect(crm.emulator.requestLog.filter((entry) => entry.method !== 'GET').length).toBe(writes);
    rows = await customers(db);
    expect(rows.filter((r) => r.crm_changed_at === null).map((r) => r.id)).toEqual([grace]);
    expect(rows).toHaveLength(4);
  });
});

describe('the sync loop on a timer', () => {
  it('runs a round on every tick until stopped, and stop() waits for the running round', async () => {
    crm = await startCrm();
    app = await openSqlite(crm.connector);
    await addCustomer(app.db, { last_name: 'Lovelace' });
    crm.tick();
    const reports: number[] = [];
    const stop = startSyncLoop(app.round, 10, (errors) => void reports.push(errors.length));
    while (reports.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await stop();
    const seen = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reports.length).toBe(seen);
    expect(reports.every((count) => count === 0)).toBe(true);
    expect(crm.syncKeys().size).toBe(1);
  });
});
