/**
 * The connector's id, in one place: it prefixes every message (`[crm-sync] [acme] ...`) and
 * names the connector in job files (`connector: acme`).
 *
 * @module
 */

/** The connector id. */
export const CONNECTOR_ID = 'acme';
