import { ManualClock } from '@crm-sync/connector-mock';
import { describe, expect, it } from 'vitest';
import { DynamicsConnector } from '../src/index.js';
import { startDataverseEmulator } from '../src/emulator/index.js';

const contact = (n: number) => ({ lastname: `Last ${n}`, firstname: `First ${n}`, crm_synckey: `ext-${n}` });

describe('Dataverse emulator clock and outage', () => {
  it("runs on the machine's clock by default and freezes it only when asked", async () => {
    const live = await startDataverseEmulator();
    const frozen = await startDataverseEmulator({ fixedClock: true });
    try {
      const before = Date.now();
      expect(live.crm.clock.now().getTime()).toBeGreaterThanOrEqual(before);
      expect(live.crm.clock).not.toBeInstanceOf(ManualClock);
      expect(frozen.crm.clock.now().toISOString()).toBe('2024-01-01T00:00:00.000Z');
      expect(frozen.crm.clock).toBeInstanceOf(ManualClock);
    } finally {
      await live.close();
      await frozen.close();
    }
  });

  it('stop() refuses connections as a plain retryable error (never in doubt); start() keeps data and tokens on the same port', async () => {
    const emulator = await startDataverseEmulator();
    const connector = new DynamicsConnector(emulator.connectorConfig());
    try {
      expect((await connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: contact(1) }] }))._unsafeUnwrap()[0]?.ok).toBe(true);
      const url = emulator.url;
      await emulator.stop();
      expect(emulator.running).toBe(false);
      const refused = (await connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: contact(2) }] }))._unsafeUnwrapErr();
      expect([refused.kind, refused.retryable, refused.inDoubt ?? false, refused.vendorCode]).toEqual(['transient', true, false, 'ECONNREFUSED']);
      expect(emulator.crm.count('contact')).toBe(1);
      await emulator.start();
      expect([emulator.running, emulator.url]).toEqual([true, url]);
      // The connector's cached token is still accepted: no new token request after the restart.
      const tokensBefore = emulator.apiCalls.token;
      expect((await connector.upsertBatch({ object: 'contact', mode: 'insert', records: [{ values: contact(2) }] }))._unsafeUnwrap()[0]?.ok).toBe(true);
      expect(emulator.apiCalls.token).toBe(tokensBefore);
      expect(emulator.crm.count('contact')).toBe(2);
    } finally {
      await connector.close();
      await emulator.close();
    }
  });
});

describe('crm-sync-dataverse-emulator (the bin)', () => {
  it('starts on the machine clock, or a fixed one with --fixed-clock, and says where it listens', async () => {
    const { spawn } = await import('node:child_process');
    const cli = new URL('../dist/emulator/cli.js', import.meta.url);
    for (const [args, clock] of [[['--fixed-clock', '2025-03-04T05:06:07Z'], 'fixed at 2025-03-04T05:06:07.000Z'], [['--fixed-clock'], 'fixed at 2024-01-01T00:00:00.000Z'], [[], 'machine']] as const) {
      const child = spawn(process.execPath, [cli.pathname, '--port', '0', ...args]);
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('\n')) resolve(out);
          });
          child.once('exit', (code) => reject(new Error(`the emulator bin exited with ${code} (run pnpm build first): ${out}`)));
        });
        expect(line).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
        expect(line).toContain(`(clock: ${clock})`);
      } finally {
        child.kill('SIGTERM');
      }
    }
  }, 60_000);
});
