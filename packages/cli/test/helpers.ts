/**
 * Test helpers: run the CLI in-process with captured output, in a fresh temporary directory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The part of an ioredis client {@link deleteRedisKeys} uses. */
interface RedisKeys {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', n: number): Promise<[string, string[]]>;
  del(...keys: string[]): Promise<number>;
}

/** Deletes every Redis key under a test's own `prefix` (BullMQ's queues, heartbeats, pauses). */
export async function deleteRedisKeys(redis: RedisKeys, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
