/**
 * Canary secrets (scenario S25): unique random values per secret kind, matched by value (not by
 * key name) in every encoding a leak could take.
 */
import { randomBytes } from 'node:crypto';

/** A fresh canary for one secret kind, e.g. `canary-password-<24 hex>`. */
export function canary(kind: string): string {
  return `canary-${kind}-${randomBytes(12).toString('hex')}`;
}

/** The forms a secret can leak in: as is, base64, base64url, percent-encoded, JSON-escaped. */
export function leakForms(secret: string): string[] {
  const forms = new Set([secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  // A long secret (a private key) also leaks as any one of its lines.
  for (const line of secret.split('\n')) if (line.length >= 32 && !line.startsWith('-----')) forms.add(line);
  return [...forms].filter((form) => form.length >= 8);
}

/** Where a secret was found: the sink's name and a short excerpt with the secret masked. */
export interface Leak {
  readonly sink: string;
  readonly secretKind: string;
  readonly excerpt: string;
}

/** Finds every secret of `secrets` in every text of `sinks`. */
export function findLeaks(secrets: Readonly<Record<string, string>>, sinks: Readonly<Record<string, readonly string[]>>): Leak[] {
  const leaks: Leak[] = [];
  for (const [sink, texts] of Object.entries(sinks)) {
    for (const text of texts) {
      for (const [secretKind, secret] of Object.entries(secrets)) {
        for (const form of leakForms(secret)) {
          const at = text.indexOf(form);
          if (at >= 0) leaks.push({ sink, secretKind, excerpt: `${text.slice(Math.max(0, at - 60), at)}<${secretKind}>${text.slice(at + form.length, at + form.length + 40)}` });
        }
      }
    }
  }
  return leaks;
}
