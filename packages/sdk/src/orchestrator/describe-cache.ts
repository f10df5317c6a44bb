/**
 * The describe cache: a CRM object's description kept in the option store, so that steady-state
 * runs (small incremental imports every few minutes) send no describe call, only their data pages
 * and the server time.
 *
 * One option per connector, CRM instance and object, under the reserved name
 * `CRMSYNC_DESCRIBE_<connector>_<object>`, or `CRMSYNC_DESCRIBE_<connector>_<instance>_<object>`
 * when the connector names its instance ({@link describeCacheOption}); its value is the description as JSON and its meta the time it was
 * fetched. A cached description is used while younger than the TTL (`describeCacheTtlMs`, default
 * one hour) and dropped when the CRM refuses a field name (`CrmError.unknownField`) or a job maps a
 * field it lacks: the run then describes afresh, so a field added or removed in the CRM is seen at
 * once by the run that needs it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { err, ok, type Result } from 'neverthrow';
import type { ObjectDescription } from '../contract/describe.js';
import type { OptionStore } from '../stores/types.js';
import { storeFailure, type RunContext } from './context.js';
import type { RunError } from './types.js';

/** Default TTL of a cached description: one hour. */
export const DEFAULT_DESCRIBE_CACHE_TTL_MS = 3_600_000;

/** The reserved prefix of the describe cache's options. */
export const DESCRIBE_CACHE_PREFIX = 'CRMSYNC_DESCRIBE_';

/**
 * The option holding the cached description of `object` read through connector `connectorId`,
 * on the CRM instance `instanceKey` names when the connector gives one
 * (`CrmConnector.instanceKey`; only the first 12 hex digits of its SHA-256 go into the name).
 */
export function describeCacheOption(connectorId: string, object: string, instanceKey?: string): string {
  if (instanceKey === undefined) return `${DESCRIBE_CACHE_PREFIX}${connectorId}_${object}`;
  const instance = createHash('sha256').update(instanceKey).digest('hex').slice(0, 12);
  return `${DESCRIBE_CACHE_PREFIX}${connectorId}_${instance}_${object}`;
}

/** A description and whether it came from the cache. */
export interface DescribedObject {
  readonly description: ObjectDescription;
  readonly fromCache: boolean;
}

function cachedDescription(value: string, object: string): ObjectDescription | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<ObjectDescription> | null;
    if (parsed === null || typeof parsed !== 'object' || parsed.name !== object || typeof parsed.primaryKey !== 'string' || !Array.isArray(parsed.fields)) return undefined;
    return parsed as ObjectDescription;
  } catch {
    return undefined;
  }
}

/**
 * Describes `object`: from the option store when a fresh description is cached there (and handed
 * to the connector, so its own calls do not describe again), else through the connector, caching
 * the answer (not on a dry run, which writes nothing). `fresh` skips the cache.
 */
export async function describeObject(
  context: RunContext,
  options: OptionStore,
  object: string,
  fresh = false,
): Promise<Result<DescribedObject, RunError>> {
  const { connector } = context.deps;
  const ttlMs = context.deps.describeCacheTtlMs ?? 0;
  const optionName = describeCacheOption(connector.id, object, connector.instanceKey);
  if (ttlMs > 0 && !fresh) {
    let stored;
    try {
      stored = await options.getOption(optionName);
    } catch (error) {
      return err(storeFailure(context, error, `reading option ${optionName}`));
    }
    const fetchedAt = typeof stored?.meta?.fetchedAt === 'string' ? Date.parse(stored.meta.fetchedAt) : Number.NaN;
    const age = context.deps.clock().getTime() - fetchedAt;
    const description = stored === undefined ? undefined : cachedDescription(stored.value, object);
    if (description !== undefined && age >= 0 && age < ttlMs) {
      connector.adoptDescription?.(description);
      return ok({ description, fromCache: true });
    }
  }
  const described = await context.call('describe', () => connector.describe(object));
  if (described.isErr()) return err(described.error);
  if (ttlMs > 0 && !context.options.dryRun) {
    const meta = { fetchedAt: context.deps.clock().toISOString(), connector: connector.id, object };
    try {
      await options.setOption(optionName, JSON.stringify(described.value), meta, context.fence);
    } catch (error) {
      return err(storeFailure(context, error, `caching the description of ${object} in option ${optionName}`));
    }
  }
  return ok({ description: described.value, fromCache: false });
}

/** True when a run failed because the CRM does not know a field it was sent. */
export function isUnknownFieldError(error: RunError): boolean {
  return error.crmError?.unknownField === true;
}

/** Drops the cached description of `object` (a field error showed it may be out of date). */
export async function invalidateDescription(context: RunContext, options: OptionStore, object: string): Promise<Result<void, RunError>> {
  const optionName = describeCacheOption(context.deps.connector.id, object, context.deps.connector.instanceKey);
  if (context.options.dryRun) return ok(undefined);
  try {
    await options.deleteOption(optionName, context.fence);
  } catch (error) {
    return err(storeFailure(context, error, `dropping the cached description in option ${optionName}`));
  }
  return ok(undefined);
}
