/**
 * `crm-sync-connector-acme`: a crm-sync connector for Acme CRM, a fictional REST CRM. It is the
 * template that `pnpm create-connector <name>` copies: replace Acme's HTTP calls with your CRM's,
 * keep the shape, and run the contract suite.
 *
 * @packageDocumentation
 */
export { AcmeConnector, createAcmeConnector, acmeConnector, ACME_LIMITS, ACME_CAPABILITIES } from './connector.js';
export { resolveAcmeConfig, type AcmeConfig, type ResolvedAcmeConfig } from './config.js';
export { CONNECTOR_ID } from './connector-id.js';
export { compileAcmeFilter, compileAcmeWhere, escapeAcmeString, type AcmeOperator } from './filter.js';
export { mapAcmeHttpError, parseResetMs, parseRetryAfterMs, RATE_LIMIT_RESET_HEADER, type AcmeErrorBody } from './errors.js';
export { mapAcmeField, mapAcmeObject, decodeAcmeValue, type AcmeField, type AcmeFieldType, type AcmeObject, type AcmeObjectSummary } from './mapping.js';
export { crmSyncPlugin, type AcmeSettings } from './plugin.js';
