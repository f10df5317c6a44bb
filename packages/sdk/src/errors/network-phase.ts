/**
 * Where a network failure happened: before the request could leave the machine (the CRM received
 * nothing, so a write is never in doubt) or after it may have reached the CRM (a write is in doubt).
 *
 * HTTP clients wrap socket errors: undici's `fetch` throws `TypeError: fetch failed` with the
 * socket error on `cause` (sometimes nested twice, or an `AggregateError` of one error per
 * address), jsforce and node-fetch keep `code`/`errno`. {@link networkFailure} walks the whole
 * chain.
 *
 * @module
 */

/**
 * Codes that mean no connection was made: refused, DNS failure, unreachable host or network,
 * connect time-out, TLS handshake refused. The request was never written.
 */
export const CONNECT_PHASE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * Codes of a connection that was open when it failed: the request may have been written and
 * committed by the CRM although no answer came back.
 */
export const AFTER_SEND_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** What {@link networkFailure} found in an error chain. */
export interface NetworkFailure {
  /** The socket-level code found (`ECONNREFUSED`, `ECONNRESET`, `UND_ERR_CONNECT_TIMEOUT`, ...). */
  readonly code: string;
  /**
   * `connect`: no connection was made and nothing was sent (never in doubt).
   * `after-send`: the connection failed while or after the request was written (a write is in doubt).
   */
  readonly phase: 'connect' | 'after-send';
}

/** Syscalls that fail before any byte of the request is written. */
const CONNECT_SYSCALLS = new Set(['connect', 'getaddrinfo', 'getaddrinfo_async']);

/** Node's message for a socket closed during the TLS handshake (before the request was written). */
const TLS_HANDSHAKE_TEXT = /before secure TLS connection was established|handshake/i;

/** How deep the cause chain is followed (guards against cycles). */
const MAX_DEPTH = 8;

/** The errors of one link of the chain: itself, its `cause`, and the members of an AggregateError. */
function* chain(error: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return;
  const link = error as Record<string, unknown>;
  yield link;
  if (Array.isArray(link.errors)) for (const member of link.errors) yield* chain(member, depth + 1);
  if (link.cause !== undefined && link.cause !== error) yield* chain(link.cause, depth + 1);
}

/**
 * Finds the socket failure in a thrown error and its causes, and says in which phase it happened.
 * `undefined` when the chain holds no known socket code (an HTTP answer, a parse error, a bug).
 *
 * A connect-phase code anywhere in the chain wins (an `AggregateError` of refused addresses);
 * `ETIMEDOUT`/`ECONNRESET` count as connect-phase only when Node says the `connect`/`getaddrinfo`
 * syscall failed or the TLS handshake had not finished.
 *
 * @example
 * ```ts
 * const failure = networkFailure(thrown);
 * const inDoubt = isWrite && failure?.phase !== 'connect';
 * ```
 */
export function networkFailure(error: unknown): NetworkFailure | undefined {
  let afterSend: NetworkFailure | undefined;
  for (const link of chain(error)) {
    for (const candidate of [link.code, link.errno]) {
      if (typeof candidate !== 'string') continue;
      if (CONNECT_PHASE_CODES.has(candidate)) return { code: candidate, phase: 'connect' };
      if (AFTER_SEND_CODES.has(candidate) || candidate.startsWith('ERR_SSL_') || candidate.startsWith('ERR_TLS_')) {
        const syscall = typeof link.syscall === 'string' ? link.syscall : '';
        const message = typeof link.message === 'string' ? link.message : '';
        if (CONNECT_SYSCALLS.has(syscall) || candidate.startsWith('ERR_SSL_') || candidate.startsWith('ERR_TLS_') || (candidate === 'ECONNRESET' && TLS_HANDSHAKE_TEXT.test(message))) {
          return { code: candidate, phase: 'connect' };
        }
        afterSend ??= { code: candidate, phase: 'after-send' };
      }
    }
  }
  return afterSend;
}

/** True when the error chain shows that no connection was made, so the CRM received nothing. */
export function isConnectPhaseFailure(error: unknown): boolean {
  return networkFailure(error)?.phase === 'connect';
}
