import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '@crm-sync/sdk';
import { CREDENTIALS, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('logging', () => {
  it('logs calls and a session refresh without any credential or token', async () => {
    const lines: string[] = [];
    const record = (fields: Record<string, unknown>, message?: string): void => void lines.push(JSON.stringify({ fields, message }));
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    harness = await startHarness({}, { logger });
    await harness.connector.describe('Contact');
    harness.emulator.expireSessions();
    expect((await harness.connector.query({ object: 'Contact', fields: ['LastName'] })).isOk()).toBe(true);
    const text = lines.join('\n');
    expect(text).toMatch(/salesforce call/);
    expect(text).toMatch(/refreshing it once/);
    expect(text).not.toContain(CREDENTIALS.password);
    expect(text).not.toContain(CREDENTIALS.clientSecret);
    expect(text).not.toMatch(/00DEMU0000000001!/);
  });
});
