import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crmError, formatWatermark, type ImportJob } from '../../src/index.js';
import { harnesses, withCapabilities, type Harness } from './harnesses.js';
import { CONTACTS_IMPORT_OPTION, contactsImportJob, makeRig } from './setup.js';

for (const factory of harnesses) {
  describe(`incremental import (watermark) on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    const job = (overrides: Partial<ImportJob> = {}): ImportJob => contactsImportJob(harness, overrides);
    const option = CONTACTS_IMPORT_OPTION;

    it('a first run reads everything, stores the watermark at the window end and exposes the seed variables', async () => {
      const rig = makeRig(harness);
      for (let i = 0; i < 5; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const summary = (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(summary.read).toBe(5);
      expect(summary.written).toBe(5);
      expect(rig.records.rows('contacts')).toHaveLength(5);
      const end = new Date(Date.parse(harness.crm.now()) - 1000).toISOString();
      expect(summary.window?.endInstant).toBe(end);
      expect(summary.variables).toEqual({ crmOptionName: option, crmEndDate: formatWatermark(end) });
      const stored = await rig.options.getOption(option);
      expect(stored?.value).toBe(formatWatermark(end));
      expect(stored?.meta).toMatchObject({ at: end, field: harness.names.changeField });
    });

    it('5,000 records sharing one change timestamp across page boundaries are all imported exactly once', async () => {
      const rig = makeRig(harness);
      const at = '2024-06-01T00:00:00.000Z';
      for (let i = 0; i < 5000; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` }, at);
      harness.crm.advance(60_000);
      const summary = (await rig.orchestrator.runImport(job())) ._unsafeUnwrap();
      expect(summary.read).toBe(5000);
      const rows = rig.records.rows('contacts');
      expect(rows).toHaveLength(5000);
      expect(rows.every((row) => row.writes === 1)).toBe(true);
    });

    it('a crash between pages of one shared timestamp resumes after the last committed record: none lost, none written twice', async () => {
      const base = makeRig(harness);
      const at = '2024-06-01T00:00:00.000Z';
      for (let i = 0; i < 5000; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` }, at);
      harness.crm.advance(60_000);
      let writes = 0;
      const crashingSink = {
        atomicCheckpoint: true,
        write: async (...args: Parameters<typeof base.records.write>) => {
          writes += 1;
          if (writes === 4) throw new Error('disk full (simulated crash)');
          return base.records.write(...args);
        },
        markDeleted: base.records.markDeleted.bind(base.records),
      };
      const crashed = await makeRig(harness, { sink: crashingSink }, base).orchestrator.runImport(job());
      expect(crashed._unsafeUnwrapErr().kind).toBe('store');
      expect(base.records.rows('contacts')).toHaveLength(600);
      const mid = await base.options.getOption(option);
      expect(mid?.meta).toMatchObject({ at, id: expect.any(String) });

      const resumed = (await base.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(resumed.read).toBe(4400);
      const rows = base.records.rows('contacts');
      expect(rows).toHaveLength(5000);
      expect(rows.every((row) => row.writes === 1)).toBe(true);
    });

    it('a record committed late, with a change time inside the previous window, is picked up by the next run thanks to the overlap', async () => {
      const rig = makeRig(harness);
      const early = harness.crm.create({ [harness.names.lastName]: 'early' });
      harness.crm.advance(60_000);
      const overlapJob = job({ automaticIndex: { enabled: true, safetyLagMs: 1000, overlapMs: 30 * 60_000 } });
      (await rig.orchestrator.runImport(overlapJob))._unsafeUnwrap();
      const firstEnd = (await rig.options.getOption(option))!.meta!.at as string;

      // A long transaction commits now, stamped 10 s before the previous window's end.
      const late = harness.crm.create({ [harness.names.lastName]: 'late' });
      harness.crm.stampChange(late, new Date(Date.parse(firstEnd) - 10_000).toISOString());
      harness.crm.advance(60_000);

      const second = (await rig.orchestrator.runImport(overlapJob))._unsafeUnwrap();
      expect(rig.records.get('contacts', late)?.values.last_name).toBe('late');
      expect(second.written).toBe(1);
      expect(second.skipped).toBe(1);
      expect(rig.records.get('contacts', early)?.writes).toBe(1);
    });

    it('without the overlap, the same late record is missed (the overlap is what catches it)', async () => {
      const rig = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'early' });
      harness.crm.advance(60_000);
      (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      const firstEnd = (await rig.options.getOption(option))!.meta!.at as string;
      const late = harness.crm.create({ [harness.names.lastName]: 'late' });
      harness.crm.stampChange(late, new Date(Date.parse(firstEnd) - 10_000).toISOString());
      harness.crm.advance(60_000);
      (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(rig.records.get('contacts', late)).toBeUndefined();
    });

    it('a client clock skewed by hours changes nothing: windows come from CRM server time', async () => {
      for (let i = 0; i < 30; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const results = [];
      for (const skewHours of [-7, 0, 9]) {
        const rig = makeRig(harness, { clock: () => new Date(Date.parse(harness.crm.now()) + skewHours * 3_600_000) });
        const summary = (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
        results.push({ read: summary.read, window: summary.window, watermark: (await rig.options.getOption(option))?.value });
      }
      expect(results[0]).toEqual(results[1]);
      expect(results[2]).toEqual(results[1]);
      expect(results[1]?.read).toBe(30);
    });

    it('records changed after the window end (within the safety lag) wait for the next run', async () => {
      const rig = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'old' });
      harness.crm.advance(60_000);
      const fresh = harness.crm.create({ [harness.names.lastName]: 'fresh' });
      const first = (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(first.read).toBe(1);
      expect(rig.records.get('contacts', fresh)).toBeUndefined();
      harness.crm.advance(5_000);
      (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(rig.records.get('contacts', fresh)?.writes).toBe(1);
    });

    it('a failed page leaves the watermark where it was', async () => {
      const rig = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'a' });
      harness.crm.advance(60_000);
      (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      const before = await rig.options.getOption(option);
      for (let i = 0; i < 500; i += 1) harness.crm.create({ [harness.names.lastName]: `n${i}` });
      harness.crm.advance(60_000);
      harness.crm.failNext(1, crmError('invalid-request', harness.connector.id, 'QUERY_TIMEOUT (simulated)'), { operations: ['query'] });
      const failed = await rig.orchestrator.runImport(job());
      expect(failed._unsafeUnwrapErr()).toMatchObject({ kind: 'crm', crmError: { kind: 'invalid-request' } });
      expect(await rig.options.getOption(option)).toEqual(before);
    });

    it('a watermark in the future is refused with a clear error', async () => {
      const rig = makeRig(harness);
      await rig.options.setOption(option, '2999/12/31 00:00:00');
      const result = await rig.orchestrator.runImport(job());
      const error = result._unsafeUnwrapErr();
      expect(error.kind).toBe('watermark');
      expect(error.message).toMatch(/after the CRM's current time/);
      expect(error.message).toMatch(/2999\/12\/31 00:00:00/);
    });

    it('a watermark set by hand wins over the stored exact value and resets the tie-break', async () => {
      const rig = makeRig(harness);
      const old = harness.crm.create({ [harness.names.lastName]: 'old' }, '2024-06-01T00:00:00.000Z');
      harness.crm.setNow('2024-06-02T00:00:00.000Z');
      const recent = harness.crm.create({ [harness.names.lastName]: 'recent' }, '2024-06-01T12:00:00.000Z');
      await rig.options.setOption(option, '2024/06/01 06:00:00', { at: '2024-05-01T00:00:00.000Z', id: 'zzz', field: harness.names.changeField });
      const summary = (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(summary.window?.start).toBe('2024/06/01 06:00:00');
      expect(rig.records.get('contacts', recent)).toBeDefined();
      expect(rig.records.get('contacts', old)).toBeUndefined();
      expect(summary.notes.join('\n')).toMatch(/set by hand/);
    });

    it('an unreadable watermark is a clear error naming the format', async () => {
      const rig = makeRig(harness);
      await rig.options.setOption(option, 'yesterday');
      const error = (await rig.orchestrator.runImport(job()))._unsafeUnwrapErr();
      expect(error.kind).toBe('watermark');
      expect(error.message).toMatch(/yyyy\/MM\/dd HH:mm:ss/);
    });

    it("warns (log and summary note) when the initial start or the watermark is ahead of the CRM's clock, and stays quiet otherwise", async () => {
      const rig = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'then' });
      harness.crm.advance(60_000);
      // An initial start taken from a machine clock far ahead of the CRM's (an emulator with a fixed clock).
      const ahead = (await rig.orchestrator.runImport(job({ automaticIndex: { enabled: true, initialStart: '2030-01-01T00:00:00.000Z' } })))._unsafeUnwrap();
      expect(ahead.created + ahead.updated).toBe(0);
      expect(ahead.notes.join('\n')).toMatch(/initial start of option "LASTIMPORT_default_importContacts" \(2030\/01\/01 00:00:00 UTC\) is ahead of the CRM's clock/);
      expect(rig.warnings.filter((w) => /ahead of the CRM's clock/.test(w.message ?? ''))).toHaveLength(1);
      expect(rig.warnings[0]?.fields).toMatchObject({ option: option, watermark: '2030-01-01T00:00:00.000Z', crmNow: harness.crm.now() });

      const quiet = makeRig(harness);
      const normal = (await quiet.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(normal.notes.join('\n')).not.toMatch(/ahead of the CRM's clock/);
      expect(quiet.warnings.filter((w) => /ahead of the CRM's clock/.test(w.message ?? ''))).toHaveLength(0);
    });

    it('the first run starts at the configured initial start', async () => {
      const rig = makeRig(harness);
      const before = harness.crm.create({ [harness.names.lastName]: 'before' }, '2024-05-01T00:00:00.000Z');
      const after = harness.crm.create({ [harness.names.lastName]: 'after' }, '2024-05-20T00:00:00.000Z');
      harness.crm.advance(60_000);
      const summary = (await rig.orchestrator.runImport(job({ automaticIndex: { enabled: true, initialStart: '2024-05-10T00:00:00.000Z' } })))._unsafeUnwrap();
      expect(summary.variables.crmStartImport).toBe('2024/05/10 00:00:00');
      expect(rig.records.get('contacts', after)).toBeDefined();
      expect(rig.records.get('contacts', before)).toBeUndefined();
    });

    it('never ends a window after the newest point the CRM says is fully visible (safeUpperBound)', async () => {
      const rig0 = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'visible' }, '2024-06-01T00:00:00.000Z');
      const hidden = harness.crm.create({ [harness.names.lastName]: 'maybe not yet' }, '2024-06-01T00:00:30.000Z');
      harness.crm.advance(3_600_000);
      const bound = '2024-06-01T00:00:10.000Z';
      const bounded = new Proxy(harness.connector, {
        get(target, property, receiver) {
          if (property === 'query') {
            return (...args: Parameters<typeof target.query>) => target.query(...args).map((page) => ({ ...page, safeUpperBound: bound }));
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const summary = (await makeRig({ ...harness, connector: bounded }, {}, rig0).orchestrator.runImport(job()))._unsafeUnwrap();
      expect((await rig0.options.getOption(option))?.meta?.at).toBe(bound);
      expect(summary.notes.join('\n')).toMatch(/visible only up to/);
      // The next run starts at the bound, so the record after it is read again: at-least-once, never lost.
      const next = (await rig0.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(next.written).toBe(1);
      expect(rig0.records.get('contacts', hidden)?.writes).toBe(2);
    });

    it('with a user order by, the watermark moves only at the end of the window', async () => {
      const base = makeRig(harness);
      for (let i = 0; i < 450; i += 1) harness.crm.create({ [harness.names.lastName]: `L${String(i).padStart(3, '0')}` });
      harness.crm.advance(60_000);
      let writes = 0;
      const sink = {
        atomicCheckpoint: true,
        write: async (...args: Parameters<typeof base.records.write>) => {
          writes += 1;
          if (writes === 2) throw new Error('disk full (simulated crash)');
          return base.records.write(...args);
        },
        markDeleted: base.records.markDeleted.bind(base.records),
      };
      const ordered = job({ orderBy: [{ field: harness.names.lastName, direction: 'desc' }] });
      expect((await makeRig(harness, { sink }, base).orchestrator.runImport(ordered)).isErr()).toBe(true);
      expect(await base.options.getOption(option)).toBeUndefined();
      const done = (await base.orchestrator.runImport(ordered))._unsafeUnwrap();
      expect(done.read).toBe(450);
      expect((await base.options.getOption(option))?.meta?.id).toBeUndefined();
      expect((await base.options.getOption(option))?.value).toBe(done.window?.end);
    });

    it('a record changed during a long paged read is not lost: the window is fixed when the read starts, the next run has the change', async () => {
      const rig = makeRig(harness);
      const ids = Array.from({ length: 600 }, (_, i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      harness.crm.advance(60_000);
      const moved = ids[550]!;
      let changed = false;
      (
        await rig.orchestrator.runImport(job(), {
          onProgress: (event) => {
            if (event.phase === 'read' && !changed) {
              changed = true;
              harness.crm.update(moved, { [harness.names.lastName]: 'changed mid-read' });
            }
          },
        })
      )._unsafeUnwrap();
      harness.crm.advance(60_000);
      (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(rig.records.rows('contacts')).toHaveLength(600);
      expect(rig.records.get('contacts', moved)?.values.last_name).toBe('changed mid-read');
    });

    it('without a serverTime() call, the window end comes from the server time stamped on a probe page, never the client clock', async () => {
      harness.crm.create({ [harness.names.lastName]: 'a' });
      harness.crm.advance(60_000);
      const noServerTime = withCapabilities(harness.connector, { serverTime: false });
      const rig = makeRig({ ...harness, connector: noServerTime }, { clock: () => new Date('2031-01-01T00:00:00.000Z') });
      const summary = (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(summary.window?.endInstant).toBe(new Date(Date.parse(harness.crm.now()) - 1000).toISOString());
      expect(summary.read).toBe(1);
    });

    it('refuses an incremental import when the connector cannot tell the CRM time at all', async () => {
      const blind = new Proxy(withCapabilities(harness.connector, { serverTime: false }), {
        get(target, property, receiver) {
          if (property === 'query') {
            return (...args: Parameters<typeof target.query>) =>
              target.query(...args).map(({ serverTime: _serverTime, ...page }) => page);
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const rig = makeRig({ ...harness, connector: blind });
      const error = (await rig.orchestrator.runImport(job()))._unsafeUnwrapErr();
      expect(error.kind).toBe('watermark');
      expect(error.message).toMatch(/server time/);
    });
  });
}
