import { describeConnectorContract } from '../src/index.js';
import { mockUnderTest } from './mock-harness.js';

// The suite's own proof that it accepts a conforming connector: every check passes on the mock.
describeConnectorContract({ name: 'mock', factory: () => mockUnderTest() });
