/**
 * Refuses an export whose mappings name a local column the table does not have. Since an absent
 * local value is left out of the payload (absent is not `null`), a misspelt `local` name would
 * otherwise export nothing for that field, silently, run after run; so it is an error of the job,
 * found before any CRM call.
 *
 * @module
 */
import type { RecordSource } from '../stores/types.js';
import type { JobField } from './job.js';
import type { JobIssue } from './types.js';

/** Most column names listed in a message when no near miss is found. */
const COLUMNS_IN_MESSAGE = 20;

/**
 * Checks an export job's local columns against what its source knows of the table
 * ({@link RecordSource.columns}): every mapping whose `local` name is not a column of the table
 * (in no row of it) is an issue at `fields[i].local`, with a "did you mean" for a near miss.
 * Resolves with no issues when the source cannot tell (no `columns` method, or it answers
 * `undefined`, as for an empty or missing table). Rejects when the source throws.
 */
export async function checkLocalColumns(
  job: { readonly table: string; readonly fields: readonly JobField[] },
  source: Pick<RecordSource, 'columns'>,
): Promise<JobIssue[]> {
  if (source.columns === undefined) return [];
  const columns = await source.columns(job.table);
  if (columns === undefined) return [];
  const issues: JobIssue[] = [];
  job.fields.forEach((mapping, index) => {
    // An empty local name is reported by the job's own checks.
    if (typeof mapping.local !== 'string' || mapping.local === '' || columns.has(mapping.local)) return;
    const near = nearestName(mapping.local, columns);
    const hint =
      near !== undefined
        ? ` (did you mean "${near}"?)`
        : columns.size === 0
          ? ''
          : `; its columns are ${[...columns].sort().slice(0, COLUMNS_IN_MESSAGE).join(', ')}${columns.size > COLUMNS_IN_MESSAGE ? ', ...' : ''}`;
    issues.push({
      path: `fields[${index}].local`,
      message: `"${mapping.local}" is not a column of local table "${job.table}"${hint}; no row of the table has it, so nothing would be exported for ${mapping.remote}: fix the local name, or remove the mapping until the table has that column`,
    });
  });
  return issues;
}

/**
 * The "did you mean" of every job error: the candidate equal to `name` but for case, else the
 * closest within two typos (ties broken alphabetically); `undefined` when none is close.
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(candidate.toLowerCase(), lower);
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, 3 as soon as it is known to exceed 2: column names are short. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
