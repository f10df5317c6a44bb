import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, contactValues, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => harness?.close());

describe('connector over the emulator', () => {
  it('inserts, reads back, deletes', async () => {
    harness = await startHarness();
    const { connector } = harness;
    const inserted = await connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: contactValues(1) }, { values: { FirstName: 'x' } }] });
    expect(inserted._unsafeUnwrap()).toMatchObject([{ ok: true, action: 'created' }, { ok: false, reject: { code: 'required-field-missing', symbol: 'REQUIRED_FIELD_MISSING' } }]);
    const page = await connector.query({ object: 'Contact', fields: ['LastName', 'Email', 'LastModifiedDate'] });
    expect(page._unsafeUnwrap().records).toHaveLength(1);
    const id = page._unsafeUnwrap().records[0]!.id;
    const deleted = await connector.delete({ object: 'Contact', ids: [id, id] });
    expect(deleted._unsafeUnwrap()).toMatchObject([{ ok: true, action: 'deleted' }, { ok: true, action: 'deleted' }]);
  });
});
