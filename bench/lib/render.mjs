/** Renders a benchmark run (the object run.mjs writes to latest.json) as a Markdown report. */

const COLUMNS = ['scenario', 'crm-sync', 'baseline', 'ratio', 'API calls', 'lower bound', 'peak RSS', 'target', 'verdict'];

function cell(value) {
  return String(value ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** The results table: one row per measured comparison (a scenario may have several). */
export function renderTable(run) {
  const lines = [`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`];
  for (const scenario of run.scenarios) {
    if (scenario.crashed) {
      lines.push(`| ${cell(scenario.id)} | crashed: ${cell(scenario.error)} |  |  |  |  |  |  | crash |`);
      continue;
    }
    for (const row of scenario.rows) {
      lines.push(`| ${[row.scenario, row.crmSync, row.baseline, row.ratio, row.apiCalls, row.lowerBound, row.peakRss, row.target, row.verdict].map(cell).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** The whole report: environment, table, per-scenario notes. */
export function renderMarkdown(run) {
  const parts = [
    `# crm-sync benchmark results (${run.mode})`,
    '',
    `- Date: ${run.date}`,
    `- Node ${run.node}, CPU ${run.cpu} (${run.cpus} cores), ${run.totalMemoryMb} MB RAM; load average at the end ${run.loadAverage.join(' / ')}`,
    `- Shared machine: other engineers' builds and tests ran at the same time, so absolute times are noisy; verdicts use ratios against baselines measured in the same process, interleaved run by run, medians of several runs.`,
    `- Whole run: ${run.elapsedS} s. ${run.met} of ${run.scenarios.length} scenarios meet their target.`,
    ...(run.rerun ? [`- Partly re-run: ${run.rerun}.`] : []),
    '',
    renderTable(run),
    '',
    '## Notes per scenario',
    '',
  ];
  for (const scenario of run.scenarios) {
    if (scenario.crashed) continue;
    parts.push(`### ${scenario.title}`, '');
    for (const note of scenario.notes ?? []) parts.push(`- ${note}`);
    parts.push('');
  }
  return `${parts.join('\n')}\n`;
}
