/**
 * Checks of `listObjects` and `describe`: the metadata every job is validated against.
 *
 * @module
 */
import type { FieldDescription } from '@crm-sync/sdk';
import { defineCheck, FAILURE_KINDS } from './define-check.js';
import { describeFixtureObject, resolveChangeField, sample } from './read-helpers.js';

function duplicatesOf(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.filter((name) => (seen.has(name) ? true : (seen.add(name), false)));
}

const TIMED_TYPES: ReadonlySet<FieldDescription['type']> = new Set(['date', 'datetime', 'time']);

/** `listObjects` names are unique and include the fixture object. */
const listObjectsShape = defineCheck({
  id: 'describe/list-objects-shape',
  group: 'describe',
  title: 'listObjects returns unique names including the fixture object',
  async body(scope) {
    const objects = await scope.expectOk(scope.connector.listObjects(), 'listObjects()');
    const names = objects.map((object) => object.name);
    const duplicates = duplicatesOf(names);
    if (duplicates.length > 0) scope.fail(FAILURE_KINDS.wrongShape, `listObjects returned duplicate names: ${sample(duplicates)}`);
    if (!names.includes(scope.fixtures.object)) {
      scope.fail(FAILURE_KINDS.wrongShape, `listObjects does not list the fixture object '${scope.fixtures.object}' (got ${sample(names)})`);
    }
  },
});

/** `describe` reports a flagged primary key, unique field names, time semantics and the change field. */
const describeObjectShape = defineCheck({
  id: 'describe/object-shape',
  group: 'describe',
  title: 'describe flags the primary key, keeps field names unique, sets time semantics and has the change field',
  async body(scope) {
    const description = await describeFixtureObject(scope);
    const where = `describe('${scope.fixtures.object}')`;
    if (description.name !== scope.fixtures.object) {
      scope.fail(FAILURE_KINDS.wrongShape, `${where} answered for object '${description.name}'`);
    }
    const duplicates = duplicatesOf(description.fields.map((field) => field.name));
    if (duplicates.length > 0) scope.fail(FAILURE_KINDS.wrongShape, `${where}: duplicate field names ${sample(duplicates)}`);
    const primaryKey = description.fields.find((field) => field.name === description.primaryKey);
    if (!primaryKey) return scope.fail(FAILURE_KINDS.wrongShape, `${where}: primary key '${description.primaryKey}' is not among the fields`);
    if (!primaryKey.primaryKey) scope.fail(FAILURE_KINDS.wrongShape, `${where}: field '${primaryKey.name}' is the primary key but not flagged primaryKey`);
    const otherKeys = description.fields.filter((field) => field.primaryKey && field.name !== description.primaryKey);
    if (otherKeys.length > 0) scope.fail(FAILURE_KINDS.wrongShape, `${where}: fields ${sample(otherKeys.map((f) => f.name))} are flagged primaryKey too`);
    const untimed = description.fields.filter((field) => TIMED_TYPES.has(field.type) && field.timeSemantics === undefined);
    if (untimed.length > 0) {
      scope.fail(FAILURE_KINDS.wrongShape, `${where}: date/time fields without timeSemantics: ${sample(untimed.map((f) => f.name))}`);
    }
    const changeField = resolveChangeField(scope, description);
    const change = description.fields.find((field) => field.name === changeField);
    if (change?.type !== 'datetime') scope.fail(FAILURE_KINDS.wrongShape, `${where}: change field '${changeField}' has type '${change?.type}', expected 'datetime'`);
    const externalId = scope.fixtures.externalIdField;
    if (externalId !== undefined && scope.connector.capabilities.upsertByExternalId) {
      const field = description.fields.find((candidate) => candidate.name === externalId);
      if (!field?.externalId) scope.fail(FAILURE_KINDS.wrongShape, `${where}: fixtures.externalIdField '${externalId}' is missing or not flagged externalId`);
    }
  },
});

/** `describe` of an unknown object fails with kind `not-found`. */
const describeUnknownObject = defineCheck({
  id: 'describe/unknown-object',
  group: 'describe',
  title: "describe of an unknown object fails with kind 'not-found'",
  async body(scope) {
    const error = await scope.expectErr(scope.connector.describe('CrmSyncNoSuchObject'), "describe('CrmSyncNoSuchObject')");
    if (error.kind !== 'not-found') scope.fail(FAILURE_KINDS.wrongErrorKind, `describe of an unknown object failed with kind '${error.kind}', expected 'not-found'`);
    if (!error.message.startsWith('[crm-sync] [')) scope.fail(FAILURE_KINDS.wrongShape, `error message is not prefixed '[crm-sync] [<connector>]': ${error.message}`);
  },
});

/** The describe group, in run order. */
export const describeChecks = [listObjectsShape, describeObjectShape, describeUnknownObject] as const;
