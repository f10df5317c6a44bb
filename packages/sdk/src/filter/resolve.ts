/**
 * Turns a user's filter into what a connector receives: validated, expressions evaluated, one
 * logical operator per group, and date values fitted to each field's time semantics.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { ConnectorCapabilities } from '../contract/capabilities.js';
import { findField, type ObjectDescription } from '../contract/describe.js';
import { parseInstant } from '../contract/values.js';
import { fieldKind, type FieldKind } from '../conversion/field-kind.js';
import {
  epochToDateInZone,
  epochToWallClock,
  isValidTimeZone,
  midnightInZone,
  timeZoneProblem,
  zoneFor,
} from '../conversion/time-zone.js';
import type {
  FilterComparison,
  FilterGroup,
  FilterNode,
  FilterProfile,
  FilterValue,
  ResolvedFilterComparison,
  ResolvedFilterNode,
  ResolvedFilterValue,
} from './ast.js';
import { evaluateExpression } from './expression.js';
import { incompatibility, validateFilter, type FilterViolation } from './validate.js';
import type { IANAZone } from 'luxon';

/** A filter that cannot be used; `violations` lists every problem found. */
export interface FilterError {
  readonly kind: 'invalid-filter';
  readonly violations: readonly FilterViolation[];
  /** `[crm-sync] [filter] ...` then one line per violation: `- <path>: <message> (<rule>)`. */
  readonly message: string;
}

/** What a filter is resolved against. */
export interface FilterResolveContext {
  readonly description: ObjectDescription;
  readonly profile: FilterProfile;
  readonly capabilities: ConnectorCapabilities;
  /** Job variables for expressions (`vars.<name>`). */
  readonly variables?: Readonly<Record<string, number | string>>;
  /** The job time zone (IANA); default `UTC`. Dates become instants at midnight in this zone. */
  readonly timeZone?: string;
  /** The run's current time, fixed per run; default the system clock. */
  readonly now?: Date;
  /** Prefix of violation paths; default `filter`. */
  readonly path?: string;
}

type ScalarValue = Exclude<ResolvedFilterValue, { kind: 'list' }>;

/** Builds a {@link FilterError} whose message lists every violation on its own line. */
export function filterError(violations: readonly FilterViolation[]): FilterError {
  const lines = violations.map((violation) => `- ${violation.path}: ${violation.message} (${violation.rule})`);
  return {
    kind: 'invalid-filter',
    violations,
    message: `[crm-sync] [filter] the filter is not valid (${violations.length} problem${violations.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
  };
}

/**
 * Validates and resolves a filter.
 *
 * - all violations are returned together in the error;
 * - expressions are evaluated with the job variables, zone and `now`;
 * - each group's joins become one `op`; in the native profile a group mixing AND and OR is nested
 *   respecting AND-before-OR precedence (`a AND b OR c` becomes `(a AND b) OR c`);
 * - date values fit the field: against an `instant` field a date becomes the instant of midnight
 *   in the job zone; against a date-only field a date-time becomes its date in the job zone;
 *   against a `floating` field values become wall-clock date-times in the job zone, written with
 *   `Z` digits (the way Dataverse exchanges time-zone-independent values).
 */
export function resolveFilter(filter: FilterNode, context: FilterResolveContext): Result<ResolvedFilterNode, FilterError> {
  const path = context.path ?? 'filter';
  const timeZone = context.timeZone ?? 'UTC';
  if (!isValidTimeZone(timeZone)) {
    return err(filterError([{ path: 'timeZone', rule: 'invalid-value', message: timeZoneProblem(timeZone) }]));
  }
  const violations = validateFilter(filter, { ...context, path });
  if (violations.length > 0) return err(filterError(violations));
  const resolver = new Resolver(context, timeZone);
  const resolved = resolver.node(filter, path);
  return resolver.violations.length > 0 ? err(filterError(resolver.violations)) : ok(resolved);
}

class Resolver {
  readonly violations: FilterViolation[] = [];
  private readonly zone: IANAZone;
  constructor(
    private readonly context: FilterResolveContext,
    private readonly timeZone: string,
  ) {
    this.zone = zoneFor(timeZone);
  }

  node(node: FilterNode, path: string): ResolvedFilterNode {
    return node.kind === 'group' ? this.group(node, path) : this.comparison(node, path);
  }

  private group(group: FilterGroup, path: string): ResolvedFilterNode {
    const items = group.items.map((item, index) => this.node(item, `${path}.items[${index}]`));
    const negated = group.negated ? { negated: true } : {};
    if (new Set(group.joins).size <= 1) return { kind: 'group', op: group.joins[0] ?? 'and', items, ...negated };
    // Mixed joins (native profile only, validation refused them in portable): AND binds tighter.
    const runs: ResolvedFilterNode[][] = [[items[0]!]];
    group.joins.forEach((join, index) => {
      if (join === 'or') runs.push([]);
      runs[runs.length - 1]!.push(items[index + 1]!);
    });
    const orItems = runs.map((run): ResolvedFilterNode => (run.length === 1 ? run[0]! : { kind: 'group', op: 'and', items: run }));
    return { kind: 'group', op: 'or', items: orItems, ...negated };
  }

  private comparison(comparison: FilterComparison, path: string): ResolvedFilterComparison {
    // Validation guarantees a known field on the left.
    const left = comparison.left as { kind: 'field'; name: string };
    const field = findField(this.context.description, left.name)!;
    const kind = fieldKind(field);
    if (comparison.right === undefined) return { kind: 'comparison', left, op: comparison.op };
    const right = comparison.right as FilterValue;
    if (right.kind === 'list') {
      const items = right.items.map((item, index) => this.scalar(item, `${path}.right.items[${index}]`, kind, comparison.op));
      return { kind: 'comparison', left, op: comparison.op, right: { kind: 'list', items } };
    }
    return { kind: 'comparison', left, op: comparison.op, right: this.scalar(right, `${path}.right`, kind, comparison.op) };
  }

  private scalar(value: FilterValue, path: string, kind: FieldKind, op: string): ScalarValue {
    let scalar: ScalarValue;
    if (value.kind === 'expression') {
      const evaluated = evaluateExpression(value.source, {
        variables: this.context.variables ?? {},
        timeZone: this.timeZone,
        now: this.context.now ?? new Date(),
      });
      if (evaluated.isErr()) {
        this.violations.push({ path, rule: 'invalid-value', message: evaluated.error.message });
        return { kind: 'number', value: 0 };
      }
      scalar = evaluated.value;
      const problem = incompatibility(kind, scalar.kind, this.context.profile === 'portable', op);
      if (problem) {
        this.violations.push({ path, rule: problem.rule, message: `expression "${value.source}" gave a ${scalar.kind}: ${problem.message}` });
        return scalar;
      }
    } else {
      scalar = value as ScalarValue;
    }
    return this.fitTime(scalar, kind);
  }

  /** Fits a date or date-time value to the field's time semantics in the job zone. */
  private fitTime(value: ScalarValue, kind: FieldKind): ScalarValue {
    if (value.kind === 'datetime') {
      const instant = parseInstant(value.value)!;
      const ms = Date.parse(instant);
      if (kind === 'date') return { kind: 'date', value: epochToDateInZone(ms, this.zone) };
      if (kind === 'floating') return { kind: 'datetime', value: `${epochToWallClock(ms, this.zone)}Z` };
      return { kind: 'datetime', value: instant };
    }
    if (value.kind === 'date') {
      if (kind === 'instant') return { kind: 'datetime', value: new Date(midnightInZone(value.value, this.zone)!).toISOString() };
      if (kind === 'floating') return { kind: 'datetime', value: `${value.value}T00:00:00.000Z` };
    }
    return value;
  }
}
