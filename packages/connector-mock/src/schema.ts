/**
 * How an object of the in-memory CRM is shaped: fields as `describe` reports them, plus the few
 * facts the engine needs to behave like a CRM (primary key, id format, system timestamps,
 * validation rules).
 *
 * @module
 */
import type { FieldDescription, FieldValues } from '@crm-sync/sdk';

/**
 * A CRM-side validation rule (Salesforce validation rule, Dataverse business rule). It runs on
 * every insert and update against the record's values after the write is applied.
 */
export interface ValidationRule {
  /** A name for messages and tests. */
  name: string;
  /** The reject message when the rule fails. */
  message: string;
  /** The vendor symbol of the reject; default `FIELD_CUSTOM_VALIDATION_EXCEPTION`. */
  symbol?: string;
  /** Fields the rule concerns; reported in the reject's `fields`. */
  fields: string[];
  /** True when the record's values are acceptable. */
  valid(values: FieldValues): boolean;
}

/** The shapes of ids the engine can mint. */
export type MockIdFormat = 'mock' | 'salesforce' | 'guid';

/** The schema of one object of the in-memory CRM. */
export interface MockObjectSchema {
  /** The object's API name (`contact`, `Contact`, `contact` entity ...). */
  name: string;
  label?: string;
  /** True for custom (user-defined) objects. */
  custom?: boolean;
  /** The primary-key field (`id`, `Id`, `contactid` ...). Must be in `fields`. */
  primaryKey: string;
  /**
   * How ids look: `mock` (`CON-000001`), `salesforce` (valid 18-character ids with the case-safe
   * checksum, starting with `idPrefix`) or `guid` (lowercase v4-shaped GUIDs from a seeded PRNG).
   */
  idFormat: MockIdFormat;
  /** `salesforce`: the 3-character key prefix (`003`); `mock`: the text before the dash. */
  idPrefix?: string;
  /** Stamped with the clock's time on every write (`updatedAt`, `LastModifiedDate`, `modifiedon`). Must be in `fields`. */
  changeField: string;
  /** Also stamped on every write (`SystemModstamp`). */
  extraChangeFields?: string[];
  /** Stamped on insert (`createdAt`, `CreatedDate`, `createdon`). Must be in `fields` when set. */
  createdField?: string;
  /** Fields in describe order. */
  fields: FieldDescription[];
  /** Validation rules run on every insert and update. */
  rules?: ValidationRule[];
  /** Passed through to `ObjectDescription.vendor`. */
  vendor?: Record<string, unknown>;
}
