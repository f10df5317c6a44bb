// The service probe of the tests that need PostgreSQL (and later Redis): skip with one line when
// the service is unreachable, fail instead under CRM_SYNC_REQUIRE_SERVICES=1.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeService, requireService, type ServiceProbe } from '../src/index.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listening(): Promise<number> {
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function probe(url: string, env: Record<string, string> = {}): ServiceProbe {
  return { name: 'PostgreSQL', envVar: 'CRM_SYNC_PG_URL', defaultUrl: 'postgres://postgres@127.0.0.1:1/test', defaultPort: 5432, env: { CRM_SYNC_PG_URL: url, ...env } };
}

describe('probeService / requireService', () => {
  it('finds a listening service at the URL of the environment variable', async () => {
    const port = await listening();
    const url = `postgres://postgres@127.0.0.1:${port}/test`;
    expect(await probeService(probe(url))).toEqual({ available: true, url });
    expect(await requireService(probe(url), () => undefined)).toBe(url);
  });

  it('skips with ONE line naming the address, the reason and how to fix it, never the password', async () => {
    const lines: string[] = [];
    const url = 'postgres://crm:pw-secret-77@127.0.0.1:1/test';
    expect(await requireService(probe(url), (line) => lines.push(line))).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[crm-sync\] skipping PostgreSQL tests: 127\.0\.0\.1:1 unreachable \(ECONNREFUSED\); set CRM_SYNC_PG_URL .*CRM_SYNC_REQUIRE_SERVICES=1 to fail instead\.$/);
    expect(lines[0]).not.toContain('pw-secret-77');
  });

  it('fails instead of skipping with CRM_SYNC_REQUIRE_SERVICES=1', async () => {
    await expect(requireService(probe('postgres://postgres@127.0.0.1:1/test', { CRM_SYNC_REQUIRE_SERVICES: '1' }), () => undefined)).rejects.toThrow(
      /PostgreSQL tests: 127\.0\.0\.1:1 unreachable .*CRM_SYNC_REQUIRE_SERVICES=1, so a missing service fails the run instead of skipping/,
    );
  });

  it('uses the default URL and port when the variable is unset or has no port', async () => {
    const found = await probeService({ name: 'Redis', envVar: 'X_UNSET', defaultUrl: 'redis://127.0.0.1', defaultPort: 1, env: {} });
    expect(found).toMatchObject({ available: false, url: 'redis://127.0.0.1', reason: '127.0.0.1:1 unreachable (ECONNREFUSED)' });
  });
});
