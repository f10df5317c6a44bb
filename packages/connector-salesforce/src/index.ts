/**
 * `@crm-sync/connector-salesforce`: the Salesforce connector for crm-sync, over jsforce.
 * The loopback emulator lives in `@crm-sync/connector-salesforce/emulator`.
 *
 * @packageDocumentation
 */
import { connectorPlugin, type ConnectorPlugin } from '@crm-sync/sdk';
import type { SalesforceConnectorConfig } from './config.js';
import { SalesforceConnector } from './connector.js';

export { SalesforceConnector, createSalesforceConnector, SALESFORCE_DELETED_RETENTION_DAYS, type SalesforceCallStats } from './connector.js';
export { DEFAULT_API_VERSION, resolveSalesforceConfig } from './config.js';
export type {
  SalesforceConnectorConfig,
  SalesforceAuth,
  AccessTokenAuth,
  PasswordAuth,
  ClientCredentialsAuth,
  JwtAuth,
  ResolvedSalesforceConfig,
} from './config.js';
export { parseLimitInfo, type ApiUsage } from './api.js';
export { compileSoql, escapeSoqlString, soqlLiteral, MAX_SOQL_LENGTH, type SoqlCompileError } from './soql.js';
export { mapSalesforceError, parseRetryAfter, rejectFromSalesforceErrors, rejectFromBulkError, REJECT_RULES, type FailedCall, type SalesforceErrorItem } from './errors.js';
export { isSalesforceId, toCanonicalSalesforceId, salesforceIdChecksum, SALESFORCE_ID_PATTERN } from './ids.js';
export { mapSalesforceDescribe, mapSalesforceField, type SalesforceDescribe, type SalesforceField, type SalesforceGlobalObject } from './mapping.js';

/**
 * The DI plugin: `salesforceConnector(config).register(container)` registers the connector under
 * `TOKENS.Connector`, built lazily on first resolve.
 */
export function salesforceConnector(config: SalesforceConnectorConfig): ConnectorPlugin {
  return connectorPlugin('salesforce', () => new SalesforceConnector(config));
}
