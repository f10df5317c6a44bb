import { describeConnectorContract } from '@crm-sync/testkit';
import { dynamicsUnderTest } from './support/harness.js';

// The conformance suite over the Dataverse emulator, msal-node acquiring real tokens from it.
describeConnectorContract({ name: 'dynamics (emulator)', factory: () => dynamicsUnderTest() });
