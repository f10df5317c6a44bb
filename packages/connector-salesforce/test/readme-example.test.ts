import { expect, it } from 'vitest';
import { startSalesforceEmulator } from '../src/emulator/index.js';
import { SalesforceConnector } from '../src/index.js';

it('the README example runs as written', async () => {
  const emulator = await startSalesforceEmulator();
  const salesforce = new SalesforceConnector({
    loginUrl: emulator.url,
    auth: { kind: 'password', username: 'me@acme.com', password: 'pw', securityToken: 'tok', clientId: 'cid', clientSecret: 'sec' },
  });
  await salesforce.upsertBatch({ object: 'Contact', mode: 'upsert', externalIdField: 'Sync_Key__c', records: [{ values: { LastName: 'Lovelace', Sync_Key__c: 'ada' } }] });
  const page = await salesforce.query({ object: 'Contact', fields: ['LastName', 'Email'], window: { field: 'LastModifiedDate' } });
  expect(page._unsafeUnwrap().records.map((r) => r.values)).toEqual([{ LastName: 'Lovelace', Email: null }]);
  await emulator.close();
});
