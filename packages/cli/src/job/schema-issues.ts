/**
 * Turns zod issues into the CLI's messages: `<file>: <path>: expected ..., got ...`. zod's own
 * texts speak TypeScript; these speak job files.
 *
 * @module
 */
import type { z } from 'zod';
import { formatPath } from '../yaml-file.js';

/** One problem in a file, at a path inside it. */
export interface FileIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Describes a value the user wrote, briefly and without echoing long text. */
export function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (typeof input === 'string') return JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input);
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  if (Array.isArray(input)) return 'a list';
  return 'a map';
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a text value',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
};

/** What to write for a missing top-level key of a job file. */
const REQUIRED_HINTS: Readonly<Record<string, string>> = {
  activity: 'name the activity, e.g. activity: importContacts (letters, digits, - and _)',
  connector: 'name the connector: mock, salesforce or dynamics',
  account: 'name an account of the accounts file, e.g. account: sales-org',
  operation: 'one of import, export, import-deleted, delete',
  object: 'name the remote object, e.g. object: Contact (list them with crm-sync describe --account <name>)',
};

/** One readable issue per zod issue (unions report their most specific branch). */
export function zodIssuesToFileIssues(issues: readonly z.core.$ZodIssue[]): FileIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(toPathPart);
    // One line per unknown key, at the key itself, so that each gets its own line number.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown key; check the spelling against docs/cli.md' }));
    }
    const hint = path.length === 1 && issue.code === 'invalid_type' && !('input' in issue && issue.input !== undefined) ? REQUIRED_HINTS[String(path[0])] : undefined;
    return [{ path, message: hint === undefined ? describeIssue(issue) : `is required: ${hint}` }];
  });
}

function toPathPart(part: PropertyKey): string | number {
  return typeof part === 'number' ? part : String(part);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const input = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}, got ${describeInput(input)}`;
    case 'invalid_type':
      if (input === undefined) return `is required (${TYPE_WORDS[issue.expected] ?? issue.expected})`;
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${describeInput(input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}; check the spelling against docs/cli.md`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}, got ${describeInput(input)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}, got ${describeInput(input)}`;
    case 'invalid_union': {
      const nested = issue.errors.flat();
      const precise = nested.find((inner) => inner.path.length > 0 || inner.code !== 'invalid_type');
      if (precise !== undefined) return describeIssue({ ...precise, path: [] } as z.core.$ZodIssue);
      return `expected ${nested.map((inner) => (inner.code === 'invalid_type' ? (TYPE_WORDS[inner.expected] ?? inner.expected) : 'another value')).join(' or ')}, got ${describeInput(input)}`;
    }
    default:
      return input === undefined ? issue.message : `${issue.message}, got ${describeInput(input)}`;
  }
}

/** `<file>: <path>: <message>` lines, one per issue, in path order of appearance. */
export function formatFileIssues(file: string, issues: readonly FileIssue[]): string {
  return issues.map((issue) => `[crm-sync] ${file}: ${formatPath(issue.path)}: ${issue.message}`).join('\n');
}
