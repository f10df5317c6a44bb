/**
 * The testkit's proof against the mistakes of issue 15: each mutant is the template connector
 * (examples/connector-template) with one realistic bug put into its source, or run against a fake
 * CRM that differs from what the connector declares. The whole suite runs on each, and must fail
 * exactly the check written for that bug; every other check still passes, which shows the suite
 * before these checks let the bug through.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CrmConnector } from '@crm-sync/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { runContractChecks, type ConnectorUnderTest } from '../src/index.js';

const TEMPLATE = fileURLToPath(new URL('../../../examples/connector-template/', import.meta.url));
/** Inside the template, so the mutants resolve the same packages; removed after the run (and git-ignored). */
const MUTANTS = join(TEMPLATE, '.mutants');

/** One bug: a text replacement in one source file, and/or a fake CRM that differs from the declared one. */
interface Mutant {
  /** Directory name and test title. */
  readonly name: string;
  /** What the bug is, in the words of issue 15. */
  readonly bug: string;
  /** The source file changed, relative to the template. */
  readonly file?: string;
  /** Text that must occur exactly once in `file`... */
  readonly find?: string;
  /** ...and what replaces it. */
  readonly replace?: string;
  /** Options for the fake Acme CRM. */
  readonly fake?: { readonly retentionDays?: number };
  /** The checks that must fail, and nothing else. */
  readonly caughtBy: readonly string[];
}

const MUTANTS_LIST: readonly Mutant[] = [
  {
    name: 'no-escaping',
    bug: 'pastes string literals into the query language with no escaping at all',
    file: 'src/filter.ts',
    find: "return `'${value.replace(/[\\\\'\\n\\r\\t]/g, (c) => (c === '\\n' ? '\\\\n' : c === '\\r' ? '\\\\r' : c === '\\t' ? '\\\\t' : `\\\\${c}`))}'`;",
    replace: "return `'${value}'`;",
    caughtBy: ['query/string-literals-round-trip'],
  },
  {
    name: 'unparenthesised-or',
    bug: 'leaves an OR filter group unparenthesised next to the window, importing records outside it',
    file: 'src/filter.ts',
    find: 'return ok(`(${items.join(` ${node.op} `)})`);',
    replace: 'return ok(items.join(` ${node.op} `));',
    caughtBy: ['window/filter-groups-stay-in-window'],
  },
  {
    name: 'no-token-refresh',
    bug: 'never refreshes an expired access token',
    file: 'src/http.ts',
    find: 'if (answer.status !== 401 || code === undefined || !EXPIRED_TOKEN_CODES.has(code)) return okAsync(answer);',
    replace: 'return okAsync(answer);',
    caughtBy: ['errors/expired-token-refreshed'],
  },
  {
    name: 'reads-retry-after',
    bug: "reads Retry-After instead of the CRM's own X-RateLimit-Reset",
    file: 'src/errors.ts',
    find: "parseResetMs(headers.get(RATE_LIMIT_RESET_HEADER)) ?? parseRetryAfterMs(headers.get('retry-after'))",
    replace: "parseRetryAfterMs(headers.get('retry-after'))",
    caughtBy: ['errors/rate-limited-retryable', 'errors/rate-limit-reset-time'],
  },
  {
    name: 'validation-as-unknown',
    bug: 'maps validation rejects (422 INVALID_VALUE) to unknown',
    file: 'src/connector.ts',
    find: "  INVALID_VALUE: 'invalid-value',\n",
    replace: '',
    caughtBy: ['upsert/reject-codes-mapped'],
  },
  {
    name: 'claims-30-days',
    bug: 'claims 30 days of deletion history when the CRM keeps 7',
    fake: { retentionDays: 7 },
    caughtBy: ['deleted/retention-matches-crm'],
  },
];

type AcmeUnderTest = (wrap?: (connector: CrmConnector) => CrmConnector, fake?: Mutant['fake']) => Promise<ConnectorUnderTest>;

/** Copies the template's sources and test harness, applies the mutation, and imports the harness. */
async function buildMutant(mutant: Mutant): Promise<AcmeUnderTest> {
  const dir = join(MUTANTS, mutant.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(TEMPLATE, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(TEMPLATE, 'test', 'support'), join(dir, 'test', 'support'), { recursive: true });
  if (mutant.file !== undefined && mutant.find !== undefined) {
    const path = join(dir, mutant.file);
    const source = readFileSync(path, 'utf8');
    // When the template changes, this says which mutation no longer applies.
    expect(source.split(mutant.find).length - 1, `${mutant.file} must contain the mutated text exactly once: ${mutant.find}`).toBe(1);
    writeFileSync(path, source.replace(mutant.find, () => mutant.replace ?? ''));
  }
  const harness = (await import(pathToFileURL(join(dir, 'test', 'support', 'acme-under-test.ts')).href)) as { acmeUnderTest: AcmeUnderTest };
  return harness.acmeUnderTest;
}

afterAll(() => rmSync(MUTANTS, { recursive: true, force: true }));

describe('the contract suite catches each mistake of issue 15 in the template connector', () => {
  for (const mutant of MUTANTS_LIST) {
    it(`fails a template that ${mutant.bug} (${mutant.caughtBy.join(', ')})`, async () => {
      const acmeUnderTest = await buildMutant(mutant);
      const outcomes = await runContractChecks({ name: mutant.name, factory: () => acmeUnderTest(undefined, mutant.fake) });
      const failed = outcomes.filter((outcome) => !outcome.passed);
      const details = failed.map((outcome) => `${outcome.id}: ${outcome.failure?.kind ?? ''}: ${outcome.failure?.detail ?? ''}`).join('\n');
      if (process.env.SHOW_MUTANT_FAILURES) console.log(details);
      expect(failed.map((outcome) => outcome.id), details).toEqual(mutant.caughtBy);
      for (const outcome of failed) expect(outcome.failure?.kind, outcome.failure?.detail).not.toBe('harness');
    }, 120_000);
  }
});
