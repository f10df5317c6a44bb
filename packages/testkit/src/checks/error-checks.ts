/**
 * Checks of the error taxonomy through the harness's fault injection: an auth failure is kind
 * `auth` and not retryable; a rate limit is kind `rate-limited`, retryable, with `retryAfterMs`.
 *
 * @module
 */
import type { CrmError } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS, type CheckScope } from './define-check.js';
import { describeFixtureObject } from './read-helpers.js';

/** Whole seconds, because HTTP Retry-After carries seconds. */
const RETRY_AFTER_MS = 2000;

/** A call that never hits a connector-side cache (unlike describe), so the injected fault is seen. */
function probeQuery(scope: CheckScope, primaryKey: string) {
  return scope.connector.query({ object: scope.fixtures.object, fields: [primaryKey], pageSize: 1 });
}

function expectPrefixed(scope: CheckScope, message: string): void {
  if (!message.startsWith('[crm-sync] [')) scope.fail(FAILURE_KINDS.wrongShape, `error message is not prefixed '[crm-sync] [<connector>]': ${message}`);
}

/** Fails when any of the fixtures' secrets appears anywhere in the error (including its cause). */
function expectNoSecrets(scope: CheckScope, error: CrmError, what: string): void {
  const text = safeStringify(error);
  const leaked = (scope.fixtures.secrets ?? []).filter((secret) => secret.length > 0 && text.includes(secret));
  // The detail names how many leaked, never the secret itself.
  if (leaked.length > 0) scope.fail(FAILURE_KINDS.secretLeaked, `${what}: ${leaked.length} of the fixtures' secrets appear in the error; redact them (registerSecret/redact)`);
}

function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Error) return { name: item.name, message: item.message, stack: item.stack, cause: item.cause };
    if (typeof item === 'object' && item !== null) {
      if (seen.has(item)) return '[Circular]';
      seen.add(item);
    }
    return item;
  });
}

/** Refused credentials surface as kind `auth`, not retryable. */
const errorAuth = defineCheck({
  id: 'errors/auth-not-retryable',
  group: 'errors',
  title: "refused credentials fail with kind 'auth', not retryable",
  async body(scope) {
    const inject = scope.fixtures.injectAuthFailure ?? scope.skip('the harness cannot inject an auth failure (fixtures.injectAuthFailure is not set)');
    const description = await describeFixtureObject(scope);
    await inject.call(scope.fixtures);
    const error = await scope.expectErr(probeQuery(scope, description.primaryKey), 'query after an injected auth failure');
    if (error.kind !== 'auth') scope.fail(FAILURE_KINDS.wrongErrorKind, `an injected auth failure surfaced as kind '${error.kind}', expected 'auth': ${error.message}`);
    if (error.retryable) scope.fail(FAILURE_KINDS.wrongErrorKind, 'an auth error must not be retryable');
    expectPrefixed(scope, error.message);
    expectNoSecrets(scope, error, 'auth error');
  },
});

/** A 429 surfaces as kind `rate-limited`, retryable, carrying Retry-After; the next call succeeds. */
const errorRateLimited = defineCheck({
  id: 'errors/rate-limited-retryable',
  group: 'errors',
  title: "a rate limit fails with kind 'rate-limited', retryable, with retryAfterMs, and the next call succeeds",
  async body(scope) {
    const inject = scope.fixtures.injectRateLimit ?? scope.skip('the harness cannot inject a rate limit (fixtures.injectRateLimit is not set)');
    const description = await describeFixtureObject(scope);
    await inject.call(scope.fixtures, 1, RETRY_AFTER_MS);
    const error = await scope.expectErr(probeQuery(scope, description.primaryKey), 'query after an injected rate limit');
    if (error.kind !== 'rate-limited') scope.fail(FAILURE_KINDS.wrongErrorKind, `an injected rate limit surfaced as kind '${error.kind}', expected 'rate-limited': ${error.message}`);
    if (!error.retryable) scope.fail(FAILURE_KINDS.wrongErrorKind, 'a rate-limited error (quota not exhausted) must be retryable');
    if (error.retryAfterMs !== RETRY_AFTER_MS) {
      scope.fail(FAILURE_KINDS.wrongValue, `rate-limited error has retryAfterMs ${String(error.retryAfterMs)}, the CRM said ${RETRY_AFTER_MS} ms`);
    }
    expectPrefixed(scope, error.message);
    expectNoSecrets(scope, error, 'rate-limited error');
    await scope.expectOk(probeQuery(scope, description.primaryKey), 'query after the one injected rate limit');
  },
});

/** The errors group, in run order. */
export const errorChecks = [errorAuth, errorRateLimited] as const;
