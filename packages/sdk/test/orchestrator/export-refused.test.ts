/**
 * A refused connection sends nothing: an insert export without a sync key fails retryably (never
 * "in doubt"), and the next run, with the CRM back, exports every record exactly once with no
 * resend/skip decision.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExportJob } from '../../src/index.js';
import { harnesses, withCapabilities, type Harness } from './harnesses.js';
import { makeRig } from './setup.js';

for (const factory of harnesses) {
  describe(`export against a refused connection on ${factory.name}`, () => {
    let harness: Harness;
    beforeEach(async () => {
      harness = await factory.setup();
    });
    afterEach(async () => {
      await harness.outage?.start();
      await factory.teardown?.(harness);
    });

    it('fails retryably, journals nothing in doubt, and the next run exports each record exactly once', async ({ skip }) => {
      const outage = harness.outage;
      if (outage === undefined) return skip('the mock CRM runs in-process: there is no connection to refuse');
      // No sync key and no client-chosen ids: the case where an in-doubt insert would need a person.
      const noIds = { ...harness, connector: withCapabilities(harness.connector, { clientInsertIds: false }) };
      const rig = makeRig(noIds);
      for (let i = 0; i < 5; i += 1) rig.records.put('people', `p${i}`, { last_name: `Last ${i}`, email: `p${i}@example.test` });
      const job: ExportJob = {
        kind: 'export',
        activity: 'exportContacts',
        object: harness.names.object,
        table: 'people',
        mode: 'insert',
        fields: [
          { local: 'last_name', remote: harness.names.lastName },
          { local: 'email', remote: harness.names.email },
        ],
      };
      // Describe once while the CRM is up, as a long-running app would have.
      expect((await harness.connector.describe(harness.names.object)).isOk()).toBe(true);
      await outage.stop();
      const failed = await rig.orchestrator.runExport(job);
      const error = failed._unsafeUnwrapErr();
      expect(error.kind).not.toBe('in-doubt');
      expect(error.message).toMatch(/ECONNREFUSED|nothing was sent/);
      for (const run of await rig.journal.listRuns()) {
        const states = await rig.journal.countByState(run.runId);
        expect([states.sent, states.unknown]).toEqual([0, 0]);
      }
      expect(harness.crm.contacts()).toHaveLength(0);

      await outage.start();
      const summary = (await rig.orchestrator.runExport(job))._unsafeUnwrap();
      expect(summary).toMatchObject({ created: 5, rejected: 0 });
      const names = harness.crm.contacts().map((c) => c.values[harness.names.lastName]).sort();
      expect(names).toEqual(['Last 0', 'Last 1', 'Last 2', 'Last 3', 'Last 4']);
      expect(rig.records.rows('people').every((row) => row.crmId !== undefined)).toBe(true);
    });
  });
}
