/**
 * `@crm-sync/connector-dynamics`: the Dynamics 365 / Dataverse connector for crm-sync, over the
 * Web API v9.2 with `@azure/msal-node` client credentials. The emulator lives under
 * `@crm-sync/connector-dynamics/emulator`.
 *
 * @packageDocumentation
 */
export { DynamicsConnector, createDynamicsConnector, dynamicsConnector } from './connector.js';
export type { DynamicsConfig, DynamicsCertificate, DeletedRecordSource, DeltaLinkStore } from './config.js';
export { DATAVERSE_CODES } from './errors.js';
export type { DynamicsObjectVendor } from './mapping.js';
