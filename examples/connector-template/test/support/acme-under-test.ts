/**
 * The contract suite's factory for Acme: a fresh fake CRM per check, the connector pointed at it,
 * and fixtures that arrange data behind the connector's back.
 */
import type { CrmConnector } from '@crm-sync/sdk';
import type { ConnectorUnderTest, RejectCase } from '@crm-sync/testkit';
import { AcmeConnector } from '../../src/index.js';
import { startAcmeFake, type AcmeFake, type AcmeFakeOptions } from './acme-fake.js';

const OBJECT = 'contacts';

/** Builds the connector under test; `wrap` lets a test run it through `RuntimeConnector`. */
export async function acmeUnderTest(wrap: (connector: AcmeConnector) => CrmConnector = (connector) => connector, fakeOptions: AcmeFakeOptions = {}): Promise<ConnectorUnderTest> {
  const fake = await startAcmeFake(fakeOptions);
  let seeded = 0;
  return {
    connector: wrap(new AcmeConnector({ baseUrl: fake.url, apiKey: fake.apiKey })),
    fixtures: {
      object: OBJECT,
      newRecord: (n) => ({ lastName: `Last ${n}`, firstName: `First ${n}`, email: `person${n}@example.test` }),
      updateField: { name: 'firstName', value: (n) => `Updated ${n}` },
      invalidRecord: () => ({ firstName: 'no last name' }),
      externalIdField: 'email',
      numericField: 'score',
      dateField: 'birthDate',
      changeField: 'updatedAt',
      stringField: 'firstName',
      // AQL's own operators and escapes, on top of the suite's generic tricky strings.
      trickyStrings: ["firstName eq 'x'", "\\' or id exists or firstName eq \\'", ' or ', 'missing', '[1, 2]'],
      secrets: [fake.apiKey],
      deletedRetentionDays: fake.retentionDays,
      rejectCases: acmeRejectCases(fake),
      async seed(n, options) {
        // Seeded emails never collide with newRecord's, whatever the checks ask for.
        const values = Array.from({ length: n }, (_, i) => options?.values?.(i) ?? { lastName: `Seeded ${i}`, email: `seeded${(seeded += 1)}@example.test` });
        return fake.seed(OBJECT, values, options?.changedAt);
      },
      async deleteDirect(id, at) {
        fake.deleteDirect(OBJECT, id, at);
      },
      async injectRateLimit(count, retryAfterMs) {
        // Acme announces a reset time in whole seconds, never a Retry-After.
        fake.rateLimitUntil(count, Date.now() + retryAfterMs);
      },
      rateLimitReset: {
        header: 'X-RateLimit-Reset',
        async inject(count, resetAt) {
          fake.rateLimitUntil(count, Date.parse(resetAt));
        },
      },
      async expireToken() {
        fake.tokens.expireAll();
      },
      async refuseConnections() {
        await fake.server.stop();
        return () => fake.server.start();
      },
      async injectAuthFailure() {
        fake.tokens.revoke(fake.apiKey);
      },
      async reset() {
        fake.reset();
      },
    },
    teardown: () => fake.close(),
  };
}

/** Every reject the fake Acme gives, with the reject code its error code means. */
function acmeRejectCases(fake: AcmeFake): RejectCase[] {
  const insert = (values: Record<string, string | number | boolean | null>) => ({ object: OBJECT, mode: 'insert' as const, records: [{ values }] });
  return [
    { what: 'required lastName missing (422 REQUIRED)', expected: 'required-field-missing', arrange: async () => insert({ firstName: 'no last name' }) },
    { what: 'a text in the number field score (422 INVALID_VALUE)', expected: 'invalid-value', arrange: async () => insert({ lastName: 'Typed', score: 'ten' }) },
    { what: 'an unknown field (400 UNKNOWN_FIELD)', expected: 'invalid-field', arrange: async () => insert({ lastName: 'Unknown', nickname: 'x' }) },
    {
      what: 'an email another contact has (409 DUPLICATE)',
      expected: 'duplicate',
      async arrange() {
        fake.seed(OBJECT, [{ lastName: 'First holder', email: 'taken@example.test' }]);
        return insert({ lastName: 'Second holder', email: 'taken@example.test' });
      },
    },
    {
      what: 'an update of a deleted contact (404 NOT_FOUND)',
      expected: 'not-found',
      async arrange() {
        const [id = ''] = fake.seed(OBJECT, [{ lastName: 'Gone' }]);
        fake.deleteDirect(OBJECT, id);
        return { object: OBJECT, mode: 'update', records: [{ id, values: { firstName: 'too late' } }] };
      },
    },
  ];
}
