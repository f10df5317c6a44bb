import { describeConnectorContract, describeContractGroup } from '../src/index.js';
import { mockUnderTest } from './mock-harness.js';

// The suite's own proof that it accepts a conforming connector: every check passes on the mock.
describeConnectorContract({ name: 'mock', factory: () => mockUnderTest() });

// Again with small pages, so reads cross many pages and the page-size cap check runs (the default
// maxPageSize of 10,000 is too large to exceed in CI).
describeConnectorContract({
  name: 'mock (maxPageSize 100)',
  factory: () => mockUnderTest(undefined, { capabilities: { maxPageSize: 100, defaultPageSize: 40 } }),
});

// The ids group with Salesforce-style and GUID ids, so that the id-normalisation check runs on the
// mock too (its own `mock` ids have no other spelling, and the check skips there).
describeContractGroup('ids', { name: 'mock (Salesforce-style ids)', factory: () => mockUnderTest(undefined, {}, [], 'salesforce') });
describeContractGroup('ids', { name: 'mock (GUID ids)', factory: () => mockUnderTest(undefined, {}, [], 'guid') });
