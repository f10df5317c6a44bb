/**
 * `crm-sync describe [object] --connector <id> --account <name>`: the objects of a CRM, or the
 * fields of one object with their types, as a table. What a user needs to write a job file.
 *
 * @module
 */
import type { FieldDescription } from '@crm-sync/sdk';
import { loadAccount } from '../accounts/load-accounts.js';
import { invalidInput, runFailed } from '../cli-error.js';
import { openConnector } from '../connectors/registry.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { println, type CliIo } from '../io.js';
import { createLogger } from '../report/logger.js';
import { renderTable } from '../report/table.js';
import { reportError } from './report-error.js';

/** Options of `crm-sync describe`. */
interface DescribeCommandOptions {
  readonly connector?: string;
  readonly account: string;
  readonly accounts?: string;
  readonly json?: boolean;
}

/** Describes `object`, or lists the objects when it is omitted. */
export async function describeCommand(io: CliIo, object: string | undefined, options: DescribeCommandOptions): Promise<ExitCodeValue> {
  const account = loadAccount(options.account, { env: io.env, cwd: io.cwd, ...(options.accounts !== undefined ? { file: options.accounts } : {}) });
  if (account.isErr()) return reportError(io, account.error);
  const connectorId = options.connector ?? account.value.settings.connector;
  const opened = await openConnector(connectorId, { account: account.value, logger: createLogger(io.stderr, 'pretty'), cwd: io.cwd, ...(options.connector !== undefined ? { referenceDirectory: io.cwd } : {}) });
  if (opened.isErr()) return reportError(io, opened.error);
  const connector = opened.value.connector;
  try {
    if (object === undefined) {
      const listed = await connector.listObjects();
      if (listed.isErr()) return reportError(io, runFailed(listed.error.message));
      if (options.json === true) println(io, JSON.stringify(listed.value));
      else println(io, renderTable(['Object', 'Label', 'Query', 'Create', 'Update', 'Delete'], listed.value.map((item) => [item.name, item.label ?? '', yes(item.queryable), yes(item.createable), yes(item.updateable), yes(item.deletable)])));
      return ExitCode.ok;
    }
    const described = await connector.describe(object);
    if (described.isErr()) {
      const error = described.error;
      return reportError(io, error.kind === 'not-found' ? invalidInput(`${error.message}; list the objects with: crm-sync describe --account ${options.account}`) : runFailed(error.message));
    }
    const description = described.value;
    if (options.json === true) {
      println(io, JSON.stringify(description));
      return ExitCode.ok;
    }
    println(io, `${description.name}${description.label !== undefined ? ` (${description.label})` : ''}: primary key ${description.primaryKey}, ${description.fields.length} fields`);
    println(io, renderTable(['Field', 'Type', 'Time', 'Flags', 'Label'], description.fields.map((field) => [field.name, typeText(field), field.timeSemantics ?? '', flags(field), field.label ?? ''])));
    const changeFields = connector.capabilities.changeFields.filter((name) => description.fields.some((field) => field.name === name));
    if (changeFields.length > 0) println(io, `\nChange field for incremental import (automatic index): ${changeFields[0]}`);
    return ExitCode.ok;
  } finally {
    await opened.value.close();
  }
}

function yes(value: boolean): string {
  return value ? 'yes' : '';
}

function typeText(field: FieldDescription): string {
  if (field.type === 'reference' && field.referenceTo !== undefined) return `reference(${field.referenceTo.join('|')})`;
  if (field.length !== undefined && ['string', 'text', 'email', 'phone', 'url'].includes(field.type)) return `${field.type}(${field.length})`;
  return field.type;
}

function flags(field: FieldDescription): string {
  const out: string[] = [];
  if (field.primaryKey) out.push('pk');
  if (field.required) out.push('required');
  if (field.externalId) out.push('external-id');
  if (!field.createable && !field.updateable) out.push('read-only');
  if (field.filterable) out.push('filter');
  if (field.sortable) out.push('sort');
  return out.join(' ');
}
