/**
 * Test services (PostgreSQL, Redis...) that run beside the tests on developers' and CI machines:
 * one probe that says whether a service is reachable, so a test file can skip with one clear line
 * when it is not, or fail when `CRM_SYNC_REQUIRE_SERVICES=1` (CI) so that a run can never pass by
 * skipping.
 *
 * @module
 */
import { connect } from 'node:net';

/** The environment variable that turns a missing service from a skip into a failure. */
export const REQUIRE_SERVICES_ENV = 'CRM_SYNC_REQUIRE_SERVICES';

/** What {@link probeService} found. */
export type ServiceAvailability =
  | { readonly available: true; readonly url: string }
  | { readonly available: false; readonly url: string; readonly reason: string };

/** What to probe. */
export interface ServiceProbe {
  /** Shown in messages, e.g. `PostgreSQL`. */
  readonly name: string;
  /** The environment variable that overrides the URL, e.g. `CRM_SYNC_PG_URL`. */
  readonly envVar: string;
  /** The URL when the variable is not set, e.g. `postgres://postgres@127.0.0.1:5432/test`. */
  readonly defaultUrl: string;
  /** The port when the URL has none (5432 for PostgreSQL, 6379 for Redis). */
  readonly defaultPort: number;
  /** How long the TCP connect may take, in ms. Default 1,500. */
  readonly timeoutMs?: number;
  /** The environment to read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Whether the service accepts TCP connections at its URL (`probe.envVar`, else
 * `probe.defaultUrl`). Never rejects. The URL in the result is the one to use; the reason never
 * contains the URL's password.
 */
export async function probeService(probe: ServiceProbe): Promise<ServiceAvailability> {
  const env = probe.env ?? process.env;
  const fromEnv = env[probe.envVar];
  const url = fromEnv !== undefined && fromEnv !== '' ? fromEnv : probe.defaultUrl;
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname === '' ? '127.0.0.1' : parsed.hostname.replace(/^\[|\]$/g, '');
    port = parsed.port === '' ? probe.defaultPort : Number(parsed.port);
  } catch {
    return { available: false, url, reason: `${probe.envVar} is not a URL` };
  }
  const timeoutMs = probe.timeoutMs ?? 1_500;
  const reason = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no answer from ${host}:${port} within ${timeoutMs} ms`);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`${host}:${port} unreachable (${error.code ?? error.message})`);
    });
  });
  return reason === undefined ? { available: true, url } : { available: false, url, reason };
}

/**
 * Probes the service for a test file: resolves to the URL when it is reachable, to `undefined`
 * when it is not (after printing ONE line saying why and how to run the tests), and throws when
 * `CRM_SYNC_REQUIRE_SERVICES=1`, so that CI fails instead of skipping. Use it with top-level
 * `await` and `describe.skipIf(url === undefined)`.
 *
 * @example
 * ```ts
 * const pgUrl = await requireService({ name: 'PostgreSQL', envVar: 'CRM_SYNC_PG_URL', defaultUrl: 'postgres://postgres@127.0.0.1:5432/test', defaultPort: 5432 });
 * describe.skipIf(pgUrl === undefined)('on PostgreSQL', () => { ... });
 * ```
 */
export async function requireService(probe: ServiceProbe, log: (line: string) => void = (line) => console.warn(line)): Promise<string | undefined> {
  const found = await probeService(probe);
  if (found.available) return found.url;
  const env = probe.env ?? process.env;
  const line = `${probe.name} tests: ${found.reason}; set ${probe.envVar} to a reachable ${probe.name} (default ${probe.defaultUrl})`;
  if (env[REQUIRE_SERVICES_ENV] === '1') throw new Error(`[crm-sync] ${line}. ${REQUIRE_SERVICES_ENV}=1, so a missing service fails the run instead of skipping.`);
  log(`[crm-sync] skipping ${line}, or set ${REQUIRE_SERVICES_ENV}=1 to fail instead.`);
  return undefined;
}

/** The PostgreSQL probe of crm-sync's own tests: `CRM_SYNC_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`. */
export const POSTGRES_SERVICE: ServiceProbe = {
  name: 'PostgreSQL',
  envVar: 'CRM_SYNC_PG_URL',
  defaultUrl: 'postgres://postgres@127.0.0.1:5432/test',
  defaultPort: 5432,
};

/** The Redis probe of crm-sync's own tests: `CRM_SYNC_REDIS_URL`, default `redis://127.0.0.1:6379`. */
export const REDIS_SERVICE: ServiceProbe = {
  name: 'Redis',
  envVar: 'CRM_SYNC_REDIS_URL',
  defaultUrl: 'redis://127.0.0.1:6379',
  defaultPort: 6379,
};
