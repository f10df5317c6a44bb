/**
 * Scenario 6, rate-limit behaviour: a crm-sync export of N contacts to the Salesforce emulator
 * that answers 10 % of the sObject Collections calls with 429 and `Retry-After: 1`, against the
 * same export without faults. From the emulator's request log: no request may arrive inside a
 * Retry-After window, i.e. between a 429 (plus a grace for requests already in flight when it
 * was answered) and one second after it.
 */
import { formatMs, formatRatio, log, measureInterleaved, repetitions, report, size } from '../lib/harness.mjs';
import { localRows } from '../lib/mock-data.mjs';
import { startSalesforceHost } from '../lib/salesforce-client.mjs';
import { crmSyncSalesforceExport } from '../lib/salesforce-export.mjs';

const N = size(50_000);
const rows = localRows(N);
const host = await startSalesforceHost();
const RETRY_AFTER_S = 1;
const faults = [{ kind: 'rate-limit', routes: ['collections'], probability: 0.1, retryAfter: String(RETRY_AFTER_S), times: 1_000_000 }];
/**
 * How the log is judged. The client learns of a 429 only after the emulator answered it, so a
 * request sent just before (up to `concurrency - 1` others in flight) may still arrive a moment
 * after the answer. An arrival after a 429 was answered counts as a violation when it comes more
 * than IN_FLIGHT_GRACE_MS after the answer and before the window ends, or when more than
 * `concurrency - 1` arrive within the grace.
 */
const IN_FLIGHT_GRACE_MS = 100;
/** The Salesforce connector's declared `capabilities.concurrency` (its default since the `concurrency` setting). */
const CONCURRENCY = 8;

/** Requests that arrived inside a Retry-After window, from the host's timed log. */
function windowViolations(wire) {
  const limited = wire.filter((entry) => entry.status === 429);
  const violations = [];
  const inFlight = [];
  const nextGaps = [];
  for (const hit of limited) {
    const windowEnd = hit.answeredAt + RETRY_AFTER_S * 1000;
    const after = wire.filter((other) => other !== hit && other.arrivedAt > hit.answeredAt && other.arrivedAt < windowEnd);
    const early = after.filter((other) => other.arrivedAt - hit.answeredAt <= IN_FLIGHT_GRACE_MS);
    const late = after.filter((other) => other.arrivedAt - hit.answeredAt > IN_FLIGHT_GRACE_MS);
    inFlight.push(early.length);
    if (early.length > CONCURRENCY - 1) violations.push({ kind: 'too many right after the 429', count: early.length });
    for (const other of late) violations.push({ kind: 'inside the window', path: other.path, status: other.status, offsetMs: Math.round(other.arrivedAt - hit.answeredAt) });
    const next = wire.filter((other) => other.arrivedAt >= windowEnd - 50).map((other) => other.arrivedAt - hit.answeredAt);
    if (next.length > 0) nextGaps.push(Math.min(...next));
  }
  return { limited: limited.length, violations, inFlight, minGapAfterWindowMs: nextGaps.length > 0 ? Math.round(Math.min(...nextGaps)) : undefined };
}

const checks = [];
async function faulty() {
  const run = await crmSyncSalesforceExport(host, rows, { latencyMs: 0, faults });
  checks.push(windowViolations(run.wire));
  const { log: _log, wire: _wire, ...rest } = run;
  return rest;
}
async function clean() {
  const { log: _log, wire: _wire, ...rest } = await crmSyncSalesforceExport(host, rows, { latencyMs: 0 });
  return rest;
}

const reps = repetitions(3, 2);
const [withFaults, without] = await measureInterleaved(
  [
    { label: `export ${N} with 10 % 429`, run: faulty },
    { label: `export ${N} without faults`, run: clean },
  ],
  reps,
);
await host.stop();
log('done');

const slowdown = withFaults.medianMs / without.medianMs;
const limited = checks.map((check) => check.limited);
const violations = checks.flatMap((check) => check.violations);
const met = violations.length === 0;
const minGaps = checks.map((check) => check.minGapAfterWindowMs).filter((gap) => gap !== undefined);
report({
  id: 'rate-limit',
  title: `6. Rate-limit behaviour: export ${N.toLocaleString('en-US')} records, 10 % of calls answered 429 Retry-After: 1`,
  line: { ratio: formatRatio(slowdown), target: 'none-in-retry-after-window', apiCalls: withFaults.last.requests.total, lowerBound: Math.ceil(N / 200) + (limited.at(-1) ?? 0) },
  met,
  rows: [
    {
      scenario: `6. Salesforce export ${N.toLocaleString('en-US')}, 10 % of calls 429 + Retry-After: 1`,
      crmSync: `${formatMs(withFaults.medianMs)} (${limited.join(', ')} x 429 per run)`,
      baseline: `same without faults: ${formatMs(without.medianMs)}`,
      ratio: `${formatRatio(slowdown)} x the fault-free time`,
      apiCalls: `${withFaults.last.requests.total} (fault-free ${without.last.requests.total}); retries ${withFaults.last.retries}`,
      lowerBound: `ceil(N / 200) = ${Math.ceil(N / 200)} + one resend per 429`,
      peakRss: `${withFaults.peakRssMb} MB`,
      target: 'reported; 0 requests inside a Retry-After window',
      verdict: met ? 'ok' : 'short',
    },
  ],
  details: { records: N, withFaults, without, checks },
  notes: [
    `Runs with faults: ${withFaults.runs.join(', ')} ms; without: ${without.runs.join(', ')} ms (${reps} interleaved runs each; emulator latency 0, so the waits are what costs).`,
    `429 answers per run: ${limited.join(', ')}. Requests arriving within ${IN_FLIGHT_GRACE_MS} ms after a 429 was answered (sent before the client could know; at most ${CONCURRENCY - 1} allowed), per 429: ${checks.map((check) => check.inFlight.join('/')).join('; ')}. Requests arriving later inside a window: ${violations.length}${violations.length > 0 ? ` e.g. ${JSON.stringify(violations.slice(0, 3))}` : ''}. First request after a window, measured from the 429 answer: ${minGaps.length > 0 ? `${Math.min(...minGaps)} ms at the closest` : 'n/a'}.`,
    'Times come from the emulator process (arrival of each request, and the moment each answer was finished), at sub-millisecond resolution. The RuntimeConnector checks the pause when a call leaves its queue; a call that passed that check just before the 429 was processed still goes out, and on a loaded machine its request can reach the emulator more than 100 ms later. Such an arrival is counted as a violation here, since the server side alone cannot tell it from a request sent inside the window.',
    'The RuntimeConnector pauses the whole connector instance until the Retry-After time has passed, so each 429 costs at least one second of wall time whatever the concurrency; the time ratio therefore grows with the number of 429s, not with N.',
  ],
});
