// Prints the one closing line CI recognises ("N passed, N failed") from vitest's JSON report.
// Usage: node scripts/print-test-summary.mjs <report.json> [vitest exit code]
// A test file that fails to load has no test results of its own; it counts as one failure. So
// does a vitest run that exited non-zero with no failed test (unhandled errors, a crash after
// the tests): vitest marks those runs failed, and CI must not call them green.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-report.json';
const vitestExitCode = process.argv[3] === undefined ? 0 : Number(process.argv[3]);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`[crm-sync] cannot read the vitest report ${file}: ${error.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const brokenFiles = report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
let failed = report.numFailedTests + brokenFiles;
if (failed === 0 && vitestExitCode !== 0) {
  console.error(`[crm-sync] vitest exited with code ${vitestExitCode} although no test failed (unhandled errors or a crash; see its output above); counted as one failure`);
  failed = 1;
}
console.log(`${report.numPassedTests} passed, ${failed} failed`);
process.exit(failed === 0 && report.numPassedTests > 0 ? 0 : 1);
