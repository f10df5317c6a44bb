/**
 * Checks of the portable filter operators on a numeric field and on a date field: each answer is
 * compared with the set computed from the seeded values.
 *
 * @module
 */
import {
  PORTABLE_OPERATORS,
  findField,
  type ComparisonOperator,
  type FieldValue,
  type ResolvedFilterComparison,
  type ResolvedFilterValue,
} from '@crm-sync/sdk';
import { defineCheck } from './define-check.js';
import type { CheckScope } from './define-check.js';
import { describeFixtureObject, expectSameIds, readAllPages } from './read-helpers.js';
import type { ContractCheck } from './types.js';

/** Seeded records per filter check: every 6th value is null, the others cycle through 5 values. */
const FILTER_RECORDS = 30;
/** Index of the comparison value among the 5 distinct ones (the middle, so lt and gt both match). */
const PIVOT = 2;

/** Steps the native `in` check lists: the lowest and the pivot. */
const IN_STEPS: readonly number[] = [0, PIVOT];

/** Builds the seeded value for record i, or null. */
type ValueLadder = { values: (step: number) => FieldValue; filterValue: ResolvedFilterValue };

async function ladderFor(scope: CheckScope, kind: 'numeric' | 'date', field: string): Promise<ValueLadder> {
  if (kind === 'numeric') return { values: (step) => step * 10, filterValue: { kind: 'number', value: PIVOT * 10 } };
  const description = await describeFixtureObject(scope);
  const type = findField(description, field)?.type;
  if (type === 'date') {
    const day = (step: number): string => `2023-11-0${step + 1}`;
    return { values: day, filterValue: { kind: 'date', value: day(PIVOT) } };
  }
  if (type === 'datetime') {
    const at = (step: number): string => `2023-11-0${step + 1}T12:00:00.000Z`;
    return { values: at, filterValue: { kind: 'datetime', value: at(PIVOT) } };
  }
  return scope.skip(`fixtures.dateField '${field}' has type '${type}', expected 'date' or 'datetime'`);
}

/** Whether a seeded value matches; `undefined` when either answer is allowed (null under `ne`). */
function expectedMatch(op: ComparisonOperator, step: number | null): boolean | undefined {
  if (op === 'isEmpty') return step === null;
  if (op === 'isNotEmpty') return step !== null;
  // SOQL and OData treat `null != x` as true, SQL as unknown: both are accepted.
  if (step === null) return op === 'ne' ? undefined : false;
  switch (op) {
    case 'eq': return step === PIVOT;
    case 'ne': return step !== PIVOT;
    case 'lt': return step < PIVOT;
    case 'lte': return step <= PIVOT;
    case 'gt': return step > PIVOT;
    case 'gte': return step >= PIVOT;
    case 'in': return IN_STEPS.includes(step);
    default: return false;
  }
}

function filterCheck(kind: 'numeric' | 'date', op: ComparisonOperator): ContractCheck {
  const native = !PORTABLE_OPERATORS.includes(op);
  return defineCheck({
    id: `query/filter-${kind}-${op}`,
    group: 'query',
    title: `filter '${op}' on a ${kind} field returns exactly the matching records${native ? ' (native profile)' : ''}`,
    ...(native
      ? { requires: (capabilities) => (capabilities.filterOperators.includes(op) ? undefined : `capabilities.filterOperators does not include '${op}'`) }
      : {}),
    async body(scope) {
      const field = (kind === 'numeric' ? scope.fixtures.numericField : scope.fixtures.dateField) ?? scope.skip(`fixtures.${kind === 'numeric' ? 'numericField' : 'dateField'} is not set`);
      const ladder = await ladderFor(scope, kind, field);
      const stepOf = (i: number): number | null => (i % 6 === 5 ? null : i % 5);
      const seeded = await scope.fixtures.seed(FILTER_RECORDS, {
        values: (i) => {
          const step = stepOf(i);
          return { ...scope.fixtures.newRecord(i), [field]: step === null ? null : ladder.values(step) };
        },
      });
      const comparison: ResolvedFilterComparison = {
        kind: 'comparison',
        left: { kind: 'field', name: field },
        op,
        ...(op === 'isEmpty' || op === 'isNotEmpty' ? {} : { right: op === 'in' ? inList(ladder) : ladder.filterValue }),
      };
      const records = await readAllPages(
        scope,
        { object: scope.fixtures.object, fields: [field], filter: comparison },
        `query with ${field} ${op}`,
        FILTER_RECORDS,
      );
      const tolerated = new Set(seeded.filter((_, i) => expectedMatch(op, stepOf(i)) === undefined));
      const expected = seeded.filter((_, i) => expectedMatch(op, stepOf(i)) === true);
      const read = records.map((record) => record.id).filter((id) => !tolerated.has(id));
      expectSameIds(scope, read, expected, `filter ${field} ${op} ${op.startsWith('is') ? '' : JSON.stringify(ladder.filterValue)}`);
    },
  });
}

/** The `in` list: the values of {@link IN_STEPS}. */
function inList(ladder: ValueLadder): ResolvedFilterValue {
  const items = IN_STEPS.map((step): ResolvedFilterValue => {
    const value = ladder.values(step);
    if (ladder.filterValue.kind === 'number') return { kind: 'number', value: Number(value) };
    return { kind: ladder.filterValue.kind === 'date' ? 'date' : 'datetime', value: String(value) };
  });
  return { kind: 'list', items: items as Exclude<ResolvedFilterValue, { kind: 'list' }>[] };
}

/**
 * One check per portable operator, on the numeric field and on the date field, plus the native
 * `in` operator (run only when the connector declares it).
 */
export const filterChecks: readonly ContractCheck[] = (['numeric', 'date'] as const).flatMap((kind) =>
  [...PORTABLE_OPERATORS, 'in' as const].map((op) => filterCheck(kind, op)),
);
