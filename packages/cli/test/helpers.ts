/**
 * Test helpers: run the CLI in-process with captured output, in a fresh temporary directory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { runCli } from '../src/program.js';
import type { CliIo } from '../src/io.js';

/** What one CLI invocation printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh temporary working directory. */
export function tempDir(prefix = 'crm-sync-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs `crm-sync <argv>` in `cwd`, with only `env` as environment. */
export async function cli(cwd: string, argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** The mock accounts file the tests use (a small sample CRM, to keep runs quick). */
export const MOCK_ACCOUNTS = `accounts:
  demo:
    connector: mock
    mock: { seed: demo, contacts: 300 }
`;

/** Writes `files` (name -> text) into `dir`. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** The head of a valid import job for the mock CRM; tests append the part they vary. */
export const IMPORT_HEAD = `activity: importContacts
connector: mock
account: demo
object: contact
local: { table: contacts }
`;

/** Deletes every key under `prefixes` (queues, schedules, done marks, heartbeats, the accounts set). */
export async function dropRedisPrefixes(url: string, prefixes: readonly string[]): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for (const each of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${each}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}
