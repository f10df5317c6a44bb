/**
 * The contract suite's factory for Acme: a fresh fake CRM per check, the connector pointed at it,
 * and fixtures that arrange data behind the connector's back.
 */
import type { CrmConnector } from '@crm-sync/sdk';
import type { ConnectorUnderTest } from '@crm-sync/testkit';
import { AcmeConnector } from '../../src/index.js';
import { startAcmeFake } from './acme-fake.js';

const OBJECT = 'contacts';

/** Builds the connector under test; `wrap` lets a test run it through `RuntimeConnector`. */
export async function acmeUnderTest(wrap: (connector: AcmeConnector) => CrmConnector = (connector) => connector): Promise<ConnectorUnderTest> {
  const fake = await startAcmeFake();
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
      secrets: [fake.apiKey],
      async seed(n, options) {
        // Seeded emails never collide with newRecord's, whatever the checks ask for.
        const values = Array.from({ length: n }, (_, i) => options?.values?.(i) ?? { lastName: `Seeded ${i}`, email: `seeded${(seeded += 1)}@example.test` });
        return fake.seed(OBJECT, values, options?.changedAt);
      },
      async deleteDirect(id, at) {
        fake.deleteDirect(OBJECT, id, at);
      },
      async injectRateLimit(count, retryAfterMs) {
        fake.failNext(count, 429, retryAfterMs / 1000);
      },
      async injectAuthFailure() {
        fake.failNext(1, 401);
      },
      async reset() {
        fake.reset();
      },
    },
    teardown: () => fake.close(),
  };
}
