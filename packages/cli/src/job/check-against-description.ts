/**
 * Checks a job file against the object's description (one `describe` call, before any data
 * call): every named field exists, filters follow the profile and fit the field types. Problems
 * point at the job file's own paths and lines.
 *
 * @module
 */
import {
  findField,
  nearestName,
  validateFilter,
  type ConnectorCapabilities,
  type ObjectDescription,
} from '@crm-sync/sdk';
import type { LoadedJob } from './load-job.js';
import { sourcePathOf } from './filter-from-yaml.js';
import type { FileIssue } from './schema-issues.js';

/** Issues of `loaded` against `description`; empty when the job fits the object. */
export function checkJobAgainstDescription(
  loaded: LoadedJob,
  description: ObjectDescription,
  capabilities: ConnectorCapabilities,
): FileIssue[] {
  const job = loaded.job;
  const issues: FileIssue[] = [];
  const unknown = (path: (string | number)[], name: string) => {
    issues.push({ path, message: `"${name}" is not a field of ${description.name}${suggestion(description, name)}; list the fields with: crm-sync describe ${description.name} --connector ${job.connector} --account ${job.account}` });
  };
  (job.fields ?? []).forEach((field, index) => {
    if (findField(description, field.remote) === undefined) unknown(['fields', index, 'remote'], field.remote);
  });
  (job.orderBy ?? []).forEach((entry, index) => {
    const name = typeof entry === 'string' ? (entry.trim().split(/\s+/)[0] ?? entry) : entry.field;
    const field = findField(description, name);
    if (field === undefined) unknown(['orderBy', index], name);
    else if (!field.sortable) issues.push({ path: ['orderBy', index], message: `"${name}" cannot be sorted on in ${description.name}; choose a sortable field` });
  });
  const index = job.automaticIndex;
  if (typeof index === 'object' && index.changeField !== undefined && findField(description, index.changeField) === undefined) {
    unknown(['automaticIndex', 'changeField'], index.changeField);
  }
  const syncKey = job.export?.syncKey;
  if (syncKey !== undefined) {
    const field = findField(description, syncKey);
    if (field === undefined) unknown(['export', 'syncKey'], syncKey);
    else if (!field.externalId) {
      issues.push({ path: ['export', 'syncKey'], message: `"${syncKey}" is not an external-id field of ${description.name}; the sync key must be unique in the CRM (an external id / alternate key)` });
    }
  }
  if (loaded.filter !== undefined) {
    const violations = validateFilter(loaded.filter.node, {
      description,
      capabilities,
      profile: job.filterProfile ?? 'portable',
      path: 'filter',
    });
    for (const violation of violations) {
      issues.push({ path: [...sourcePathOf(loaded.filter, violation.path)], message: stripPrefix(violation.message) });
    }
  }
  return issues;
}

/** ` (did you mean "Email"?)` for a near miss by case or one typo, else nothing. */
function suggestion(description: ObjectDescription, name: string): string {
  const close = nearestName(name, description.fields.map((field) => field.name));
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function stripPrefix(message: string): string {
  return message.replace(/^\[crm-sync\] \[[^\]]+\] /, '');
}
