/**
 * docs/guides/contract-reference.md cannot drift from the API: every exported contract type (the
 * SDK's contract/, errors/crm-error.ts and the plugin shape in di/plugin.ts, plus the testkit's
 * ContractFixtures) has a section, and every member the API report lists is named in it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './link-workspace.js';

interface ReportEntry {
  readonly name: string;
  readonly kind: string;
}

function report(name: string): ReportEntry[] {
  const parsed = JSON.parse(readFileSync(join(repoRoot, 'api-reports', `${name}.api.json`), 'utf8')) as { entryPoints: Record<string, ReportEntry[]> };
  return parsed.entryPoints['.'] ?? [];
}

/** The names a source file exports. */
function exportedNames(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^export (?:declare )?(?:abstract )?(?:interface|type|class|function|const) ([A-Za-z_][A-Za-z0-9_]*)/gm)].map((match) => match[1] ?? '');
}

const sdkSource = join(repoRoot, 'packages', 'sdk', 'src');
const contractFiles = [
  ...readdirSync(join(sdkSource, 'contract')).map((file) => join(sdkSource, 'contract', file)),
  join(sdkSource, 'errors', 'crm-error.ts'),
  join(sdkSource, 'di', 'plugin.ts'),
];

/** The guide's sections: `### \`Name\`` headings and the text under each, up to the next heading. */
function sections(): Map<string, string> {
  const text = readFileSync(join(repoRoot, 'docs', 'guides', 'contract-reference.md'), 'utf8');
  const found = new Map<string, string>();
  const parts = text.split(/^#{2,3} /m);
  for (const part of parts) {
    const heading = /^`([A-Za-z_][A-Za-z0-9_]*)`\n/.exec(part);
    if (heading?.[1] !== undefined) found.set(heading[1], part);
  }
  return found;
}

describe('docs/guides/contract-reference.md against the API reports', () => {
  const guide = sections();
  const sdkReport = report('sdk');
  const contractNames = [...new Set(contractFiles.flatMap(exportedNames))].filter((name) => sdkReport.some((entry) => entry.name === name));

  it('finds the contract in the API report (the check is not vacuous)', () => {
    expect(contractNames).toEqual(expect.arrayContaining(['CrmConnector', 'QueryWindow', 'Instant', 'CrmRecord', 'DeletedRequest', 'RejectCode', 'CrmErrorFields', 'ConnectorPluginDefinition']));
    expect(contractNames.length).toBeGreaterThan(60);
  });

  it('has a section for every exported contract type, function and constant', () => {
    expect(contractNames.filter((name) => !guide.has(name))).toEqual([]);
  });

  it('names every member of each type in its section', () => {
    const missing: string[] = [];
    const check = (entries: readonly ReportEntry[], names: readonly string[]) => {
      for (const entry of entries) {
        const [owner, member] = entry.name.split('.');
        if (owner === undefined || member === undefined || !names.includes(owner) || entry.kind === 'Constructor' && owner !== 'CrmSyncError') continue;
        if (!(guide.get(owner) ?? '').includes(`\`${member}`)) missing.push(entry.name);
      }
    };
    check(sdkReport, contractNames);
    check(report('testkit'), ['ContractFixtures']);
    expect(missing).toEqual([]);
  });

  it('covers windows, instants, other change-field formats, keyset resume, the reject taxonomy and rate-limit headers', () => {
    expect(guide.get('QueryWindow')).toMatch(/keyset resume/i);
    expect(guide.get('Instant')).toMatch(/epoch milliseconds/);
    expect(guide.get('RejectCode')).toContain('`unknown` only for');
    expect(guide.get('CrmErrorFields')).toMatch(/Rate-limit headers other than Retry-After/);
    expect(guide.get('CrmErrorFields')).toContain('X-RateLimit-Reset');
    expect(guide.has('ContractFixtures')).toBe(true);
  });
});
