import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamicsConnector } from '../src/index.js';
import { startDataverseEmulator, type DataverseEmulator } from '../src/emulator/index.js';

describe('connector over the emulator (smoke)', () => {
  let emulator: DataverseEmulator;
  let connector: DynamicsConnector;
  beforeAll(async () => {
    emulator = await startDataverseEmulator();
    connector = new DynamicsConnector(emulator.connectorConfig());
  });
  afterAll(async () => {
    await connector.close();
    await emulator.close();
  });

  it('describes, inserts, queries, deletes', async () => {
    const description = (await connector.describe('contact'))._unsafeUnwrap();
    expect(description.primaryKey).toBe('contactid');
    const outcomes = (await connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastname: "O'Brien", firstname: 'Ann' } }, { values: { firstname: 'no last name' } }] }))._unsafeUnwrap();
    expect(outcomes[0]).toMatchObject({ ok: true, action: 'created' });
    expect(outcomes[1]).toMatchObject({ ok: false, reject: { code: 'required-field-missing' } });
    const page = (await connector.query({ object: 'contact', fields: ['lastname', 'firstname'], filter: { kind: 'comparison', left: { kind: 'field', name: 'lastname' }, op: 'eq', right: { kind: 'string', value: "O'Brien" } } }))._unsafeUnwrap();
    expect(page.records).toHaveLength(1);
    const id = (outcomes[0] as { id: string }).id;
    const deleted = (await connector.delete({ object: 'contact', ids: [id, id] }))._unsafeUnwrap();
    expect(deleted).toEqual([{ ok: true, id, action: 'deleted' }, { ok: true, id, action: 'deleted' }]);
  });
});
