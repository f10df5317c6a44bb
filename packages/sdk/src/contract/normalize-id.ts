/**
 * Comparing record ids the way the CRM compares them, through the connector's optional
 * `normalizeId`.
 *
 * @module
 */
import type { CrmConnector } from './connector.js';

/**
 * The function that maps an id of `object` to its canonical form with `connector`'s
 * `normalizeId`; the identity when the connector has none. A `normalizeId` that throws or returns
 * something other than a non-empty string (a connector bug) leaves the id unchanged, so ids still
 * compare as exact strings rather than failing the run.
 */
export function idNormalizer(connector: CrmConnector, object: string): (id: string) => string {
  const normalize = connector.normalizeId?.bind(connector);
  if (normalize === undefined) return (id) => id;
  return (id) => {
    try {
      const canonical = normalize(object, id);
      return typeof canonical === 'string' && canonical !== '' ? canonical : id;
    } catch {
      return id;
    }
  };
}
