import { describeConnectorContract } from '@crm-sync/testkit';
import { AcmeConnector } from '../src/index.js';
import { startAcmeFake } from './support/acme-fake.js';

// The whole conformance suite, each check against a fresh fake Acme CRM on loopback.
describeConnectorContract({
  name: 'acme (fake on loopback)',
  factory: async () => {
    const fake = await startAcmeFake();
    const connector = new AcmeConnector({ baseUrl: fake.url, apiKey: fake.apiKey });
    const object = 'contacts';
    return {
      connector,
      fixtures: {
        object,
        newRecord: (n) => ({ lastName: `Last ${n}`, firstName: `First ${n}`, email: `person${n}@example.test` }),
        updateField: { name: 'firstName', value: (n) => `Updated ${n}` },
        invalidRecord: () => ({ firstName: 'no last name' }),
        externalIdField: 'email',
        numericField: 'score',
        dateField: 'birthDate',
        changeField: 'updatedAt',
        secrets: [fake.apiKey],
        async seed(n, options) {
          const values = Array.from({ length: n }, (_, i) => options?.values?.(i) ?? { lastName: `Seeded ${i}`, email: `seeded${i}-${Math.random().toString(36).slice(2)}@example.test` });
          return fake.seed(object, values, options?.changedAt);
        },
        async deleteDirect(id, at) {
          fake.deleteDirect(object, id, at);
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
  },
});
