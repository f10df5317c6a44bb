/**
 * Rate-limit announcements as CRMs send them.
 *
 * @module
 */

/**
 * The reset instant of a rate limit `waitMs` from now, rounded up to a whole second, as a CRM
 * that announces an absolute reset time would send it: `{ resetAtMs, seconds }` where `seconds` is
 * the epoch-seconds header value (e.g. `X-RateLimit-Reset`).
 */
export function resetAtHeader(waitMs: number, now: number = Date.now()): { readonly resetAtMs: number; readonly seconds: string } {
  const seconds = Math.ceil((now + waitMs) / 1000);
  return { resetAtMs: seconds * 1000, seconds: String(seconds) };
}
