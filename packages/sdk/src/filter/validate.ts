/**
 * Validation of a filter against an object's description, a profile and a connector's
 * capabilities, before any CRM call.
 *
 * The portable profile enforces the seed's five rules (mission O1): one logical operator per
 * level, no negated group, comparisons only against null or numbers (dates count as numbers),
 * a field on the left, no joins. The native profile relaxes them to what the connector declares.
 * Every violation names the node (`filter.items[1].right`) and the rule it breaks, so a user can
 * find and fix it in the job file.
 *
 * @module
 */
import { DateTime } from 'luxon';
import type { ConnectorCapabilities } from '../contract/capabilities.js';
import { findField, type ObjectDescription } from '../contract/describe.js';
import { parseInstant } from '../contract/values.js';
import { fieldKind, isNumericKind, isTemporalKind, type FieldKind } from '../conversion/field-kind.js';
import {
  PORTABLE_OPERATORS,
  type FilterComparison,
  type FilterGroup,
  type FilterNode,
  type FilterOperand,
  type FilterProfile,
  type FilterValue,
} from './ast.js';
import { inferExpressionType, parseExpression, type ExpressionType } from './expression-parser.js';

/** The rules a filter can break. */
export type FilterRule =
  /** Portable rule 1: a group joins its items with AND only or OR only. */
  | 'single-operator-per-level'
  /** Portable rule 2: no `AND NOT (...)`; native only with `capabilities.negatedGroups`. */
  | 'no-negated-group'
  /** Portable rule 3: compare only with null (`isEmpty`) or numbers; dates count as numbers. */
  | 'numeric-or-null-comparison'
  /** Portable rule 4: the left-hand side is a field of the object. */
  | 'left-side-field'
  /** Portable rule 5: no paths into related objects. */
  | 'no-joins'
  /** The field is not on the object. */
  | 'unknown-field'
  /** The CRM does not allow filtering on the field. */
  | 'not-filterable'
  /** The operator is not in the profile (portable) or the connector's capabilities (native). */
  | 'unsupported-operator'
  /** A value is malformed or does not fit the field's type. */
  | 'invalid-value'
  /** The node itself is malformed (wrong number of joins, empty group, unknown kind). */
  | 'malformed';

/** One problem in a filter. */
export interface FilterViolation {
  /** Where: `filter.items[1].right` (the prefix is the context's `path`). */
  readonly path: string;
  readonly rule: FilterRule;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** What a filter is validated against. */
export interface FilterValidationContext {
  readonly description: ObjectDescription;
  readonly profile: FilterProfile;
  readonly capabilities: ConnectorCapabilities;
  /** Prefix of every violation path: `filter` by default, or a job-file path. */
  readonly path?: string;
}

/** The type a right-hand value has for compatibility checks. */
export type FilterValueType = 'number' | 'string' | 'boolean' | 'date' | 'datetime' | 'unknown';

const TEXT_OPERATORS = new Set(['startsWith', 'contains', 'like']);

/** Validates a filter; an empty array means it is valid. Never throws. */
export function validateFilter(filter: FilterNode, context: FilterValidationContext): FilterViolation[] {
  const violations: FilterViolation[] = [];
  new FilterValidator(context, violations).node(filter, context.path ?? 'filter');
  return violations;
}

class FilterValidator {
  private readonly portable: boolean;
  private readonly allowedOperators: ReadonlySet<string>;
  constructor(
    private readonly context: FilterValidationContext,
    private readonly out: FilterViolation[],
  ) {
    this.portable = context.profile === 'portable';
    this.allowedOperators = new Set(
      this.portable ? PORTABLE_OPERATORS : [...PORTABLE_OPERATORS, ...context.capabilities.filterOperators],
    );
  }

  private add(path: string, rule: FilterRule, message: string): void {
    this.out.push({ path, rule, message });
  }

  node(node: FilterNode, path: string): void {
    if (node?.kind === 'group') this.group(node, path);
    else if (node?.kind === 'comparison') this.comparison(node, path);
    else this.add(path, 'malformed', `a filter node must have kind "group" or "comparison", got ${JSON.stringify((node as { kind?: unknown })?.kind)}`);
  }

  private group(group: FilterGroup, path: string): void {
    if (group.items.length === 0) {
      this.add(path, 'malformed', 'an empty group matches nothing useful; remove it or add conditions');
    }
    if (group.joins.length !== Math.max(0, group.items.length - 1)) {
      this.add(
        `${path}.joins`,
        'malformed',
        `a group of ${group.items.length} items needs ${Math.max(0, group.items.length - 1)} joins, got ${group.joins.length}`,
      );
    }
    if (this.portable && new Set(group.joins).size > 1) {
      this.add(
        `${path}.joins`,
        'single-operator-per-level',
        'this level mixes AND and OR (portable rule 1); nest the AND-ed conditions in their own group',
      );
    }
    if (group.negated && (this.portable || !this.context.capabilities.negatedGroups)) {
      this.add(
        path,
        'no-negated-group',
        this.portable
          ? 'negated groups (AND NOT) are not portable (rule 2); invert the conditions instead (e.g. lt for gte)'
          : 'this connector does not support negated groups; invert the conditions instead',
      );
    }
    group.items.forEach((item, index) => this.node(item, `${path}.items[${index}]`));
  }

  private comparison(comparison: FilterComparison, path: string): void {
    const kind = this.leftField(comparison.left, `${path}.left`);
    if (!this.allowedOperators.has(comparison.op)) {
      const allowed = [...this.allowedOperators].join(', ');
      this.add(
        `${path}.op`,
        'unsupported-operator',
        this.portable
          ? `operator "${comparison.op}" is not portable; use one of ${allowed}, or opt into the native profile if the connector supports it`
          : `the connector does not support operator "${comparison.op}" (capabilities.filterOperators); supported: ${allowed}`,
      );
    }
    const emptiness = comparison.op === 'isEmpty' || comparison.op === 'isNotEmpty';
    if (emptiness) {
      if (comparison.right !== undefined) {
        this.add(`${path}.right`, 'invalid-value', `"${comparison.op}" takes no right-hand side; remove it`);
      }
      return;
    }
    if (comparison.right === undefined) {
      this.add(`${path}.right`, 'invalid-value', `"${comparison.op}" needs a right-hand side value`);
      return;
    }
    const isList = comparison.op === 'in' || comparison.op === 'notIn';
    if (this.portable && kind !== undefined && !isNumericKind(kind) && !isTemporalKind(kind)) {
      this.add(
        `${path}.left`,
        'numeric-or-null-comparison',
        `field "${fieldName(comparison.left)}" is a ${kind} field; portable filters compare only number and date fields (rule 3), or test it with isEmpty/isNotEmpty`,
      );
      return;
    }
    if (isList) {
      const right = comparison.right;
      if (right.kind !== 'list' || right.items.length === 0) {
        this.add(`${path}.right`, 'invalid-value', `"${comparison.op}" needs a non-empty list of values (f.${comparison.op}(field, [a, b]))`);
        return;
      }
      right.items.forEach((item, index) => this.value(item, `${path}.right.items[${index}]`, kind, comparison.op));
      return;
    }
    this.value(comparison.right, `${path}.right`, kind, comparison.op);
  }

  /** Checks the left side; returns the field's kind when it is a known, filterable field. */
  private leftField(left: FilterOperand, path: string): FieldKind | undefined {
    if (left?.kind !== 'field') {
      this.add(path, 'left-side-field', `the left-hand side must be a field of ${this.context.description.name}, not a ${String(left?.kind)} (rule 4)`);
      return undefined;
    }
    if (left.name.includes('.')) {
      this.add(path, 'no-joins', `"${left.name}" is a path into a related object; filters cannot join (rule 5): filter on a field of ${this.context.description.name}`);
      return undefined;
    }
    const field = findField(this.context.description, left.name);
    if (!field) {
      const near = this.context.description.fields.find((candidate) => candidate.name.toLowerCase() === left.name.toLowerCase());
      this.add(
        path,
        'unknown-field',
        `"${left.name}" is not a field of ${this.context.description.name}${near ? `; did you mean "${near.name}"?` : '; check the name against describe()'}`,
      );
      return undefined;
    }
    if (!field.filterable) {
      this.add(path, 'not-filterable', `field "${field.name}" of ${this.context.description.name} cannot be filtered on by the CRM; filter on another field`);
      return undefined;
    }
    return fieldKind(field);
  }

  private value(value: FilterOperand, path: string, kind: FieldKind | undefined, op: string): void {
    const type = this.valueType(value, path);
    if (type === undefined || type === 'unknown' || kind === undefined) return;
    const problem = incompatibility(kind, type, this.portable, op);
    if (problem) this.add(path, problem.rule, problem.message);
  }

  /** Checks that a value is well formed; returns its type, or undefined after reporting. */
  private valueType(value: FilterOperand, path: string): FilterValueType | undefined {
    switch (value?.kind) {
      case 'field':
        this.add(
          path,
          this.portable ? 'numeric-or-null-comparison' : 'invalid-value',
          `the right-hand side is field "${value.name}"; filters compare a field with a value, not with another field`,
        );
        return undefined;
      case 'number':
        if (!Number.isFinite(value.value)) return this.invalid(path, `${String(value.value)} is not a finite number`);
        return 'number';
      case 'string':
        return 'string';
      case 'boolean':
        return 'boolean';
      case 'date':
        if (!isCalendarDate(value.value)) return this.invalid(path, `"${value.value}" is not a date; write YYYY-MM-DD, e.g. 2012-11-01`);
        return 'date';
      case 'datetime':
        if (parseInstant(value.value) === undefined) {
          return this.invalid(path, `"${value.value}" is not a date-time with an offset; write e.g. 2012-11-01T00:00:00Z`);
        }
        return 'datetime';
      case 'expression': {
        const parsed = parseExpression(value.source);
        if (parsed.isErr()) return this.invalid(path, parsed.error.message);
        return expressionValueType(inferExpressionType(parsed.value), (message) => this.invalid(path, message), value.source);
      }
      case 'list':
        return this.invalid(path, 'a list is only allowed with "in" / "notIn"');
      default:
        return this.invalid(path, `unknown value kind ${JSON.stringify((value as { kind?: unknown })?.kind)}`);
    }
  }

  private invalid(path: string, message: string): undefined {
    this.add(path, 'invalid-value', message);
    return undefined;
  }
}

function expressionValueType(
  type: ExpressionType,
  invalid: (message: string) => undefined,
  source: string,
): FilterValueType | undefined {
  if (type === 'string') return invalid(`expression "${source}" is a bare string; wrap it in date(...) or datetime(...)`);
  return type;
}

function fieldName(operand: FilterOperand): string {
  return operand.kind === 'field' ? operand.name : '?';
}

/** True for a real `YYYY-MM-DD` calendar date. */
export function isCalendarDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text, { zone: 'UTC' }).isValid;
}

/**
 * Why a value of `type` cannot be compared with a field of `kind`, or undefined when it can.
 * Exported for `resolveFilter`, which re-checks values that came from job variables.
 */
export function incompatibility(
  kind: FieldKind,
  type: Exclude<FilterValueType, 'unknown'>,
  portable: boolean,
  op: string,
): { rule: FilterRule; message: string } | undefined {
  if (portable && (type === 'string' || type === 'boolean')) {
    return {
      rule: 'numeric-or-null-comparison',
      message: `a ${type} value is not portable: compare only with numbers, dates or null (rule 3), or use the native profile`,
    };
  }
  if (TEXT_OPERATORS.has(op)) {
    return kind === 'text' && type === 'string'
      ? undefined
      : { rule: 'invalid-value', message: `"${op}" compares a text field with a string; got a ${kind} field and a ${type} value` };
  }
  const fits =
    (isNumericKind(kind) && type === 'number') ||
    (isTemporalKind(kind) && (type === 'date' || type === 'datetime')) ||
    (kind === 'boolean' && type === 'boolean') ||
    (kind === 'text' && type === 'string');
  if (fits) return undefined;
  const hint = isTemporalKind(kind) ? "a date (v.date('2012-11-01')) or a date expression (daysAgo(30))" : isNumericKind(kind) ? 'a number' : kind === 'boolean' ? 'true or false' : 'a string';
  return { rule: 'invalid-value', message: `a ${type} value does not fit a ${kind} field; compare it with ${hint}` };
}

/** The type of a resolved right-hand value (for re-checks after evaluation). */
export function filterValueType(value: FilterValue): FilterValueType {
  return value.kind === 'expression' || value.kind === 'list' ? 'unknown' : value.kind;
}
