/**
 * Dataverse inserts that cannot duplicate (issue 12, part 5): the orchestrator journals a GUID per
 * insert before sending it, the Dynamics connector sends it as the primary key, and "a record with
 * matching key values already exists" on a resend counts as created. A connection reset after the
 * CRM committed a `$batch` or a `CreateMultiple` then resolves by itself, whatever the in-doubt
 * policy, without a sync key: zero duplicates and every local row linked.
 */
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';
import { DynamicsConnector } from '@crm-sync/connector-dynamics';
import { dataverseSchemas, startDataverseEmulator, type DataverseEmulator } from '@crm-sync/connector-dynamics/emulator';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportJob, ExportJournal, InDoubtPolicy } from '../../src/index.js';
import { START, type Harness } from './harnesses.js';
import { makeRig, type Rig } from './setup.js';

const ROWS = 250;

interface Target {
  readonly emulator: DataverseEmulator;
  readonly crm: InMemoryCrm;
  readonly connector: DynamicsConnector;
  readonly harness: Harness;
}

let target: Target | undefined;
afterEach(async () => {
  await target?.connector.close();
  await target?.emulator.close();
  target = undefined;
});

async function start(bulkMessages: boolean): Promise<Target> {
  const crm = new InMemoryCrm({ clock: new ManualClock(START), schemas: dataverseSchemas(), deletedRetentionDays: 30 });
  const emulator = await startDataverseEmulator({ crm });
  // Batches of 100: 250 rows are three batches, so the reset hits one of several.
  const connector = new DynamicsConnector(emulator.connectorConfig({ batchSize: 100, bulkMessages }));
  const names = { object: 'contact', id: 'contactid', lastName: 'lastname', email: 'emailaddress1', changeField: 'modifiedon', syncKey: 'crm_synckey', readOnly: 'createdon', date: 'birthdate' };
  // The rig only needs the connector; the CRM side is inspected through `crm` directly.
  target = { emulator, crm, connector, harness: { connector, names, crm: undefined as unknown as Harness['crm'] } };
  return target;
}

function job(inDoubtPolicy?: InDoubtPolicy): ExportJob {
  return {
    kind: 'export',
    activity: 'exportContacts',
    object: 'contact',
    table: 'people',
    mode: 'insert',
    ...(inDoubtPolicy === undefined ? {} : { inDoubtPolicy }),
    fields: [
      { local: 'last_name', remote: 'lastname' },
      { local: 'email', remote: 'emailaddress1' },
    ],
  };
}

function seed(rig: Rig): void {
  for (let i = 0; i < ROWS; i += 1) rig.records.put('people', `p${String(i).padStart(5, '0')}`, { last_name: `Last ${i}`, email: `p${i}@example.test` });
}

/** No duplicate in the CRM, and every local row linked to a CRM record of its own. */
function expectNoDuplicatesAllLinked(t: Target, rig: Rig): void {
  const contacts = t.crm.records('contact');
  expect(contacts).toHaveLength(ROWS);
  expect(new Set(contacts.map((contact) => contact.values.emailaddress1)).size).toBe(ROWS);
  const rows = rig.records.rows('people');
  expect(rows.every((row) => row.crmId !== undefined)).toBe(true);
  const linked = new Set(rows.map((row) => row.crmId));
  expect(linked.size).toBe(ROWS);
  expect([...linked].every((id) => t.crm.get('contact', id!) !== undefined)).toBe(true);
  // Each row is linked to the contact carrying its own values.
  for (const row of rows) expect(t.crm.get('contact', row.crmId!)?.values.emailaddress1).toBe(row.values.email);
}

/** A journal whose recordOutcomes throws once: the process "dies" after the CRM answered. */
function journalThatDiesOnce(inner: ExportJournal): ExportJournal {
  let died = false;
  return new Proxy(inner, {
    get(object, property, receiver) {
      if (property === 'recordOutcomes' && !died) {
        return async () => {
          died = true;
          throw new Error('process killed (simulated)');
        };
      }
      const value = Reflect.get(object, property, receiver);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

const PATHS = [
  { name: '$batch', bulkMessages: false, match: '$batch' },
  { name: 'CreateMultiple', bulkMessages: true, match: 'CreateMultiple' },
] as const;

describe('Dataverse inserts with client-chosen ids', () => {
  it('the connector declares client-chosen insert ids', async () => {
    const t = await start(false);
    expect(t.connector.capabilities.clientInsertIds).toBe(true);
  });

  for (const path of PATHS) {
    for (const policy of ['stop', 'resend', 'skip'] as const) {
      it(`a reset after commit on ${path.name}, inDoubtPolicy ${policy}: zero duplicates, every local row linked`, async () => {
        const t = await start(path.bulkMessages);
        const rig = makeRig(t.harness);
        seed(rig);
        t.emulator.faults.inject({ kind: 'reset-after-commit', match: { method: 'POST', path: path.match } });
        const summary = (await rig.orchestrator.runExport(job(policy)))._unsafeUnwrap();
        expect(t.emulator.faults.pending, 'the reset must have hit').toBe(0);
        expect(t.emulator.requestLog.some((entry) => entry.fault === 'reset-after-commit' && entry.path.includes(path.match))).toBe(true);
        expect(summary).toMatchObject({ created: ROWS, rejected: 0 });
        expect(summary.notes.join('\n')).toMatch(/sent again with it, so none can be duplicated/);
        expectNoDuplicatesAllLinked(t, rig);
        // The next export finds every row linked: nothing is created again.
        const again = (await rig.orchestrator.runExport({ ...job(policy), mode: 'auto' }))._unsafeUnwrap();
        expect(again.created).toBe(0);
        expect(t.crm.records('contact')).toHaveLength(ROWS);
      });
    }

    it(`a crash after ${path.name} was answered but before the journal recorded it: the restart settles it without a sync key or a policy`, async () => {
      const t = await start(path.bulkMessages);
      const base = makeRig(t.harness);
      seed(base);
      const crashed = await makeRig(t.harness, { journal: journalThatDiesOnce(base.journal) }, base).orchestrator.runExport(job());
      expect(crashed._unsafeUnwrapErr().kind).toBe('store');
      const resumed = (await base.orchestrator.runExport(job()))._unsafeUnwrap();
      expect(resumed.notes.join('\n')).toMatch(/resuming/);
      expectNoDuplicatesAllLinked(t, base);
    });
  }

  it('the id sent is the one journaled before sending', async () => {
    const t = await start(false);
    const rig = makeRig(t.harness);
    seed(rig);
    const sent: string[] = [];
    const spy = new Proxy(t.connector, {
      get(object, property, receiver) {
        if (property === 'upsertBatch') {
          return (request: Parameters<DynamicsConnector['upsertBatch']>[0], options?: Parameters<DynamicsConnector['upsertBatch']>[1]) => {
            for (const record of request.records) if (record.id !== undefined) sent.push(record.id);
            return object.upsertBatch(request, options);
          };
        }
        const value = Reflect.get(object, property, receiver);
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
    const summary = (await makeRig({ ...t.harness, connector: spy }, {}, rig).orchestrator.runExport(job()))._unsafeUnwrap();
    const journaled = (await rig.journal.listEntries(summary.runId!)).map((entry) => entry.crmId);
    expect(sent).toHaveLength(ROWS);
    expect(new Set(sent)).toEqual(new Set(journaled));
    expect(new Set(t.crm.records('contact').map((contact) => contact.id))).toEqual(new Set(sent));
  });
});
