/**
 * The job file's filter (YAML) to the SDK's filter AST, with the seed's portable rules checked
 * right here, before any CRM call, so that a mistake is reported against the job file's own path
 * (`filter.and[1].not`) and line.
 *
 * YAML forms: `{ and: [...] }`, `{ or: [...] }`, `{ not: <node> }`, a comparison
 * `{ field, op, value }` (or `{ field, op: isEmpty }`), and the seed's flat list
 * `{ conditions: [c1, "and", c2, "or", c3] }`, which can express (and so report) a level that mixes
 * operators. Values: numbers, booleans, `"2012-11-01"` dates, ISO date-times, text (native profile
 * only), lists, and `{ expr: "daysAgo(30)" }`.
 *
 * @module
 */
import {
  parseInstant,
  type ComparisonOperator,
  type FilterComparison,
  type FilterGroup,
  type FilterNode,
  type FilterProfile,
  type FilterValue,
  type LogicalOperator,
} from '@crm-sync/sdk';
import { err, ok, type Result } from 'neverthrow';
import { describeInput, type FileIssue } from './schema-issues.js';

const OPERATORS: readonly ComparisonOperator[] = [
  'eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'isEmpty', 'isNotEmpty', 'in', 'notIn', 'startsWith', 'contains', 'like',
];
const NO_RIGHT_SIDE = new Set<ComparisonOperator>(['isEmpty', 'isNotEmpty']);
const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A converted filter and, for each AST path (`filter.items[0]`), the job file path it came from. */
export interface ConvertedFilter {
  readonly node: FilterNode;
  readonly sourcePaths: ReadonlyMap<string, readonly (string | number)[]>;
}

type Path = readonly (string | number)[];

/**
 * Converts the YAML filter at `filter` of a job file. In the portable profile the seed's rules
 * 1 (one operator per level), 2 (no negated group), 3 (no text comparison), 4 (a field on the
 * left) and 5 (no joins) are enforced here; the rest (fields exist, types fit) needs the object's
 * description and is checked later by the SDK.
 */
export function filterFromYaml(raw: unknown, profile: FilterProfile): Result<ConvertedFilter, FileIssue[]> {
  const converter = new FilterConverter(profile);
  const node = converter.node(raw, ['filter'], 'filter');
  return converter.issues.length > 0 || node === undefined
    ? err(converter.issues)
    : ok({ node, sourcePaths: converter.sourcePaths });
}

/**
 * Maps an SDK violation path (`filter.items[1].right`) back to the job file path it came from
 * (`filter.and[1].value`): the longest known AST prefix wins.
 */
export function sourcePathOf(filter: ConvertedFilter, astPath: string): Path {
  let best: Path = ['filter'];
  let bestLength = -1;
  for (const [prefix, source] of filter.sourcePaths) {
    if ((astPath === prefix || astPath.startsWith(`${prefix}.`) || astPath.startsWith(`${prefix}[`)) && prefix.length > bestLength) {
      best = source;
      bestLength = prefix.length;
    }
  }
  const rest = astPath.slice(Math.max(bestLength, 0));
  if (rest === '.right') return [...best, 'value'];
  if (rest === '.left') return [...best, 'field'];
  if (rest === '.op') return [...best, 'op'];
  return best;
}

class FilterConverter {
  readonly issues: FileIssue[] = [];
  readonly sourcePaths = new Map<string, Path>();
  private readonly portable: boolean;

  constructor(profile: FilterProfile) {
    this.portable = profile === 'portable';
  }

  node(raw: unknown, path: Path, astPath: string): FilterNode | undefined {
    this.sourcePaths.set(astPath, path);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return this.problem(path, `expected a condition { field, op, value } or a group { and: [...] } / { or: [...] }, got ${describeInput(raw)}`);
    }
    const keys = Object.keys(raw);
    const record = raw as Record<string, unknown>;
    if ('and' in record || 'or' in record) {
      if (keys.length !== 1) return this.problem(path, `a group has exactly one key (and, or); got ${keys.join(', ')}; nest groups to combine operators`);
      const op: LogicalOperator = 'and' in record ? 'and' : 'or';
      return this.group(record[op], [...path, op], astPath, op);
    }
    if ('not' in record) {
      if (keys.length !== 1) return this.problem(path, `a negated group has exactly one key (not); got ${keys.join(', ')}`);
      if (this.portable) {
        return this.problem(
          [...path, 'not'],
          'negated groups (AND NOT) are not portable (rule 2); invert the conditions instead (e.g. lt for gte, isEmpty for isNotEmpty)',
        );
      }
      const inner = this.node(record.not, [...path, 'not'], `${astPath}.items[0]`);
      if (inner === undefined) return undefined;
      const group: FilterGroup =
        inner.kind === 'group' && inner.negated !== true
          ? { ...inner, negated: true }
          : { kind: 'group', items: [inner], joins: [], negated: true };
      return group;
    }
    if ('conditions' in record) {
      if (keys.length !== 1) return this.problem(path, `a condition list has exactly one key (conditions); got ${keys.join(', ')}`);
      return this.flatList(record.conditions, [...path, 'conditions'], astPath);
    }
    return this.comparison(record, path, astPath);
  }

  private group(raw: unknown, path: Path, astPath: string, op: LogicalOperator): FilterNode | undefined {
    if (!Array.isArray(raw) || raw.length === 0) {
      return this.problem(path, `expected a non-empty list of conditions, got ${describeInput(raw)}`);
    }
    const items = raw.map((item, index) => this.node(item, [...path, index], `${astPath}.items[${index}]`));
    if (items.some((item) => item === undefined)) return undefined;
    return { kind: 'group', items: items as FilterNode[], joins: items.slice(1).map(() => op) };
  }

  private flatList(raw: unknown, path: Path, astPath: string): FilterNode | undefined {
    if (!Array.isArray(raw) || raw.length === 0 || raw.length % 2 === 0) {
      return this.problem(path, 'expected a list alternating conditions and "and" / "or": [ condition, "and", condition, ... ]');
    }
    const items: (FilterNode | undefined)[] = [];
    const joins: LogicalOperator[] = [];
    raw.forEach((entry, index) => {
      if (index % 2 === 1) {
        if (entry === 'and' || entry === 'or') joins.push(entry);
        else this.problem([...path, index], `expected "and" or "or" between two conditions, got ${describeInput(entry)}`);
      } else {
        items.push(this.node(entry, [...path, index], `${astPath}.items[${index / 2}]`));
      }
    });
    if (this.portable && new Set(joins).size > 1) {
      return this.problem(
        path,
        'this level mixes "and" and "or" (portable rule 1); nest the and-ed conditions in their own group, e.g. { or: [ { and: [c1, c2] }, c3 ] }',
      );
    }
    if (items.some((item) => item === undefined) || joins.length !== items.length - 1) return undefined;
    return { kind: 'group', items: items as FilterNode[], joins };
  }

  private comparison(record: Record<string, unknown>, path: Path, astPath: string): FilterComparison | undefined {
    const unknownKeys = Object.keys(record).filter((key) => key !== 'field' && key !== 'op' && key !== 'value');
    if (unknownKeys.length > 0) {
      return this.problem(path, `unknown key${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((key) => `"${key}"`).join(', ')}; a condition has field, op and value`);
    }
    const field = record.field;
    if (typeof field !== 'string' || field === '') {
      return this.problem([...path, 'field'], `the left-hand side must be a field name of the object (rule 4), got ${describeInput(field)}`);
    }
    if (this.portable && field.includes('.')) {
      return this.problem([...path, 'field'], `"${field}" is a path into a related object: joins are not portable (rule 5); filter on a field of the object itself`);
    }
    const op = record.op;
    if (typeof op !== 'string' || !OPERATORS.includes(op as ComparisonOperator)) {
      return this.problem([...path, 'op'], `expected one of ${OPERATORS.join(', ')}, got ${describeInput(op)}`);
    }
    const operator = op as ComparisonOperator;
    if (NO_RIGHT_SIDE.has(operator)) {
      if (record.value !== undefined) return this.problem([...path, 'value'], `${operator} takes no value; remove it`);
      return { kind: 'comparison', left: { kind: 'field', name: field }, op: operator };
    }
    const right = this.value(record.value, [...path, 'value']);
    if (right === undefined) return undefined;
    this.sourcePaths.set(`${astPath}.right`, [...path, 'value']);
    return { kind: 'comparison', left: { kind: 'field', name: field }, op: operator, right };
  }

  private value(raw: unknown, path: Path): FilterValue | undefined {
    if (typeof raw === 'number') return { kind: 'number', value: raw };
    if (typeof raw === 'boolean') return { kind: 'boolean', value: raw };
    if (raw instanceof Date) return { kind: 'datetime', value: raw.toISOString() };
    if (typeof raw === 'string') {
      if (CALENDAR_DATE.test(raw)) return { kind: 'date', value: raw };
      const instant = parseInstant(raw);
      if (instant !== undefined) return { kind: 'datetime', value: instant };
      if (this.portable) {
        return this.problem(
          path,
          `a text value (${describeInput(raw)}) is not portable: compare only with numbers, dates or null (rule 3); use a date "YYYY-MM-DD", a number, { expr: "daysAgo(30)" }, or set filterProfile: native`,
        );
      }
      return { kind: 'string', value: raw };
    }
    if (Array.isArray(raw)) {
      const items = raw.map((item, index) => this.value(item, [...path, index]));
      if (items.some((item) => item === undefined)) return undefined;
      return { kind: 'list', items: items as FilterValue[] };
    }
    if (typeof raw === 'object' && raw !== null && typeof (raw as { expr?: unknown }).expr === 'string' && Object.keys(raw).length === 1) {
      return { kind: 'expression', source: (raw as { expr: string }).expr };
    }
    return this.problem(path, `expected a number, a date "YYYY-MM-DD", { expr: "..." }${this.portable ? '' : ', text'} or a list, got ${describeInput(raw)}`);
  }

  private problem(path: Path, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }
}
