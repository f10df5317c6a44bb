/**
 * Plain text tables for terminal output. Hand-written: a dozen lines, and the table libraries
 * installed here (none) would add a dependency for column padding.
 *
 * @module
 */

/** Renders rows under a header, columns padded, numbers right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const separator = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(header), separator, ...cells.slice(1).map(line)].join('\n');
}
