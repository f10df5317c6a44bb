import { RuntimeConnector } from '@crm-sync/sdk';
import { describeConnectorContract } from '@crm-sync/testkit';
import { acmeUnderTest } from './support/acme-under-test.js';

// The whole conformance suite, each check against a fresh fake Acme CRM on loopback.
describeConnectorContract({ name: 'acme (fake on loopback)', factory: () => acmeUnderTest() });

// The same suite through the wrapper the orchestrator always uses: it must preserve the contract.
// Its one designed difference is absorbing a rate limit by retrying after the announced reset.
describeConnectorContract({
  name: 'acme via RuntimeConnector',
  factory: () =>
    acmeUnderTest((connector) => {
      let fakeNow = Date.parse('2026-01-01T00:00:00.000Z');
      // Waits advance a fake clock, so a retry after Retry-After costs no real time.
      return new RuntimeConnector(connector, { retry: { retries: 2 }, now: () => fakeNow, sleep: async (ms) => void (fakeNow += ms) });
    }),
  knownDeviations: {
    'errors/rate-limited-retryable': {
      reason: 'RuntimeConnector retries a rate-limited call after the announced wait, so the caller sees the retried success, not the 429',
      failureKind: 'wrong-error-kind',
    },
    'errors/rate-limit-reset-time': {
      reason: 'RuntimeConnector retries a rate-limited call after the announced reset, so the caller sees the retried success, not the 429',
      failureKind: 'wrong-error-kind',
    },
  },
});
