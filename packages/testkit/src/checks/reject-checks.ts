/**
 * The reject-code check: every reject the fixture can provoke comes back with the code the CRM's
 * answer means (validation, duplicate, not found, ...), and `unknown` only where the fixture says
 * the CRM's answer carries nothing more.
 *
 * @module
 */
import { defineCheck, FAILURE_KINDS } from './define-check.js';

const rejectCodesMapped = defineCheck({
  id: 'upsert/reject-codes-mapped',
  group: 'upsert',
  title: "every reject the CRM gives maps to its reject code, and 'unknown' only where the fixture declares it",
  async body(scope) {
    const cases = scope.fixtures.rejectCases ?? scope.skip('fixtures.rejectCases is not set (the rejects the harness can provoke)');
    if (cases.length === 0) scope.skip('fixtures.rejectCases is empty');
    const wrong: string[] = [];
    for (const rejectCase of cases) {
      const request = await rejectCase.arrange();
      const outcomes = await scope.expectOk(scope.connector.upsertBatch(request), `${request.mode} for '${rejectCase.what}'`);
      if (outcomes.length !== request.records.length) {
        scope.fail(FAILURE_KINDS.wrongOutcome, `'${rejectCase.what}': ${outcomes.length} outcome(s) for ${request.records.length} record(s)`);
      }
      const outcome = outcomes[0];
      if (outcome === undefined || outcome.ok) {
        scope.fail(FAILURE_KINDS.wrongOutcome, `'${rejectCase.what}' was accepted, but the CRM rejects it; check the fixture's rejectCases`);
      } else if (outcome.reject.code !== rejectCase.expected) {
        const hint = outcome.reject.code === 'unknown' ? " ('unknown' is only for answers that say no more: map the CRM's code)" : '';
        wrong.push(`'${rejectCase.what}' gave '${outcome.reject.code}'${outcome.reject.symbol !== undefined ? ` (CRM code ${outcome.reject.symbol})` : ''}, expected '${rejectCase.expected}'${hint}`);
      }
    }
    if (wrong.length > 0) scope.fail(FAILURE_KINDS.wrongValue, `${wrong.length} of ${cases.length} reject(s) mapped to the wrong code: ${wrong.join('; ')}`);
  },
});

/** The reject-code check, in the upsert group. */
export const rejectChecks = [rejectCodesMapped] as const;
