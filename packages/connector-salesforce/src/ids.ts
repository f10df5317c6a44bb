/**
 * Salesforce record ids: 15-character case-sensitive and 18-character case-insensitive forms.
 *
 * Ids reach SOQL (`Id IN (...)`, keyset cursors) and URLs (`DELETE ?ids=`), so every id is checked
 * here first: a malformed id is refused before it can change a query or a path. The checksum is
 * Salesforce's published algorithm; no installed library implements it, hence this small file.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';

const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID15 = /^[a-zA-Z0-9]{15}$/;
const ID18 = /^[a-zA-Z0-9]{18}$/;

/** The regular expression (source text) every Salesforce id matches; for `capabilities.idPattern`. */
export const SALESFORCE_ID_PATTERN = '^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$';

/** The three-character checksum Salesforce appends to a 15-character id. */
export function salesforceIdChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const ch = id15.charAt(chunk * 5 + i);
      if (ch >= 'A' && ch <= 'Z') bits |= 1 << i;
    }
    suffix += CHECKSUM_ALPHABET.charAt(bits);
  }
  return suffix;
}

/** Restores the case of the first 15 characters of an 18-character id from its checksum. */
function restoreCase(id18: string): string {
  const suffix = id18.slice(15).toUpperCase();
  let restored = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = CHECKSUM_ALPHABET.indexOf(suffix.charAt(chunk));
    for (let i = 0; i < 5; i++) {
      const ch = id18.charAt(chunk * 5 + i);
      restored += bits & (1 << i) ? ch.toUpperCase() : ch.toLowerCase();
    }
  }
  return restored;
}

/**
 * Validates a 15- or 18-character id and returns its canonical 18-character form. An 18-character
 * id whose checksum does not match its first 15 characters (in any letter case) is refused.
 */
export function toCanonicalSalesforceId(id: string): Result<string, string> {
  if (ID15.test(id)) return ok(id + salesforceIdChecksum(id));
  if (!ID18.test(id)) {
    return err(`"${id.slice(0, 40)}" is not a Salesforce id: use the 15- or 18-character id from the record's Id field`);
  }
  const suffix = id.slice(15).toUpperCase();
  if ([...suffix].some((ch) => !CHECKSUM_ALPHABET.includes(ch))) {
    return err(`"${id}" is not a Salesforce id: its last three characters are not a valid checksum`);
  }
  const head = id.slice(0, 15);
  if (salesforceIdChecksum(head) === suffix) return ok(head + suffix);
  const restored = restoreCase(id);
  if (salesforceIdChecksum(restored) === suffix && restored.toLowerCase() === head.toLowerCase()) return ok(restored + suffix);
  return err(`"${id}" is not a Salesforce id: the checksum does not match; copy the id again from Salesforce`);
}

/** True when `id` is a valid 15- or 18-character Salesforce id. */
export function isSalesforceId(id: string): boolean {
  return toCanonicalSalesforceId(id).isOk();
}
