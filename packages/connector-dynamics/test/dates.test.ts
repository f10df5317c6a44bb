import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findField, toLocalValue, toRemoteValue, type ConversionMode, type FieldValue, type ObjectDescription } from '@crm-sync/sdk';
import { startHarness, type DynamicsHarness } from './support/harness.js';

const ZONE = 'Europe/Amsterdam';

let harness: DynamicsHarness;
let contact: ObjectDescription;
beforeAll(async () => {
  harness = await startHarness();
  contact = (await harness.connector.describe('contact'))._unsafeUnwrap();
});
afterAll(async () => harness.close());

/** field, mode, the application's value, the value Dataverse keeps (as its Web API renders it). */
const CASES: [string, ConversionMode, string, string][] = [
  // DateOnly: a calendar date, never shifted by zones or DST.
  ['birthdate', 'default', '1990-03-25', '1990-03-25'],
  ['birthdate', 'date-only', '1990-03-25', '1990-03-25'],
  ['birthdate', 'without-time-offset', '1990-03-25', '1990-03-25'],
  ['birthdate', 'copy-paste', '1990-03-25', '1990-03-25'],
  // UserLocal: an instant kept in UTC; the job zone applies on both sides.
  ['lastonholdtime', 'default', '2024-03-31T03:30:00.000+02:00', '2024-03-31T01:30:00Z'],
  ['lastonholdtime', 'date-only', '2024-03-31', '2024-03-30T23:00:00Z'],
  ['lastonholdtime', 'without-time-offset', '2024-03-31T10:00:00.000', '2024-03-31T10:00:00Z'],
  ['lastonholdtime', 'copy-paste', '2024-03-31T01:30:00.000Z', '2024-03-31T01:30:00Z'],
  // TimeZoneIndependent: wall-clock, stored as entered (even inside the DST gap), never converted.
  ['crm_preferredcalltime', 'default', '2024-03-31T02:30:00.000', '2024-03-31T02:30:00Z'],
  ['crm_preferredcalltime', 'date-only', '2024-03-31', '2024-03-31T00:00:00Z'],
  ['crm_preferredcalltime', 'without-time-offset', '2024-03-31T02:30:00.000', '2024-03-31T02:30:00Z'],
  ['crm_preferredcalltime', 'copy-paste', '2024-03-31T02:30:00.000', '2024-03-31T02:30:00Z'],
];

describe('date behaviours through export and import', () => {
  it('maps DateTimeBehavior to field types and time semantics', () => {
    expect(findField(contact, 'birthdate')).toMatchObject({ type: 'date', timeSemantics: 'date-only' });
    expect(findField(contact, 'lastonholdtime')).toMatchObject({ type: 'datetime', timeSemantics: 'instant' });
    expect(findField(contact, 'crm_preferredcalltime')).toMatchObject({ type: 'datetime', timeSemantics: 'floating' });
    expect(findField(contact, 'modifiedon')).toMatchObject({ type: 'datetime', timeSemantics: 'instant', createable: false });
  });

  it.each(CASES)('%s with conversion %s: %s round-trips, Dataverse keeps %s', async (name, mode, local, wire) => {
    const field = findField(contact, name)!;
    const remote = toRemoteValue(local, field, mode, ZONE)._unsafeUnwrap();
    const [written] = (await harness.connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: { lastname: `${name} ${mode}`, [name]: remote } }] }))._unsafeUnwrap();
    expect(written).toMatchObject({ ok: true });
    const id = (written as { id: string }).id;

    harness.emulator.resetCounters();
    const response = await fetch(`${harness.emulator.apiBase}contacts(${id})?$select=${name}`, { headers: { Authorization: `Bearer ${await bearer()}` } });
    expect(((await response.json()) as Record<string, unknown>)[name]).toBe(wire);

    const page = (await harness.connector.query({ object: 'contact', fields: [name], ids: [id] }))._unsafeUnwrap();
    const read = page.records[0]!.values[name] as FieldValue;
    const back = toLocalValue(read, field, mode, ZONE)._unsafeUnwrap();
    expect(back).toBe(local);
  });
});

/** A token straight from the emulator's token endpoint, to read what Dataverse stored. */
async function bearer(): Promise<string> {
  const { credentials, tokenUrl, url } = harness.emulator;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret!, scope: `${url}/.default` });
  const response = await fetch(tokenUrl, { method: 'POST', body });
  return ((await response.json()) as { access_token: string }).access_token;
}
