// The closing line of `pnpm test:ci` ("N passed, N failed") and its exit code: CI trusts both, so
// a run vitest itself marks failed must never end green.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../print-test-summary.mjs');

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** A vitest JSON report with `passed` passing tests in one file and `failed` failing ones. */
function writeReport(passed: number, failed: number): string {
  scratch = mkdtempSync(join(tmpdir(), 'crm-sync-summary-'));
  const file = join(scratch, 'report.json');
  const assertionResults = [
    ...Array.from({ length: passed }, () => ({ status: 'passed' })),
    ...Array.from({ length: failed }, () => ({ status: 'failed' })),
  ];
  writeFileSync(
    file,
    JSON.stringify({
      numPassedTests: passed,
      numFailedTests: failed,
      testResults: [{ status: failed > 0 ? 'failed' : 'passed', assertionResults }],
    }),
  );
  return file;
}

function summarise(...args: string[]): { line: string; code: number | null } {
  const run = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  const lines = run.stdout.trim().split('\n');
  return { line: lines[lines.length - 1] ?? '', code: run.status };
}

describe('print-test-summary', () => {
  it('ends a green run with "N passed, 0 failed" and exit code 0', () => {
    expect(summarise(writeReport(7, 0), '0')).toEqual({ line: '7 passed, 0 failed', code: 0 });
  });

  it('counts failed tests and exits 1', () => {
    expect(summarise(writeReport(5, 2), '1')).toEqual({ line: '5 passed, 2 failed', code: 1 });
  });

  it('counts a vitest run that exited non-zero with no failed test (unhandled errors) as one failure', () => {
    expect(summarise(writeReport(7, 0), '1')).toEqual({ line: '7 passed, 1 failed', code: 1 });
  });

  it('reports a missing report (vitest never wrote one) as a failure', () => {
    scratch = mkdtempSync(join(tmpdir(), 'crm-sync-summary-'));
    expect(summarise(join(scratch, 'absent.json'), '1')).toEqual({ line: '0 passed, 1 failed', code: 1 });
  });
});
