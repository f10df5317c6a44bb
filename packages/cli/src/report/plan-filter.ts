/**
 * A dry run's plan, readable: the orchestrator describes an import's query with its filter as
 * JSON (what the connector receives); people read `lastActivityAt >= 2012-10-31T23:00:00.000Z and
 * email is not empty` more easily than the tree.
 *
 * @module
 */
import type { ResolvedFilterNode, ResolvedFilterValue } from '@crm-sync/sdk';

const SYMBOLS: Readonly<Record<string, string>> = { eq: '=', ne: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' };
const WORDS: Readonly<Record<string, string>> = { in: 'in', notIn: 'not in', startsWith: 'starts with', contains: 'contains', like: 'like' };

/** One filter as text: groups in parentheses below the top level, strings quoted as JSON. */
export function renderFilter(node: ResolvedFilterNode, nested = false): string {
  if (node.kind === 'group') {
    const text = node.items.map((item) => renderFilter(item, true)).join(` ${node.op} `);
    if (node.negated === true) return `not (${text})`;
    return nested && node.items.length > 1 ? `(${text})` : text;
  }
  const field = node.left.name;
  if (node.op === 'isEmpty') return `${field} is empty`;
  if (node.op === 'isNotEmpty') return `${field} is not empty`;
  const operator = SYMBOLS[node.op] ?? WORDS[node.op] ?? node.op;
  return `${field} ${operator} ${node.right === undefined ? '?' : renderValue(node.right)}`;
}

function renderValue(value: ResolvedFilterValue): string {
  switch (value.kind) {
    case 'list':
      return `(${value.items.map(renderValue).join(', ')})`;
    case 'string':
      return JSON.stringify(value.value);
    default:
      return String(value.value);
  }
}

/**
 * Replaces `filter {...json...}` in a plan's query description with {@link renderFilter}'s text.
 * Anything that does not parse as a filter is left as it was: the plan stays complete.
 */
export function readableQueryDescription(description: string): string {
  const start = description.indexOf('filter {');
  if (start < 0) return description;
  const jsonStart = start + 'filter '.length;
  const jsonEnd = endOfJsonObject(description, jsonStart);
  if (jsonEnd === undefined) return description;
  try {
    const node = JSON.parse(description.slice(jsonStart, jsonEnd)) as ResolvedFilterNode;
    return `${description.slice(0, jsonStart)}${renderFilter(node)}${description.slice(jsonEnd)}`;
  } catch {
    return description;
  }
}

/** The index just past the JSON object that opens at `from`, skipping braces inside strings. */
function endOfJsonObject(text: string, from: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let index = from; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '{') {
      depth += 1;
    } else if (char === '}') {
      depth -= 1;
      if (depth === 0) return index + 1;
    }
  }
  return undefined;
}
