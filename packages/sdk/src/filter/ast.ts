/**
 * The portable filter AST.
 *
 * A filter is a tree of groups and comparisons. A group joins its items with logical operators
 * (`joins[i]` sits between `items[i]` and `items[i + 1]`), so the seed's rule "one logical operator
 * per level" can be stated and checked: a group whose joins mix `and` and `or` is a violation in the
 * portable profile. Right-hand sides are values or expressions; expressions are evaluated against
 * job variables before anything reaches a connector ({@link ResolvedFilterNode}).
 *
 * @module
 */

/** How items of a group are joined. */
export type LogicalOperator = 'and' | 'or';

/** Comparison operators. The portable profile allows only the first eight (see `PORTABLE_OPERATORS`). */
export type ComparisonOperator =
  | 'eq'
  | 'ne'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'isEmpty'
  | 'isNotEmpty'
  | 'in'
  | 'notIn'
  | 'startsWith'
  | 'contains'
  | 'like';

/** A literal or computed value on the right-hand side of a comparison. */
export type FilterValue =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  /** A calendar date `YYYY-MM-DD`. Dates count as numbers in the portable profile. */
  | { readonly kind: 'date'; readonly value: string }
  /** A date-time as a canonical UTC instant. Counts as a number in the portable profile. */
  | { readonly kind: 'datetime'; readonly value: string }
  | { readonly kind: 'list'; readonly items: readonly FilterValue[] }
  /**
   * An expression evaluated against job variables before the query (e.g. `daysAgo(30)`,
   * `vars.minScore * 2`). Never reaches a connector.
   */
  | { readonly kind: 'expression'; readonly source: string };

/** A reference to a field of the queried object. A dotted name is a join (not portable). */
export interface FieldOperand {
  readonly kind: 'field';
  readonly name: string;
}

/** Either side of a comparison. The left side must be a field (portable rule 4). */
export type FilterOperand = FieldOperand | FilterValue;

/** `left op right`; `isEmpty` and `isNotEmpty` have no right side. */
export interface FilterComparison {
  readonly kind: 'comparison';
  readonly left: FilterOperand;
  readonly op: ComparisonOperator;
  readonly right?: FilterOperand;
}

/** A level of the filter: items joined by logical operators, optionally negated. */
export interface FilterGroup {
  readonly kind: 'group';
  readonly items: readonly FilterNode[];
  /** `joins.length === items.length - 1`. */
  readonly joins: readonly LogicalOperator[];
  /** A negated group (`AND NOT (...)`): refused by the portable profile (rule 2). */
  readonly negated?: boolean;
}

/** Any node of a filter. */
export type FilterNode = FilterGroup | FilterComparison;

/** A value with expressions already evaluated. */
export type ResolvedFilterValue = Exclude<FilterValue, { kind: 'expression' | 'list' }> | {
  readonly kind: 'list';
  readonly items: readonly Exclude<FilterValue, { kind: 'expression' | 'list' }>[];
};

/** A comparison as a connector receives it: a field on the left, a resolved value on the right. */
export interface ResolvedFilterComparison {
  readonly kind: 'comparison';
  readonly left: FieldOperand;
  readonly op: ComparisonOperator;
  readonly right?: ResolvedFilterValue;
}

/** A group as a connector receives it: one logical operator per level. */
export interface ResolvedFilterGroup {
  readonly kind: 'group';
  readonly op: LogicalOperator;
  readonly items: readonly ResolvedFilterNode[];
  readonly negated?: boolean;
}

/**
 * A filter as it reaches a connector: validated against the object's description and the job's
 * profile, expressions evaluated, one logical operator per group, the left side always a field.
 * Connectors compile it to SOQL/OData/... and must escape every literal.
 */
export type ResolvedFilterNode = ResolvedFilterGroup | ResolvedFilterComparison;

/** The filter profiles: `portable` follows the seed's five rules; `native` uses connector capabilities. */
export type FilterProfile = 'portable' | 'native';

/** Operators every connector supports (the portable profile). */
export const PORTABLE_OPERATORS: readonly ComparisonOperator[] = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'isEmpty',
  'isNotEmpty',
];
