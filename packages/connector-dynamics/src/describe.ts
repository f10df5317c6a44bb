/**
 * `listObjects` and `describe` from the Dataverse `EntityDefinitions` metadata.
 *
 * The base attribute metadata does not carry DateTimeBehavior, choices or text lengths; those
 * need casts (`.../Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata`), so one describe
 * sends four GETs in parallel and merges them.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { crmError, type CrmError, type ObjectDescription, type ObjectSummary } from '@crm-sync/sdk';
import { CONNECTOR_ID } from './errors.js';
import type { DataverseHttp } from './http.js';
import { describeEntity, summarizeEntity, type DataverseAttributeMetadata, type DataverseEntityMetadata } from './mapping.js';

const LOGICAL_NAME = /^[a-z_][a-z0-9_]*$/;

const ENTITY_SELECT = 'LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,DisplayName,IsCustomEntity,IsAuditEnabled,ChangeTrackingEnabled';
const ATTRIBUTE_SELECT = 'LogicalName,AttributeType,AttributeTypeName,DisplayName,IsValidForCreate,IsValidForUpdate,IsValidForRead,IsPrimaryId,AttributeOf,IsCustomAttribute,RequiredLevel';

function valueArray<T>(json: unknown): T[] {
  const value = (json as { value?: unknown } | undefined)?.value;
  return Array.isArray(value) ? (value as T[]) : [];
}

/** Lists the tables of the organisation. */
export function listDataverseObjects(http: DataverseHttp, signal?: AbortSignal): ResultAsync<readonly ObjectSummary[], CrmError> {
  return http
    .send({ method: 'GET', path: `EntityDefinitions?$select=${ENTITY_SELECT}`, operation: 'GET EntityDefinitions', ...(signal ? { signal } : {}) })
    .map((response) => valueArray<DataverseEntityMetadata>(response.json).map(summarizeEntity));
}

/** Describes one table by logical name (`contact`, `account`, ...). */
export function describeDataverseObject(http: DataverseHttp, object: string, signal?: AbortSignal): ResultAsync<ObjectDescription, CrmError> {
  if (!LOGICAL_NAME.test(object)) {
    // Never sent: a name outside the logical-name alphabet cannot exist, and must not reach a URL.
    return errAsync(crmError('not-found', CONNECTOR_ID, `describe: '${object}' is not a Dataverse table logical name (lower case, e.g. 'contact'); see listObjects() for the tables`));
  }
  const base = `EntityDefinitions(LogicalName='${object}')`;
  const get = (path: string, operation: string) =>
    http.send({ method: 'GET', path, operation, ...(signal ? { signal } : {}) }).map((response) => response.json);
  const entity = get(`${base}?$select=${ENTITY_SELECT}&$expand=Attributes($select=${ATTRIBUTE_SELECT}),Keys($select=LogicalName,KeyAttributes)`, `GET ${base}`);
  const dates = get(`${base}/Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata?$select=LogicalName,DateTimeBehavior`, `GET ${base} date-time attributes`);
  const choices = get(`${base}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)`, `GET ${base} choice attributes`);
  const strings = get(`${base}/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength,FormatName`, `GET ${base} string attributes`);
  return ResultAsync.combine([entity, dates, choices, strings])
    .mapErr((error) =>
      error.kind === 'not-found'
        ? crmError('not-found', CONNECTOR_ID, `describe: table '${object}' does not exist in this organisation; see listObjects() for the logical names`, {
            ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
            ...(error.vendorCode !== undefined ? { vendorCode: error.vendorCode } : {}),
          })
        : error,
    )
    .andThen(([entityJson, datesJson, choicesJson, stringsJson]) => {
      const metadata = entityJson as DataverseEntityMetadata | undefined;
      if (metadata === undefined || typeof metadata.EntitySetName !== 'string') {
        return errAsync(crmError('unknown', CONNECTOR_ID, `describe: EntityDefinitions answer for '${object}' has no EntitySetName`));
      }
      const extra = new Map<string, Partial<DataverseAttributeMetadata>>();
      const merge = (json: unknown, pick: (item: DataverseAttributeMetadata) => Partial<DataverseAttributeMetadata>) => {
        for (const item of valueArray<DataverseAttributeMetadata>(json)) {
          extra.set(item.LogicalName, { ...extra.get(item.LogicalName), ...pick(item) });
        }
      };
      merge(datesJson, (item) => (item.DateTimeBehavior ? { DateTimeBehavior: item.DateTimeBehavior } : {}));
      merge(choicesJson, (item) => (item.OptionSet ? { OptionSet: item.OptionSet } : {}));
      merge(stringsJson, (item) => ({
        ...(typeof item.MaxLength === 'number' ? { MaxLength: item.MaxLength } : {}),
        ...(item.FormatName ? { FormatName: item.FormatName } : {}),
      }));
      const attributes = (metadata.Attributes ?? []).map((attribute) => ({ ...attribute, ...extra.get(attribute.LogicalName) }));
      return okAsync(describeEntity({ ...metadata, Attributes: attributes }));
    });
}
