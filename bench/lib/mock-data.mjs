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

/** Local rows for an export: key `k-<i>`, local field names of {@link EXPORT_FIELDS}. */
export function localRows(count) {
  const rows = [];
  for (let i = 0; i < count; i += 1) {
    rows.push({
      key: `k-${i}`,
      values: { first_name: `First${i % 997}`, last_name: `Last-${i}`, email: `person.${i}@example.com`, phone: '+33 1 23 45 67 89', score: (i % 1000) / 10, do_not_call: i % 7 === 0 },
    });
  }
  return rows;
}

/**
 * A read-only local table over an array, read in batches, that counts the CRM ids linked back
 * (an application would store them; keeping a count costs nothing, so only crm-sync shows).
 */
export class ArraySource {
  linked = 0;
  constructor(rows) {
    this.rows = rows;
  }
  async *read(_table, options = {}) {
    const batchSize = options.batchSize ?? 1000;
    for (let offset = 0; offset < this.rows.length; offset += batchSize) yield this.rows.slice(offset, offset + batchSize);
  }
  async linkCrmIds(_table, links) {
    this.linked += links.length;
  }
}

/** The export mapping onto the mock `contact` (local name -> remote field). */
export const MOCK_EXPORT_FIELDS = [
  { remote: 'firstName', local: 'first_name' },
  { remote: 'lastName', local: 'last_name' },
  { remote: 'email', local: 'email' },
  { remote: 'phone', local: 'phone' },
  { remote: 'score', local: 'score' },
  { remote: 'doNotCall', local: 'do_not_call' },
];
