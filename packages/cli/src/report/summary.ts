/**
 * How a run's summary reads: a table for people, one JSON object for scripts.
 *
 * @module
 */
import type { RunError, RunSummary } from '@crm-sync/sdk';
import { readableQueryDescription } from './plan-filter.js';
import { renderTable } from './table.js';

/** The rows of a summary table: one per count that matters for the operation. */
function summaryRows(summary: RunSummary): [string, number][] {
  const rows: [string, number][] = [['read', summary.read]];
  if (summary.operation === 'import' || summary.operation === 'import-deleted') rows.push(['written locally', summary.written]);
  if (summary.operation === 'export' || summary.created + summary.updated + summary.unchanged > 0) {
    rows.push(['created', summary.created], ['updated', summary.updated], ['unchanged', summary.unchanged]);
  }
  if (summary.operation === 'import-deleted' || summary.operation === 'delete') rows.push(['deleted', summary.deleted]);
  rows.push(['skipped', summary.skipped], ['rejected', summary.rejected], ['errors', summary.errors], ['API calls', summary.apiCalls], ['retries', summary.retries]);
  return rows;
}

/** A readable summary: the counts, the window, the notes. `failed` for what a failed run had done. */
export function renderSummary(summary: RunSummary, label: string, failed = false): string {
  const outcome = failed ? `failed after ${formatDuration(summary.durationMs)}; done until then:` : `${summary.dryRun ? 'dry run, nothing changed' : 'done'} in ${formatDuration(summary.durationMs)}`;
  const lines = [`${label}: ${outcome}`];
  lines.push(renderTable(['', 'records'], summaryRows(summary)));
  if (summary.window !== undefined) {
    const start = summary.window.start ?? 'the beginning';
    lines.push(`window: [${start}, ${summary.window.end}) UTC, watermark option ${summary.window.optionName}`);
  }
  if (summary.deletedWindow !== undefined) {
    const { start, end, optionName } = summary.deletedWindow;
    lines.push(`deletions read: [${start}, ${end}] (the end the CRM covered)${optionName !== undefined ? `, next window starts there (option ${optionName})` : ''}`);
  }
  if (summary.runId !== undefined) lines.push(`journal run: ${summary.runId}`);
  if (summary.notFound !== undefined && summary.notFound.length > 0) {
    lines.push(`ids not found in the CRM: ${summary.notFound.slice(0, 10).join(', ')}${summary.notFound.length > 10 ? ` and ${summary.notFound.length - 10} more` : ''}`);
  }
  for (const note of summary.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** A dry run's plan, readable. */
export function renderPlan(summary: RunSummary): string {
  const plan = summary.plan;
  if (plan === undefined) return 'No plan was returned.';
  const lines = [`Plan for ${plan.operation} of ${plan.object} (activity ${plan.activity}); nothing will be changed:`];
  for (const query of plan.queries) {
    // An import's description already lists the fields; others get them in brackets.
    const fields = query.description.startsWith('fields ') ? '' : ` [${query.fields.join(', ')}]`;
    lines.push(`  query ${query.object}${fields}: ${readableQueryDescription(query.description)}`);
  }
  if (plan.records !== undefined) lines.push(`  records: ${plan.records}`);
  if (plan.batches !== undefined) lines.push(`  batches: ${plan.batches}`);
  lines.push(`  estimated API calls: ${plan.estimatedApiCalls}${plan.operation === 'import' ? ' (at least: one per page)' : ''}`);
  if (plan.window !== undefined) lines.push(`  window: [${plan.window.start ?? 'the beginning'}, ${plan.window.end}) UTC (${plan.window.optionName})`);
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

/** `1.2 s` or `340 ms`. */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** A run error as JSON (without `cause`, which may hold vendor internals). */
export function runErrorJson(error: RunError): Record<string, unknown> {
  const { cause: _cause, crmError, ...rest } = error;
  if (crmError === undefined) return rest;
  const { cause: _crmCause, ...crm } = crmError;
  return { ...rest, crmError: crm };
}
