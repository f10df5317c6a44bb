/**
 * A token issuer for a fake CRM: access tokens with an expiry, which a test can expire early
 * (the connector must refresh) or revoke with their credential (the connector must give up).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** What {@link FakeTokenIssuer.verify} says about a presented token. */
export type FakeTokenState = 'valid' | 'expired' | 'revoked' | 'unknown';

/** An issued access token. */
export interface FakeToken {
  /** The bearer token. */
  readonly token: string;
  /** Seconds until it expires (what an OAuth token answer calls `expires_in`). */
  readonly expiresIn: number;
}

/** Options of {@link FakeTokenIssuer}. */
export interface FakeTokenIssuerOptions {
  /** Credentials (API keys, client secrets) the issuer accepts. */
  readonly credentials: readonly string[];
  /** Lifetime of a token in milliseconds. Default one hour. */
  readonly ttlMs?: number;
  /** The issuer's clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** Issues, checks, expires and revokes bearer tokens. */
export class FakeTokenIssuer {
  private readonly tokens = new Map<string, { credential: string; expiresAt: number }>();
  private readonly accepted: Set<string>;
  private readonly revoked = new Set<string>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** How many tokens were issued since the last reset (a refresh test reads it). */
  issued = 0;

  /** @param options the accepted credentials, lifetime and clock. */
  constructor(options: FakeTokenIssuerOptions) {
    this.accepted = new Set(options.credentials);
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  /** A new token for `credential`, or `undefined` when the credential is unknown or revoked. */
  issue(credential: string): FakeToken | undefined {
    if (!this.accepted.has(credential) || this.revoked.has(credential)) return undefined;
    const token = `tok_${randomBytes(12).toString('hex')}`;
    this.tokens.set(token, { credential, expiresAt: this.now() + this.ttlMs });
    this.issued += 1;
    return { token, expiresIn: Math.floor(this.ttlMs / 1000) };
  }

  /** Checks a bearer token (with or without the `Bearer ` prefix). */
  verify(presented: string | undefined): FakeTokenState {
    const token = presented?.replace(/^Bearer\s+/i, '') ?? '';
    const entry = this.tokens.get(token);
    if (!entry) return 'unknown';
    if (this.revoked.has(entry.credential)) return 'revoked';
    return entry.expiresAt <= this.now() ? 'expired' : 'valid';
  }

  /** Expires every token issued so far (the credential stays good: a refresh succeeds). */
  expireAll(): void {
    for (const entry of this.tokens.values()) entry.expiresAt = Math.min(entry.expiresAt, this.now());
  }

  /** Revokes a credential and every token issued for it: no refresh can succeed. */
  revoke(credential: string): void {
    this.revoked.add(credential);
  }

  /** Forgets tokens and revocations. */
  reset(): void {
    this.tokens.clear();
    this.revoked.clear();
    this.issued = 0;
  }
}
