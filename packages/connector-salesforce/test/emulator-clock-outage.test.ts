import { ManualClock } from '@crm-sync/connector-mock';
import type { Instant } from '@crm-sync/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceEmulator } from '../src/emulator/index.js';
import { contactValues, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const soql = (text: string) => `/services/data/v62.0/query?q=${encodeURIComponent(text)}`;

describe('Salesforce emulator clock and outage', () => {
  it("runs on the machine's clock by default, so a record changed now is found by an incremental query", async () => {
    harness = await startHarness();
    const before = Math.floor(Date.now() / 1000) * 1000;
    const outcome = harness.emulator.crm.insert('Contact', contactValues(1));
    if (!outcome.ok) throw new Error(outcome.reject.message);
    const stamp = Date.parse(String(harness.emulator.crm.get('Contact', outcome.id)?.values.LastModifiedDate));
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now());
    expect(harness.emulator.crm.clock).not.toBeInstanceOf(ManualClock);
    const since = new Date(Date.now() - 60_000).toISOString();
    const page = (await harness.connector.query({ object: 'Contact', fields: ['Id'], window: { field: 'LastModifiedDate', start: since as Instant } }))._unsafeUnwrap();
    expect(page.records.map((r) => r.id)).toEqual([outcome.id]);
  });

  it('freezes the clock only when asked: fixedClock true or an instant', async () => {
    const frozen = await startSalesforceEmulator({ fixedClock: true });
    const at = await startSalesforceEmulator({ fixedClock: '2025-03-04T05:06:07.000Z' });
    try {
      expect(frozen.crm.clock.now().toISOString()).toBe('2024-01-01T00:00:00.000Z');
      expect(at.crm.clock.now().toISOString()).toBe('2025-03-04T05:06:07.000Z');
      expect(at.crm.clock).toBeInstanceOf(ManualClock);
    } finally {
      await frozen.close();
      await at.close();
    }
    await expect(startSalesforceEmulator({ fixedClock: 'not a date' })).rejects.toThrow(/not a valid date/);
  });

  it('stop() refuses connections as a plain retryable error (never in doubt); start() serves the same data and tokens on the same port', async () => {
    harness = await startHarness();
    const { emulator, connector } = harness;
    const token = emulator.issueAccessToken();
    const seeded = emulator.crm.insert('Contact', contactValues(1));
    if (!seeded.ok) throw new Error(seeded.reject.message);
    expect((await connector.query({ object: 'Contact', fields: ['Id'] })).isOk()).toBe(true);
    const url = emulator.url;
    await emulator.stop();
    expect(emulator.running).toBe(false);
    const refused = (await connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: contactValues(2) }] }))._unsafeUnwrapErr();
    expect([refused.kind, refused.retryable, refused.inDoubt ?? false, refused.vendorCode]).toEqual(['transient', true, false, 'ECONNREFUSED']);
    expect(emulator.crm.count('Contact')).toBe(1);
    await emulator.start();
    expect([emulator.running, emulator.url]).toEqual([true, url]);
    const answer = await fetch(`${url}${soql('SELECT Id FROM Contact')}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { records: { Id: string }[] }).records.map((r) => r.Id)).toEqual([seeded.id]);
    const written = (await connector.upsertBatch({ object: 'Contact', mode: 'insert', records: [{ values: contactValues(2) }] }))._unsafeUnwrap();
    expect(written[0]?.ok).toBe(true);
    expect(emulator.crm.count('Contact')).toBe(2);
  });
});

describe('crm-sync-salesforce-emulator (the bin)', () => {
  it('starts on the machine clock, or a fixed one with --fixed-clock, and says where it listens', async () => {
    const { spawn } = await import('node:child_process');
    const cli = new URL('../dist/emulator/cli.js', import.meta.url);
    for (const [args, fixed] of [[['--fixed-clock', '2025-03-04T05:06:07Z'], true], [[], false]] as const) {
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
        const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
        expect(url).toBeDefined();
        const date = Date.parse((await fetch(`${url}/services/data/`)).headers.get('date') ?? '');
        if (fixed) expect(new Date(date).toISOString()).toBe('2025-03-04T05:06:07.000Z');
        else expect(Math.abs(date - Date.now())).toBeLessThan(3_600_000);
      } finally {
        child.kill('SIGTERM');
      }
    }
  }, 60_000);
});
