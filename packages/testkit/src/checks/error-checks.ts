/**
 * Checks of the error taxonomy through the harness's fault injection: a revoked credential is kind
 * `auth` and not retryable; an expired token is refreshed; a rate limit is kind `rate-limited`,
 * retryable, with a `retryAfterMs` that ends when the CRM said (Retry-After or a reset time).
 *
 * @module
 */
import { MemoryExportJournal, MemoryOptionStore, MemoryRecordStore, Orchestrator, type CrmError, type ExportJob } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS, type CheckScope } from './define-check.js';
import { describeFixtureObject } from './read-helpers.js';

/** Whole seconds, because HTTP Retry-After carries seconds. */
const RETRY_AFTER_MS = 2000;
/** A wait may end up to this long after the announced time (a reset time rounded up to a second). */
const RESET_SLACK_MS = 1000;

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

/** A revoked credential surfaces as kind `auth`, not retryable. */
const errorAuth = defineCheck({
  id: 'errors/auth-not-retryable',
  group: 'errors',
  title: "a revoked credential fails with kind 'auth', not retryable (even after a token refresh)",
  async body(scope) {
    const inject = scope.fixtures.injectAuthFailure ?? scope.skip('the harness cannot revoke the credential (fixtures.injectAuthFailure is not set)');
    const description = await describeFixtureObject(scope);
    await inject.call(scope.fixtures);
    const error = await scope.expectErr(probeQuery(scope, description.primaryKey), 'query after the credential was revoked');
    if (error.kind !== 'auth') scope.fail(FAILURE_KINDS.wrongErrorKind, `a revoked credential surfaced as kind '${error.kind}', expected 'auth': ${error.message}`);
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
    const before = Date.now();
    await inject.call(scope.fixtures, 1, RETRY_AFTER_MS);
    const error = await scope.expectErr(probeQuery(scope, description.primaryKey), 'query after an injected rate limit');
    const elapsed = Date.now() - before;
    if (error.kind !== 'rate-limited') scope.fail(FAILURE_KINDS.wrongErrorKind, `an injected rate limit surfaced as kind '${error.kind}', expected 'rate-limited': ${error.message}`);
    if (!error.retryable) scope.fail(FAILURE_KINDS.wrongErrorKind, 'a rate-limited error (quota not exhausted) must be retryable');
    // The CRM may announce the wait in whole seconds or as a reset time rounded up to a second:
    // the wait must end no earlier than announced and at most one second after.
    const low = RETRY_AFTER_MS - elapsed;
    const high = RETRY_AFTER_MS + RESET_SLACK_MS + elapsed;
    if (error.retryAfterMs === undefined || error.retryAfterMs < low || error.retryAfterMs > high) {
      scope.fail(FAILURE_KINDS.wrongValue, `rate-limited error has retryAfterMs ${String(error.retryAfterMs)}; the CRM announced a wait of ${RETRY_AFTER_MS} ms, so it must lie in [${low}, ${high}]`);
    }
    expectPrefixed(scope, error.message);
    expectNoSecrets(scope, error, 'rate-limited error');
    await scope.expectOk(probeQuery(scope, description.primaryKey), 'query after the one injected rate limit');
  },
});

/** An expired access token is refreshed: the next call succeeds. */
const errorTokenExpired = defineCheck({
  id: 'errors/expired-token-refreshed',
  group: 'errors',
  title: 'after the CRM expires the access token, the next call refreshes it and succeeds',
  async body(scope) {
    const expire = scope.fixtures.expireToken ?? scope.skip('the CRM has no expiring tokens, or the harness cannot expire one (fixtures.expireToken is not set)');
    const description = await describeFixtureObject(scope);
    await scope.expectOk(probeQuery(scope, description.primaryKey), 'query before the token expired');
    await expire.call(scope.fixtures);
    const settled = await probeQuery(scope, description.primaryKey);
    if (settled.isErr()) {
      scope.fail(FAILURE_KINDS.unexpectedError, `the first call after the access token expired failed (${settled.error.kind}: ${settled.error.message}); on the CRM's "token expired" answer, get a new token and send the call again`);
    }
    await scope.expectOk(probeQuery(scope, description.primaryKey), 'a second query after the refresh');
  },
});

/**
 * A rate limit announced as an absolute reset time in the CRM's own header: the wait ends between
 * the reset and one second after it, so the connector must read that header.
 */
const errorRateLimitReset = defineCheck({
  id: 'errors/rate-limit-reset-time',
  group: 'errors',
  title: "a rate limit announced as an absolute reset time in the CRM's header gives a retryAfterMs that ends between the reset and one second after",
  async body(scope) {
    const announce = scope.fixtures.rateLimitReset ?? scope.skip('the CRM announces no reset time, or the harness cannot inject one (fixtures.rateLimitReset is not set)');
    const description = await describeFixtureObject(scope);
    const before = Date.now();
    const resetAt = Math.ceil((before + RETRY_AFTER_MS) / 1000) * 1000;
    await announce.inject(1, new Date(resetAt).toISOString());
    const error = await scope.expectErr(probeQuery(scope, description.primaryKey), `query after a rate limit announced in ${announce.header}`);
    const received = Date.now();
    if (error.kind !== 'rate-limited') scope.fail(FAILURE_KINDS.wrongErrorKind, `a rate limit announced in ${announce.header} surfaced as kind '${error.kind}', expected 'rate-limited': ${error.message}`);
    if (!error.retryable) scope.fail(FAILURE_KINDS.wrongErrorKind, 'a rate-limited error (quota not exhausted) must be retryable');
    const wait = error.retryAfterMs ?? scope.fail(FAILURE_KINDS.wrongValue, `the CRM announced the reset at ${new Date(resetAt).toISOString()} in ${announce.header} (and sent no Retry-After), but the error has no retryAfterMs: read ${announce.header}`);
    // The connector computed the wait at some moment between `before` and `received`.
    if (received + wait < resetAt) scope.fail(FAILURE_KINDS.wrongValue, `retryAfterMs ${wait} ends before the reset the CRM announced in ${announce.header} (${new Date(resetAt).toISOString()})`);
    if (before + wait > resetAt + RESET_SLACK_MS) scope.fail(FAILURE_KINDS.wrongValue, `retryAfterMs ${wait} ends more than ${RESET_SLACK_MS} ms after the reset announced in ${announce.header} (${new Date(resetAt).toISOString()})`);
    expectPrefixed(scope, error.message);
    expectNoSecrets(scope, error, 'rate-limited error');
    await scope.expectOk(probeQuery(scope, description.primaryKey), 'query after the one injected rate limit');
  },
});

/** Records the refused-connection check exports. */
const REFUSED_RECORDS = 3;

/**
 * A refused connection sent nothing: an insert export through the orchestrator fails with a
 * retryable error, not "in doubt", its journal holds no entry in doubt, and the next run (the CRM
 * back) creates every record exactly once without a resend/skip decision.
 */
const errorRefusedConnection = defineCheck({
  id: 'errors/refused-connection-not-in-doubt',
  group: 'errors',
  title: 'a refused connection is a plain retryable error: an insert export is not in doubt and the next run creates each record once',
  async body(scope) {
    const refuse = scope.fixtures.refuseConnections ?? scope.skip('the harness cannot refuse connections (fixtures.refuseConnections is not set; an in-process CRM has none to refuse)');
    await describeFixtureObject(scope);
    const options = new MemoryOptionStore();
    const journal = new MemoryExportJournal();
    const records = new MemoryRecordStore(options);
    const marker = Date.now() % 1_000_000;
    const seeded = Array.from({ length: REFUSED_RECORDS }, (_, i) => scope.fixtures.newRecord(900_000_000 + marker * 10 + i));
    seeded.forEach((values, i) => records.put('refused', `r${i}`, { ...values }));
    const fields = Object.keys(seeded[0] ?? {}).map((name) => ({ local: name, remote: name }));
    const orchestrator = new Orchestrator({ connector: scope.connector, options, journal, sink: records, source: records, runtime: { retry: { retries: 1, minDelayMs: 0, maxDelayMs: 0 } } });
    const job: ExportJob = { kind: 'export', activity: 'refusedConnectionCheck', object: scope.fixtures.object, table: 'refused', mode: 'insert', fields };
    const restore = await refuse.call(scope.fixtures);
    let restored = false;
    try {
      // The connector itself, without the runtime's safety net: its own error must not be in doubt.
      const direct = await scope.expectErr(scope.connector.upsertBatch({ object: scope.fixtures.object, mode: 'insert', records: [{ values: { ...seeded[0] } }] }), 'insert against a refused connection');
      if (direct.inDoubt === true) scope.fail(FAILURE_KINDS.wrongErrorKind, `the connector marked an insert against a refused connection as in doubt, although nothing was sent: ${direct.message}; map connect-phase failures (ECONNREFUSED, DNS, unreachable, TLS handshake; unwrap 'fetch failed' causes with networkFailure) to a retryable error without inDoubt`);
      if (!direct.retryable) scope.fail(FAILURE_KINDS.wrongErrorKind, `a refused connection must be retryable: ${direct.message}`);
      const failed = await orchestrator.runExport(job);
      const error = failed.isErr() ? failed.error : scope.fail(FAILURE_KINDS.wrongErrorKind, 'an export against a refused connection succeeded: refuseConnections() did not refuse them');
      if (error.kind === 'in-doubt') scope.fail(FAILURE_KINDS.wrongErrorKind, `an export against a refused connection stopped as in doubt, although nothing was sent: ${error.message}; map connect-phase failures (ECONNREFUSED, DNS, unreachable, TLS handshake; unwrap 'fetch failed' causes with networkFailure) to a retryable error without inDoubt`);
      for (const run of await journal.listRuns()) {
        const states = await journal.countByState(run.runId);
        if (states.sent + states.unknown > 0) scope.fail(FAILURE_KINDS.wrongOutcome, `the journal holds ${states.sent + states.unknown} entries in doubt after a refused connection; nothing was sent, so none may be`);
      }
      expectPrefixed(scope, error.message);
      expectNoSecrets(scope, error as unknown as CrmError, 'refused-connection error');
      await restore();
      restored = true;
      const again = await orchestrator.runExport(job);
      const summary = again.isOk() ? again.value : scope.fail(FAILURE_KINDS.unexpectedError, `the export after connections came back failed: ${again.error.message}`);
      if (summary.created !== REFUSED_RECORDS) scope.fail(FAILURE_KINDS.wrongOutcome, `the export after connections came back created ${summary.created} records, expected ${REFUSED_RECORDS} (each exactly once)`);
      const ids = records.rows('refused').map((row) => row.crmId);
      if (ids.some((id) => id === undefined) || new Set(ids).size !== REFUSED_RECORDS) scope.fail(FAILURE_KINDS.wrongOutcome, `the local rows were not each linked to one new CRM record: ${ids.join(', ')}`);
    } finally {
      if (!restored) await restore();
    }
  },
});

/** The errors group, in run order. */
export const errorChecks = [errorAuth, errorTokenExpired, errorRateLimited, errorRateLimitReset, errorRefusedConnection] as const;
