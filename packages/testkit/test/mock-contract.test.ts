import { describeConnectorContract } from '../src/index.js';
import { mockUnderTest } from './mock-harness.js';

// The suite's own proof that it accepts a conforming connector: every check passes on the mock.
describeConnectorContract({ name: 'mock', factory: () => mockUnderTest() });

// Again with small pages, so reads cross many pages and the page-size cap check runs (the default
// maxPageSize of 10,000 is too large to exceed in CI).
describeConnectorContract({
  name: 'mock (maxPageSize 100)',
  factory: () => mockUnderTest(undefined, { capabilities: { maxPageSize: 100, defaultPageSize: 40 } }),
});
