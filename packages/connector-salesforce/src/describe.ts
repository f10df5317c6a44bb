/**
 * `listObjects` and `describe` over describeGlobal and sObject describe, cached per connector
 * instance (one run) or handed over from the orchestrator's describe cache, so a job's many queries cost one describe call per object.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { crmError, type CrmError, type ObjectDescription, type ObjectSummary } from '@crm-sync/sdk';
import type { SalesforceApi } from './api.js';
import { CONNECTOR_ID } from './errors.js';
import {
  mapSalesforceDescribe,
  mapSalesforceObjectSummary,
  type SalesforceDescribe,
  type SalesforceGlobalObject,
} from './mapping.js';

/** An sObject API name: a letter, then letters, digits and underscores (custom: `__c`). */
const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/** Checks an object name before it reaches a URL or a SOQL `FROM`. */
export function checkObjectName(object: string): ResultAsync<string, CrmError> {
  if (typeof object === 'string' && OBJECT_NAME.test(object)) return okAsync(object);
  return errAsync(
    crmError('invalid-request', CONNECTOR_ID, `"${String(object).slice(0, 80)}" is not a Salesforce object name; use a name from listObjects() such as "Contact"`),
  );
}

/** Caches describe answers for the life of a connector instance. */
export class DescribeCache {
  private objects: ObjectSummary[] | undefined;
  private readonly descriptions = new Map<string, ObjectDescription>();

  constructor(private readonly api: SalesforceApi) {}

  /** describeGlobal, mapped. */
  listObjects(signal?: AbortSignal): ResultAsync<readonly ObjectSummary[], CrmError> {
    if (this.objects) return okAsync(this.objects);
    return this.api
      .call<{ sobjects?: SalesforceGlobalObject[] }>({ method: 'GET', path: `${this.api.basePath}/sobjects`, ...(signal ? { signal } : {}) })
      .map((answer) => {
        this.objects = (answer.body.sobjects ?? []).map(mapSalesforceObjectSummary);
        return this.objects;
      });
  }

  /** Takes a description held elsewhere (the orchestrator's describe cache); no call. */
  adopt(description: ObjectDescription): void {
    this.descriptions.set(description.name, description);
  }

  /** Forgets the description of `object`, so the next describe asks Salesforce. */
  forget(object: string): void {
    this.descriptions.delete(object);
  }

  /** sObject describe, mapped. Unknown objects fail with kind `not-found`. */
  describe(object: string, signal?: AbortSignal): ResultAsync<ObjectDescription, CrmError> {
    const cached = this.descriptions.get(object);
    if (cached) return okAsync(cached);
    return checkObjectName(object).andThen((name) =>
      this.api
        .call<SalesforceDescribe>({ method: 'GET', path: `${this.api.basePath}/sobjects/${name}/describe`, ...(signal ? { signal } : {}) })
        .map((answer) => {
          const description = mapSalesforceDescribe(answer.body);
          this.descriptions.set(object, description);
          return description;
        }),
    );
  }
}
