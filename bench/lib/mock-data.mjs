/**
 * Seeds the in-memory CRM of `@crm-sync/connector-mock` with contacts, and the 12-field mapping
 * scenario 1 imports (2 date-times with default conversion, 1 date-only).
 */
import { InMemoryCrm, ManualClock } from '@crm-sync/connector-mock';

/** The remote fields read and their local names: 12 fields. */
export const CONTACT_FIELDS = [
  { remote: 'id', local: 'crm_id' },
  { remote: 'externalKey', local: 'external_key' },
  { remote: 'createdAt', local: 'created_at' },
  { remote: 'updatedAt', local: 'updated_at' },
  { remote: 'firstName', local: 'first_name' },
  { remote: 'lastName', local: 'last_name' },
  { remote: 'email', local: 'email' },
  { remote: 'phone', local: 'phone' },
  { remote: 'birthDate', local: 'birth_date', conversion: 'date-only' },
  { remote: 'score', local: 'score' },
  { remote: 'doNotCall', local: 'do_not_call' },
  { remote: 'status', local: 'status' },
];

/** A contact's values for row `i`: deterministic, realistic lengths. */
export function contactValues(i) {
  return {
    firstName: `First${i % 997}`,
    lastName: `Last-${i}`,
    email: `person.${i}@example.com`,
    phone: `+33 1 ${String(i % 100).padStart(2, '0')} 45 67 89`,
    birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    score: (i % 1000) / 10,
    doNotCall: i % 7 === 0,
    status: i % 3 === 0 ? 'Active' : 'New',
    externalKey: `ext-${i}`,
  };
}

/** A mock CRM (standard schemas) holding `count` contacts, each stamped 1 ms after the previous one. */
export function seededMockCrm(count) {
  const clock = new ManualClock('2024-01-01T00:00:00.000Z');
  const crm = new InMemoryCrm({ clock });
  for (let i = 0; i < count; i += 1) {
    const outcome = crm.insert('contact', contactValues(i));
    if (!outcome.ok) throw new Error(`[crm-sync] [bench] seeding contact ${i} was rejected: ${outcome.reject.message}`);
    clock.advance(1);
  }
  return crm;
}
