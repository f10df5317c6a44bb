/**
 * Wraps a connector so that every write is followed by a save of the mock CRM to its file. Saving
 * after each write (not at exit) is what lets a killed process and the next one agree on what the
 * CRM holds, as a real CRM would.
 *
 * @module
 */
import type { CrmConnector } from '@crm-sync/sdk';

/** `connector` calling `afterWrite` after each write call that reached the CRM; the rest is delegated. */
export function withSaveAfterWrite(connector: CrmConnector, afterWrite: () => void): CrmConnector {
  const wrapped: CrmConnector = {
    id: connector.id,
    capabilities: connector.capabilities,
    listObjects: (options) => connector.listObjects(options),
    describe: (object, options) => connector.describe(object, options),
    query: (request, cursor, options) => connector.query(request, cursor, options),
    getDeleted: (request, cursor, options) => connector.getDeleted(request, cursor, options),
    upsertBatch: (request, options) =>
      connector.upsertBatch(request, options).map((outcomes) => {
        afterWrite();
        return outcomes;
      }),
    delete: (request, options) =>
      connector.delete(request, options).map((outcomes) => {
        afterWrite();
        return outcomes;
      }),
    close: async () => connector.close?.(),
  };
  if (connector.serverTime === undefined) return wrapped;
  const serverTime = connector.serverTime.bind(connector);
  return { ...wrapped, serverTime: (options) => serverTime(options) };
}
