import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, crmError, f, registerSecret, v, type ImportJob, type RunProgress } from '../../src/index.js';
import { harnesses, START, withCapabilities, withMethod, type Harness } from './harnesses.js';
import { CONTACTS_IMPORT_OPTION, contactsImportJob, fakeTime, makeRig } from './setup.js';

for (const factory of harnesses) {
  describe(`import on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await factory.teardown?.(harness);
    });

    const job = (overrides: Partial<ImportJob> = {}): ImportJob => contactsImportJob(harness, overrides);
    const option = CONTACTS_IMPORT_OPTION;

    it('a 429 storm is absorbed by the runtime retries and the run completes', async () => {
      const rig = makeRig(harness);
      for (let i = 0; i < 450; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      harness.crm.failNext(4, crmError('rate-limited', harness.connector.id, 'Too many requests (simulated)', { retryAfterMs: 5 }), { operations: ['query'] });
      const summary = (await rig.orchestrator.runImport(job()))._unsafeUnwrap();
      expect(summary.read).toBe(450);
      expect(summary.retries).toBeGreaterThanOrEqual(4);
      expect(rig.records.rows('contacts')).toHaveLength(450);
    });

    it('with process errors on, a failed page goes to the errors output, waits, and is retried', async () => {
      const rig = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'a' });
      harness.crm.advance(60_000);
      harness.crm.failNext(2, crmError('transient', harness.connector.id, 'HTTP 503 (simulated)'), { operations: ['query'] });
      const summary = (
        await makeRig(harness, { runtime: { ...fakeTime(), retry: { retries: 0 } } }, rig).orchestrator.runImport(
          job({ processErrors: { retries: 3, waitMs: 250 } }),
        )
      )._unsafeUnwrap();
      expect(summary.read).toBe(1);
      expect(summary.errors).toBe(2);
      expect(rig.errors.map((item) => [item.part, item.attempt, item.willRetry])).toEqual([
        ['page 1', 1, true],
        ['page 1', 2, true],
      ]);
      expect(rig.waits).toEqual([250, 250]);
    });

    it('with process errors on, an error no wait can fix (unknown object) goes to the errors output once and fails the run without waiting', async () => {
      const rig = makeRig(harness);
      const result = await rig.orchestrator.runImport(job({ object: 'NoSuchObject', processErrors: { retries: 3, waitMs: 60_000 } }));
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'crm', crmError: { kind: 'not-found' } });
      expect(rig.errors.map((item) => [item.part, item.attempt, item.willRetry])).toEqual([['describe', 1, false]]);
      expect(rig.waits).toEqual([]);
    });

    it('refuses unknown fields, non-sortable order and a bad time zone before any data call, naming the job path', async () => {
      const rig = makeRig(harness);
      const result = await rig.orchestrator.runImport(
        job({
          fields: [{ remote: harness.names.lastName, local: 'a' }, { remote: 'nope', local: 'b' }],
          orderBy: [{ field: 'missing', direction: 'asc' }],
          timeZone: 'Mars/Olympus',
        }),
      );
      const error = result._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.issues?.map((issue) => issue.path)).toEqual(expect.arrayContaining(['fields[1].remote', 'orderBy[0].field', 'timeZone']));
      expect(error.message).toContain('fields[1].remote');
      expect(error.summary?.read).toBe(0);
      expect(rig.records.rows('contacts')).toHaveLength(0);
    });

    it('refuses a filter that breaks the portable rules, with the filter path', async () => {
      const rig = makeRig(harness);
      const result = await rig.orchestrator.runImport(
        job({
          filter: { kind: 'comparison', left: { kind: 'field', name: harness.names.lastName }, op: 'eq', right: { kind: 'string', value: 'x' } },
        }),
      );
      const error = result._unsafeUnwrapErr();
      expect(error.kind).toBe('invalid-job');
      expect(error.issues?.[0]?.path).toMatch(/^filter/);
    });

    it('imports exactly the records whose ids were computed upstream, chunked, and reports the ids not found', async () => {
      const rig = makeRig(harness);
      const ids = Array.from({ length: 450 }, (_, i) => harness.crm.create({ [harness.names.lastName]: `L${i}` }));
      harness.crm.create({ [harness.names.lastName]: 'not asked' });
      const wanted = [...ids.slice(0, 400), 'missing-1', 'missing-2'];
      async function* stream(): AsyncIterable<string> {
        yield* wanted;
      }
      const small = makeRig({ ...harness, connector: withCapabilities(harness.connector, { maxIdsPerQuery: 100 }) }, {}, rig);
      const summary = (await small.orchestrator.runImport(job({ automaticIndex: undefined, ids: stream() })))._unsafeUnwrap();
      expect(summary.read).toBe(400);
      expect(rig.records.rows('contacts')).toHaveLength(400);
      expect(summary.notFound).toEqual(['missing-1', 'missing-2']);
      const pattern = harness.connector.capabilities.idPattern;
      const sendable = pattern === undefined ? wanted : wanted.filter((id) => new RegExp(pattern).test(id));
      expect(small.orchestrator.connector.stats.byOperation.query?.calls).toBe(Math.ceil(sendable.length / 100));
    });

    it('ids that cannot be ids of this CRM are reported as not found without being sent', async () => {
      const rig = makeRig(harness);
      const id = harness.crm.create({ [harness.names.lastName]: 'a' });
      const strict = makeRig({ ...harness, connector: withCapabilities(harness.connector, { idPattern: `^${id}$` }) }, {}, rig);
      const summary = (await strict.orchestrator.runImport(job({ automaticIndex: undefined, ids: [id, "x' OR 1=1"] })))._unsafeUnwrap();
      expect(summary.read).toBe(1);
      expect(summary.notFound).toEqual(["x' OR 1=1"]);
      expect(summary.notes.join('\n')).toMatch(/do not look like/);
      expect(strict.orchestrator.connector.stats.byOperation.query?.calls).toBe(1);
    });

    it('a connector that throws an error carrying a registered secret fails the run with the secret masked everywhere, the cause included', async () => {
      const secret = 'run-error-canary-0123456789abcdef';
      registerSecret(secret);
      try {
        const throwing = withMethod(harness.connector, 'query', () => () => {
          throw new Error(`socket closed (Authorization: Bearer ${secret})`, { cause: new Error(`retry with ${secret}`) });
        });
        const rig = makeRig({ ...harness, connector: throwing });
        const error = (await rig.orchestrator.runImport(job({ automaticIndex: { enabled: false } })))._unsafeUnwrapErr();
        expect(error).toMatchObject({ kind: 'crm', crmError: { kind: 'unknown' } });
        const everything = JSON.stringify(error, (_key, value: unknown) =>
          value instanceof Error ? { message: value.message, stack: value.stack, cause: value.cause } : value,
        );
        expect(everything).toContain('socket closed');
        expect(everything).not.toContain(secret);
      } finally {
        clearRegisteredSecrets();
      }
    });

    it("the seed's example filter, activity since 1 November 2012, runs as a date, a job variable and a date expression", async () => {
      const { names } = harness;
      const dates = ['2012-10-31', '2012-11-01', '2013-01-15', null];
      const ids = dates.map((date, i) => harness.crm.create({ [names.lastName]: `L${i}`, [names.date]: date }));
      harness.crm.advance(60_000);
      const since = [
        { value: v.date('2012-11-01') },
        { value: v.expr('vars.since'), variables: { since: '2012-11-01' } },
        { value: v.expr("addDays(date('2012-10-01'), 31)") },
      ];
      for (const [index, { value, variables }] of since.entries()) {
        const rig = makeRig(harness);
        const summary = (
          await rig.orchestrator.runImport(
            job({ activity: `since${index}`, automaticIndex: { enabled: false }, filter: f.and(f.gte(names.date, value)), ...(variables ? { variables } : {}) }),
          )
        )._unsafeUnwrap();
        expect(summary.read).toBe(2);
        expect(rig.records.rows('contacts').map((row) => row.crmId).sort()).toEqual([ids[1], ids[2]].sort());
      }
    });

    it('a dry run shows the plan and changes nothing', async () => {
      const rig = makeRig(harness);
      harness.crm.create({ [harness.names.lastName]: 'a' });
      harness.crm.advance(60_000);
      const plan = (await rig.orchestrator.plan(job()))._unsafeUnwrap();
      expect(plan.operation).toBe('import');
      expect(plan.queries[0]?.description).toMatch(/window/);
      expect(plan.estimatedApiCalls).toBeGreaterThanOrEqual(3);
      expect(plan.window?.optionName).toBe(option);
      expect(rig.records.rows('contacts')).toHaveLength(0);
      expect(await rig.options.getOption(option)).toBeUndefined();
    });

    it('emits progress events for each page and a final done event', async () => {
      const rig = makeRig(harness);
      for (let i = 0; i < 450; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const events: RunProgress[] = [];
      (await rig.orchestrator.runImport(job(), { onProgress: (event) => events.push(event) }))._unsafeUnwrap();
      expect(events.filter((event) => event.phase === 'read').map((event) => event.records)).toEqual([200, 400, 450]);
      expect(events.at(-1)?.phase).toBe('done');
    });

    it('an aborted run stops with kind aborted and keeps the last committed watermark', async () => {
      const rig = makeRig(harness);
      for (let i = 0; i < 450; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const controller = new AbortController();
      const result = await rig.orchestrator.runImport(job(), {
        signal: controller.signal,
        onProgress: (event) => {
          if (event.phase === 'read') controller.abort();
        },
      });
      expect(result._unsafeUnwrapErr().kind).toBe('aborted');
      expect(rig.records.rows('contacts').length).toBeLessThan(450);
      expect((await rig.options.getOption(option))?.meta).toMatchObject({ id: expect.any(String) });
    });

    it('prefetches: page n+1 is requested while page n is written, and never more than two pages ahead of the write', async () => {
      for (let i = 0; i < 1000; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` });
      harness.crm.advance(60_000);
      const base = makeRig(harness);
      let queries = 0;
      const counting = new Proxy(harness.connector, {
        get(target, property, receiver) {
          if (property === 'query') return (...args: Parameters<typeof target.query>) => (queries += 1, target.query(...args));
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const queriesAtWrite: number[] = [];
      const sink = {
        atomicCheckpoint: true,
        write: async (...args: Parameters<typeof base.records.write>) => {
          // A slow sink: by the time it commits, the next page has been asked for.
          await new Promise((resolve) => setImmediate(resolve));
          queriesAtWrite.push(queries);
          return base.records.write(...args);
        },
        markDeleted: base.records.markDeleted.bind(base.records),
      };
      (await makeRig({ ...harness, connector: counting }, { sink }, base).orchestrator.runImport(job()))._unsafeUnwrap();
      // 5 pages: when page k is written, page k+1 was asked for (none beyond it); the last has no successor.
      // 5 pages: when page k is written, page k+1 was asked for, and page k+2 at most (it may be
      // on its way while page k+1 converts); none beyond; the last pages have no successor.
      expect(queriesAtWrite).toHaveLength(5);
      queriesAtWrite.forEach((asked, index) => {
        expect(asked).toBeGreaterThanOrEqual(Math.min(index + 2, 5));
        expect(asked).toBeLessThanOrEqual(Math.min(index + 3, 5));
      });
    });

    it('one page write at a time, in page order, each starting after the previous page committed; checkpoints only move forward', async () => {
      const at = '2024-06-01T00:00:00.000Z';
      for (let i = 0; i < 1000; i += 1) harness.crm.create({ [harness.names.lastName]: `L${i}` }, at);
      harness.crm.advance(60_000);
      const base = makeRig(harness);
      let writing = 0;
      const events: string[] = [];
      const checkpoints: string[] = [];
      const sink = {
        atomicCheckpoint: true,
        write: async (...args: Parameters<typeof base.records.write>) => {
          writing += 1;
          expect(writing, 'two page writes at once').toBe(1);
          events.push(`write ${args[1].length}`);
          // Slow: the next page is fetched and converted meanwhile.
          for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
          await base.records.write(...args);
          if (args[2] !== undefined) checkpoints.push(String(args[2].meta?.['id']));
          events.push('committed');
          writing -= 1;
        },
        markDeleted: base.records.markDeleted.bind(base.records),
      };
      const summary = (await makeRig(harness, { sink }, base).orchestrator.runImport(job()))._unsafeUnwrap();
      expect(summary.written).toBe(1000);
      expect(events).toEqual(Array.from({ length: 5 }, () => ['write 200', 'committed']).flat());
      // Mid-window checkpoints (one shared change time: the tie-break id) only move forward.
      expect(checkpoints.length).toBeGreaterThan(0);
      expect([...checkpoints].sort()).toEqual(checkpoints);
      expect(base.records.rows('contacts').every((row) => row.writes === 1)).toBe(true);
    });

    it('a record whose value cannot be converted is a reject (with its CRM id), logged, and sent to the rejects output', async () => {
      const rig = makeRig(harness);
      const good = harness.crm.create({ [harness.names.lastName]: 'good' });
      const bad = harness.crm.create({ [harness.names.lastName]: 'bad' });
      const garbled = new Proxy(harness.connector, {
        get(target, property, receiver) {
          if (property === 'query') {
            return (...args: Parameters<typeof target.query>) =>
              target.query(...args).map((page) => ({
                ...page,
                records: page.records.map((record) => (record.id === bad ? { ...record, values: { ...record.values, [harness.names.changeField]: 'not a date' } } : record)),
              }));
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const run = makeRig({ ...harness, connector: garbled }, {}, rig);
      const fields = [
        { remote: harness.names.lastName, local: 'last_name' },
        { remote: harness.names.changeField, local: 'changed' },
      ];
      const summary = (await run.orchestrator.runImport(job({ automaticIndex: undefined, processRejects: true, fields })))._unsafeUnwrap();
      expect(summary).toMatchObject({ read: 2, written: 1, rejected: 1 });
      expect(rig.records.get('contacts', good)).toBeDefined();
      expect(rig.rejects).toEqual([expect.objectContaining({ operation: 'import', crmId: bad, code: 'invalid-value', fields: [harness.names.changeField] })]);
      expect(rig.warnings).toHaveLength(1);
    });

    it('reads the change field and the id even when the job does not map them', async () => {
      const rig = makeRig(harness);
      const id = harness.crm.create({ [harness.names.lastName]: 'a' });
      harness.crm.advance(60_000);
      (await rig.orchestrator.runImport(job({ fields: [{ remote: harness.names.lastName, local: 'last_name' }] })))._unsafeUnwrap();
      const row = rig.records.get('contacts', id);
      expect(row?.crmId).toBe(id);
      expect(row?.changedAt).toBe(START);
    });
  });
}
