/**
 * Deterministic sample data for the demo and for `mock: { seed: demo }` accounts: accounts and
 * contacts with realistic names, a few contacts missing an email, and batches of contacts that
 * share one change timestamp (the case that breaks naive incremental imports).
 *
 * @module
 */
import type { FieldValues, Instant } from '@crm-sync/sdk';
import { createSeededRandom, type InMemoryCrm } from '@crm-sync/connector-mock';
import { MOCK_PROFILE, type DemoProfile } from './demo-profile.js';

const FIRST_NAMES = ['Anna', 'Bram', 'Chloé', 'Daan', 'Emma', 'Finn', 'Grace', 'Hugo', 'Isabel', 'Jesse', 'Kiki', 'Lars', 'Mila', 'Noah', 'Olivia', 'Pieter', 'Quinn', 'Ruben', 'Sara', 'Thijs', 'Uma', 'Vince', 'Wout', 'Xena', 'Yara', 'Zoë'];
const LAST_NAMES = ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Janssen', 'Visser', 'Smit', 'Meijer', 'de Boer', 'Mulder', 'de Groot', 'Bos', 'Vos', 'Peters', 'Hendriks', 'van Leeuwen', 'Dekker', 'Brouwer', "O'Neill", 'Müller', 'García', 'Dubois'];
const COMPANY_WORDS = ['Noord', 'Zuid', 'Delta', 'Polder', 'Tulip', 'Harbor', 'Canal', 'Windmill', 'Dune', 'Lowland', 'Orange', 'Blue'];
const COMPANY_KINDS = ['Logistics', 'Foods', 'Energy', 'Bank', 'Retail', 'Software', 'Health', 'Media'];

/** What {@link seedSampleData} created. */
export interface SampleDataCounts {
  readonly accounts: number;
  readonly contacts: number;
  /** Contacts without an email (they import fine; a filter on email skips them). */
  readonly contactsWithoutEmail: number;
  /** Contacts whose change time is shared with at least one other contact. */
  readonly contactsSharingTimestamps: number;
}

/** How much data to make and when it was last changed. */
export interface SampleDataOptions {
  readonly contacts: number;
  /** The newest change time: every record is stamped within the 30 days before it. */
  readonly until: Date;
  /** Seeds the pseudo-random choices, so every run makes the same data. */
  readonly seed?: number;
  /** Object and field names; default the mock CRM's. */
  readonly profile?: DemoProfile;
}

/** Fills `crm` with sample accounts and contacts. Deterministic for a given seed and `until`. */
export function seedSampleData(crm: InMemoryCrm, options: SampleDataOptions): SampleDataCounts {
  const profile = options.profile ?? MOCK_PROFILE;
  const random = createSeededRandom(options.seed ?? 20121101);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const untilMs = options.until.getTime();
  const stamp = (ms: number): Instant => new Date(ms).toISOString();
  const accountCount = Math.max(5, Math.round(options.contacts / 6));
  const accountIds: string[] = [];
  for (let index = 0; index < accountCount; index += 1) {
    const name = `${pick(COMPANY_WORDS)} ${pick(COMPANY_KINDS)} ${index + 1}`;
    const at = stamp(untilMs - 40 * 86_400_000 + index * 60_000);
    const fields = profile.accountFields;
    const values: FieldValues = {
      [fields.name]: name,
      [profile.syncKey]: `ACC-EXT-${String(index + 1).padStart(5, '0')}`,
      [fields.industry]: pick(profile.industryValues),
      [fields.annualRevenue]: Math.round(random() * 50_000_000) / 100,
      [fields.employees]: 5 + Math.floor(random() * 5000),
    };
    if (fields.website !== undefined) values[fields.website] = `https://www.${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    if (fields.active !== undefined) values[fields.active] = random() > 0.1;
    const outcome = crm.insert(profile.account, values, { at });
    if (outcome.ok) accountIds.push(outcome.id);
  }
  let withoutEmail = 0;
  let sharing = 0;
  const spanMs = 30 * 86_400_000;
  for (let index = 0; index < options.contacts; index += 1) {
    const firstName = pick(FIRST_NAMES);
    const lastName = pick(LAST_NAMES);
    // Every 40th block of 25 contacts was changed by one bulk update: one shared timestamp.
    const block = Math.floor(index / 25);
    const shared = block % 40 === 7;
    const changedMs = shared
      ? untilMs - spanMs + block * 25 * Math.floor(spanMs / options.contacts)
      : untilMs - spanMs + index * Math.floor(spanMs / options.contacts) + Math.floor(random() * 1000);
    if (shared) sharing += 1;
    const hasEmail = random() > 0.02;
    if (!hasEmail) withoutEmail += 1;
    const fields = profile.contactFields;
    // No sync key on CRM-born contacts: the export writes it when it links a local row.
    const values: FieldValues = {
      [fields.firstName]: firstName,
      [fields.lastName]: lastName,
      [fields.email]: hasEmail ? `${firstName}.${lastName}.${index + 1}`.toLowerCase().normalize('NFD').replace(/[^a-z0-9.]/g, '') + '@example.com' : null,
      [fields.birthDate]: `${1950 + Math.floor(random() * 50)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
      [fields.status]: pick(profile.statusValues),
    };
    // Drawn whether or not the CRM has the field, so every CRM gets the same people.
    const optional: Record<string, FieldValues[string]> = {
      phone: `+31 6 ${String(10_000_000 + Math.floor(random() * 89_999_999))}`,
      score: Math.round(random() * 10_000) / 100,
      doNotCall: random() < 0.05,
      accountId: accountIds.length === 0 ? null : pick(accountIds),
      lastActivityAt: stamp(changedMs - Math.floor(random() * 10 * 86_400_000)),
    };
    for (const [key, value] of Object.entries(optional)) {
      const field = fields[key as keyof typeof fields];
      if (field !== undefined) values[field] = value ?? null;
    }
    crm.insert(profile.contact, values, { at: stamp(changedMs) });
  }
  return { accounts: accountIds.length, contacts: options.contacts, contactsWithoutEmail: withoutEmail, contactsSharingTimestamps: sharing };
}
