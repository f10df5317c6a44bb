import { describeConnectorContract } from '@crm-sync/testkit';
import { dynamicsUnderTest } from './support/harness.js';

// The conformance suite over the Dataverse emulator, msal-node acquiring real tokens from it.
describeConnectorContract({ name: 'dynamics (emulator)', factory: () => dynamicsUnderTest() });

// Again with small pages, so the page-size cap check runs and reads cross many pages.
describeConnectorContract({ name: 'dynamics (emulator, maxPageSize 100)', factory: () => dynamicsUnderTest({ maxPageSize: 100, pageSize: 40 }) });
