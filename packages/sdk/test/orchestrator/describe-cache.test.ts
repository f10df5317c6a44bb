/**
 * The describe cache in the option store: a fresh description saves the describe call, an old one
 * (TTL) is described again, and a field error or a job field the cached description lacks drops
 * it and describes afresh. Runs on every harness (mock, Salesforce and Dataverse emulators).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errAsync } from 'neverthrow';
import { crmError, describeCacheOption, type CrmConnector, type ObjectDescription, type QueryRequest } from '../../src/index.js';
import { MockConnector } from '@crm-sync/connector-mock';
import { harnesses, withMethod, type Harness } from './harnesses.js';
import { contactsImportJob, makeRig } from './setup.js';

/** Describe calls the orchestrator's connector made so far. */
function describeCalls(rig: ReturnType<typeof makeRig>): number {
  return rig.orchestrator.connector.stats.byOperation.describe?.calls ?? 0;
}

for (const factory of harnesses) {
  describe(`describe cache on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
      harness.crm.create({ [harness.names.lastName]: 'Alpha' });
      harness.crm.create({ [harness.names.lastName]: 'Beta' });
      harness.crm.advance(60_000);
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    const option = () => describeCacheOption(harness.connector.id, harness.names.object, harness.connector.instanceKey);

    it('a hit: the second run reads the description from the option store and sends no describe', async () => {
      const rig = makeRig(harness);
      const first = (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(first.read).toBe(2);
      expect(describeCalls(rig)).toBe(1);
      const stored = await rig.options.getOption(option());
      expect(JSON.parse(stored!.value)).toMatchObject({ name: harness.names.object });
      expect(typeof stored!.meta?.fetchedAt).toBe('string');

      harness.crm.create({ [harness.names.lastName]: 'Gamma' });
      harness.crm.advance(60_000);
      const again = makeRig(harness, {}, rig);
      const second = (await again.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(second.read).toBe(1);
      expect(describeCalls(again)).toBe(0);
      expect(rig.records.rows('contacts')).toHaveLength(3);
    });

    it('TTL expiry: a description older than describeCacheTtlMs is described again', async () => {
      let now = Date.parse('2026-01-01T00:00:00.000Z');
      const clock = () => new Date(now);
      const rig = makeRig(harness, { clock, describeCacheTtlMs: 60_000 });
      (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      now += 59_000;
      const fresh = makeRig(harness, { clock, describeCacheTtlMs: 60_000 }, rig);
      (await fresh.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(describeCalls(fresh)).toBe(0);
      now += 2_000;
      const expired = makeRig(harness, { clock, describeCacheTtlMs: 60_000 }, rig);
      (await expired.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(describeCalls(expired)).toBe(1);
      expect((await rig.options.getOption(option()))!.meta?.fetchedAt).toBe(new Date(now).toISOString());
    });

    it('invalidation: an unknown-field error from the CRM drops the cached description, describes afresh and reads', async () => {
      const rig = makeRig(harness);
      (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      harness.crm.create({ [harness.names.lastName]: 'Delta' });
      harness.crm.advance(60_000);
      let failures = 1;
      const connector: CrmConnector = withMethod(harness.connector, 'query', (inner) => (request: QueryRequest, cursor, options) => {
        if (failures > 0) {
          failures -= 1;
          return errAsync(crmError('invalid-request', inner.id, 'No such column (simulated)', { vendorCode: 'INVALID_FIELD', unknownField: true }));
        }
        return inner.query(request, cursor, options);
      });
      const again = makeRig({ ...harness, connector }, {}, rig);
      const summary = (await again.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(summary.read).toBe(1);
      expect(describeCalls(again)).toBe(1);
      expect(summary.notes.some((note) => note.includes('described it afresh'))).toBe(true);
      expect(await rig.options.getOption(option())).toBeDefined();
    });

    it('invalidation: a field error that a fresh description does not cure fails the run and leaves no cached description', async () => {
      const rig = makeRig(harness);
      (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      const connector: CrmConnector = withMethod(harness.connector, 'query', (inner) => () =>
        errAsync(crmError('invalid-request', inner.id, 'No such column (simulated)', { unknownField: true })),
      );
      const again = makeRig({ ...harness, connector }, {}, rig);
      const result = await again.orchestrator.runImport(contactsImportJob(harness));
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'crm', crmError: { unknownField: true } });
      expect(describeCalls(again)).toBe(1);
      expect(await rig.options.getOption(option())).toBeUndefined();
    });

    it('a job mapping a field the cached description lacks describes afresh instead of refusing the job', async () => {
      const rig = makeRig(harness);
      (await rig.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      const stored = (await rig.options.getOption(option()))!;
      const cached = JSON.parse(stored.value) as ObjectDescription;
      const trimmed = { ...cached, fields: cached.fields.filter((field) => field.name !== harness.names.email) };
      await rig.options.setOption(option(), JSON.stringify(trimmed), stored.meta);
      const again = makeRig(harness, {}, rig);
      const summary = (await again.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(describeCalls(again)).toBe(1);
      expect(summary.notes.some((note) => note.includes('described it afresh'))).toBe(true);
      expect((JSON.parse((await rig.options.getOption(option()))!.value) as ObjectDescription).fields.some((field) => field.name === harness.names.email)).toBe(true);
    });

    it('describeCacheTtlMs 0 turns the cache off, and a dry run never writes it', async () => {
      const off = makeRig(harness, { describeCacheTtlMs: 0 });
      (await off.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
      expect(await off.options.getOption(option())).toBeUndefined();
      const dry = makeRig(harness);
      (await dry.orchestrator.runImport(contactsImportJob(harness), { dryRun: true }))._unsafeUnwrap();
      expect(await dry.options.getOption(option())).toBeUndefined();
      expect(() => makeRig(harness, { describeCacheTtlMs: -1 })).toThrow(/describeCacheTtlMs/);
    });
  });
}

describe('describe cache across CRM instances (mock)', () => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await harnesses[0]!.setup();
    harness.crm.create({ [harness.names.lastName]: 'Alpha' });
    harness.crm.advance(60_000);
  });
  afterEach(async () => {
    await harnesses[0]!.teardown?.(harness);
  });

  it('one store, two CRM instances: each has its own cached description; the same instance reuses its own', async () => {
    // The connector the Salesforce and Dataverse connectors are: one id, an instanceKey per org.
    const orgA = new MockConnector((harness.connector as MockConnector).crm, { instanceKey: 'https://a.example.test' });
    const orgB = new MockConnector((harness.connector as MockConnector).crm, { instanceKey: 'https://b.example.test' });
    const first = makeRig(harness, { connector: orgA });
    (await first.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
    expect(describeCalls(first)).toBe(1);
    const other = makeRig(harness, { connector: orgB }, first);
    (await other.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
    expect(describeCalls(other)).toBe(1);
    const same = makeRig(harness, { connector: new MockConnector((harness.connector as MockConnector).crm, { instanceKey: 'https://a.example.test' }) }, first);
    (await same.orchestrator.runImport(contactsImportJob(harness)))._unsafeUnwrap();
    expect(describeCalls(same)).toBe(0);
    const names = [describeCacheOption('mock', harness.names.object, 'https://a.example.test'), describeCacheOption('mock', harness.names.object, 'https://b.example.test')];
    expect(names[0]).not.toBe(names[1]);
    expect(names[0]).toMatch(/^CRMSYNC_DESCRIBE_mock_[0-9a-f]{12}_/);
    // Only a hash of the key is in the name.
    expect(names[0]).not.toContain('example');
    for (const name of names) expect(await first.options.getOption(name)).toBeDefined();
    // Without a key the name is as before.
    expect(describeCacheOption('mock', 'contact')).toBe('CRMSYNC_DESCRIBE_mock_contact');
  });
});

