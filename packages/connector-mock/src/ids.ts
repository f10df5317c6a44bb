/**
 * CRM-style record ids: readable mock ids, valid Salesforce ids and v4-shaped GUIDs, all
 * deterministic so that tests and benchmarks repeat exactly.
 *
 * @module
 */
import type { MockIdFormat, MockObjectSchema } from './schema.js';
import { createSeededRandom } from './seeded-random.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/**
 * The 3-character case-safe suffix Salesforce appends to a 15-character id: for each block of
 * five characters, a 5-bit mask of which characters are upper-case letters, read in a 32-letter
 * alphabet. Written here because it is a few lines and no maintained package provides it.
 */
export function salesforceIdChecksum(id15: string): string {
  let suffix = '';
  for (let block = 0; block < 3; block++) {
    let mask = 0;
    for (let position = 0; position < 5; position++) {
      const char = id15.charCodeAt(block * 5 + position);
      if (char >= 65 && char <= 90) mask |= 1 << position;
    }
    suffix += CHECKSUM_ALPHABET[mask];
  }
  return suffix;
}

/** True when `id` is an 18-character Salesforce id whose suffix matches its first 15 characters. */
export function isValidSalesforceId(id: string): boolean {
  return /^[a-zA-Z0-9]{18}$/.test(id) && salesforceIdChecksum(id.slice(0, 15)) === id.slice(15);
}

/** Restores the letter case of an 18-character id's first 15 characters from its suffix. */
function restoreSalesforceCase(id18: string, suffix: string): string {
  let restored = '';
  for (let block = 0; block < 3; block++) {
    const mask = CHECKSUM_ALPHABET.indexOf(suffix.charAt(block));
    for (let position = 0; position < 5; position++) {
      const char = id18.charAt(block * 5 + position);
      restored += mask & (1 << position) ? char.toUpperCase() : char.toLowerCase();
    }
  }
  return restored;
}

const GUID_ANY_CASE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The canonical form of an id in `format`, the way the CRM it imitates compares ids: Salesforce
 * ids as 18 characters (a 15-character id gains its suffix; an 18-character id in any letter case
 * gets the case its suffix encodes), GUIDs in lower case, mock ids as they are. A string that is
 * not such an id comes back unchanged.
 */
export function canonicalMockId(format: MockIdFormat, id: string): string {
  if (format === 'guid') return GUID_ANY_CASE.test(id) ? id.toLowerCase() : id;
  if (format !== 'salesforce') return id;
  if (/^[a-zA-Z0-9]{15}$/.test(id)) return id + salesforceIdChecksum(id);
  if (!/^[a-zA-Z0-9]{18}$/.test(id)) return id;
  const suffix = id.slice(15).toUpperCase();
  if ([...suffix].some((char) => !CHECKSUM_ALPHABET.includes(char))) return id;
  const body = restoreSalesforceCase(id, suffix);
  return salesforceIdChecksum(body) === suffix ? body + suffix : id;
}

/** Regular-expression sources matching each id format (for `ConnectorCapabilities.idPattern`). */
export const ID_PATTERNS: Readonly<Record<MockIdFormat, string>> = {
  mock: '^[A-Za-z0-9_]+-\\d{6,}$',
  salesforce: '^[a-zA-Z0-9]{18}$',
  guid: '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
};

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function toBase62(value: number, width: number): string {
  let text = '';
  let rest = value;
  while (rest > 0) {
    text = BASE62[rest % 62] + text;
    rest = Math.floor(rest / 62);
  }
  return text.padStart(width, '0');
}

/** Mints ids for one object, in sequence. */
export type IdGenerator = () => string;

/**
 * Creates the id generator of one object. `mock` ids are `<PREFIX>-<sequence>` (`CON-000001`);
 * `salesforce` ids are the key prefix, a pod chosen by the seed, and a base-62 sequence, with the
 * checksum; `guid` ids come from a PRNG seeded by `seed` and the object name.
 */
export function createIdGenerator(schema: MockObjectSchema, seed: number): IdGenerator {
  let sequence = 0;
  if (schema.idFormat === 'mock') {
    const prefix = schema.idPrefix ?? (schema.name.replace(/[^A-Za-z0-9]/g, '').slice(0, 3).toUpperCase() || 'REC');
    return () => `${prefix}-${String(++sequence).padStart(6, '0')}`;
  }
  // Whole 32-bit values: the generator's fractions are n / 2^32, so this gives n back exactly.
  const seededFraction = createSeededRandom(seed ^ hashName(schema.name));
  const random = (): number => Math.floor(seededFraction() * 2 ** 32);
  if (schema.idFormat === 'salesforce') {
    const keyPrefix = (schema.idPrefix ?? 'a00').padEnd(3, '0').slice(0, 3);
    // Characters 4-5 name the pod and character 6 is reserved; real ids look like `003Dn0000012abc`.
    const pod = toBase62(36 + (random() % (62 * 62 - 36)), 2);
    return () => {
      const id15 = `${keyPrefix}${pod}0${toBase62(++sequence, 9)}`;
      return id15 + salesforceIdChecksum(id15);
    };
  }
  return () => {
    const a = random();
    const b = random();
    const c = random();
    const d = random();
    const hex = hex32(a) + hex32(b) + hex32(c) + hex32(d);
    const variant = '89ab'[parseInt(hex[16] ?? '0', 16) & 3];
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
}

/** FNV-1a, so that each object gets its own GUID stream from one seed. */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
