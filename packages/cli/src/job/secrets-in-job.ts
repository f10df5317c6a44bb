/**
 * Refuses credentials inside a job file. Job files are shared, reviewed and committed; accounts
 * live in a separate file or in the environment. A value found here is registered as a secret at
 * once so that it can never reach a log, and it is never echoed back.
 *
 * @module
 */
import { registerSecret } from '@crm-sync/sdk';
import type { FileIssue } from './schema-issues.js';

const SECRET_KEY = /^(pass(word)?|secret|client[-_]?secret|(access|refresh|security)[-_]?token|token|private[-_]?key(file)?|api[-_]?key|certificate|cert(ificate)?[-_]?(key|password)?)$/i;

const HOW_TO_FIX =
  'secrets never go in a job file; put the account in the accounts file (--accounts, default ./crm-sync.accounts.yaml) or in CRM_SYNC_ACCOUNT_<NAME>_<KEY> environment variables, and name it here, e.g. account: sales-org';

/** Issues for every secret-looking entry in the job data (registering the values as secrets). */
export function findSecretsInJob(data: unknown): FileIssue[] {
  const issues: FileIssue[] = [];
  walk(data, [], issues);
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const account = (data as Record<string, unknown>).account;
    if (typeof account === 'object' && account !== null && issues.length === 0) {
      issues.push({ path: ['account'], message: `expected the name of an account, got a map; ${HOW_TO_FIX}` });
    }
  }
  return issues;
}

function walk(value: unknown, path: (string | number)[], issues: FileIssue[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, [...path, index], issues));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    if (SECRET_KEY.test(key) && (typeof item === 'string' || typeof item === 'number')) {
      registerSecret(String(item));
      issues.push({ path: [...path, key], message: HOW_TO_FIX });
    } else {
      walk(item, [...path, key], issues);
    }
  }
}
