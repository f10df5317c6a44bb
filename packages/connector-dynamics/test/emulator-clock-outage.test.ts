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
