/**
 * `crm-sync ui` as a command: what it prints, the token it takes from the environment, the refusals
 * (a short token, a port in use), that a missing SQLite file is not created, and `demo --ui`.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { UiServer } from '@crm-sync/ui';
import { describe, expect, it } from 'vitest';
import { demoCommand } from '../src/commands/demo-command.js';
import { uiCommand, type UiCommandOptions } from '../src/commands/ui-command.js';
import { ExitCode } from '../src/exit-codes.js';
import type { CliIo } from '../src/io.js';
import { tempDir } from './helpers.js';

function captureIo(cwd: string, env: NodeJS.ProcessEnv = {}): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env, cwd }, out: () => out, err: () => err };
}

/** Runs `crm-sync ui` until `whileListening` is done with the server. */
async function withUi(io: CliIo, options: Omit<UiCommandOptions, 'signal' | 'onListening'>, whileListening: (server: UiServer) => Promise<void>): Promise<number> {
  const abort = new AbortController();
  let work: Promise<void> = Promise.resolve();
  const code = uiCommand(io, {
    ...options,
    signal: abort.signal,
    onListening: (server) => {
      work = whileListening(server).finally(() => abort.abort());
    },
  });
  const exit = await code;
  await work;
  return exit;
}

describe('crm-sync ui', () => {
  it('serves on 127.0.0.1 with the token of CRM_SYNC_UI_TOKEN, required by the API, and does not create a missing file', async () => {
    const dir = tempDir();
    const db = join(dir, 'none.sqlite');
    const token = 'a-token-of-the-environment-123';
    const { io, out, err } = captureIo(dir, { CRM_SYNC_UI_TOKEN: token });
    const code = await withUi(io, { db, port: 0 }, async (server) => {
      expect(server.openUrl).toBe(`${server.url}/#token=${token}`);
      expect((await fetch(`${server.url}/api/v1/status`)).status).toBe(401);
      const status = (await (await fetch(`${server.url}/api/v1/status`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { problem?: { kind: string } };
      expect(status.problem?.kind).toBe('empty');
    });
    expect(code).toBe(ExitCode.ok);
    expect(out()).toMatch(/^crm-sync ui: .*none\.sqlite, read-only, at http:\/\/127\.0\.0\.1:\d+\nOpen: http:\/\/127\.0\.0\.1:\d+\/#token=a-token-of-the-environment-123\nEvery API request needs the access token in that URL \(from CRM_SYNC_UI_TOKEN\)\.\nStop with Ctrl-C\.\n$/);
    expect(err()).toContain('note: No runs recorded yet');
    expect(existsSync(db), 'the read-only dashboard created no database').toBe(false);
  });

  it('says so when it listens beyond this machine, with a token made at start', async () => {
    const dir = tempDir();
    const { io, out } = captureIo(dir);
    await withUi(io, { db: join(dir, 'x.sqlite'), port: 0, host: '0.0.0.0' }, async (server) => {
      expect(server.openUrl).toMatch(/#token=[A-Za-z0-9_-]{32}$/);
    });
    expect(out()).toContain('Listening on 0.0.0.0, not only this machine: anyone who can reach port');
    expect(out()).toContain('made for this start; set CRM_SYNC_UI_TOKEN to choose it');
  });

  it('refuses a short CRM_SYNC_UI_TOKEN (exit 2) and a port in use (exit 1), saying what to do', async () => {
    const dir = tempDir();
    const short = captureIo(dir, { CRM_SYNC_UI_TOKEN: 'short' });
    expect(await uiCommand(short.io, { db: join(dir, 'x.sqlite'), port: 0 })).toBe(ExitCode.invalidInput);
    expect(short.err()).toContain('CRM_SYNC_UI_TOKEN must be at least 16 characters');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const taken = captureIo(dir);
      expect(await uiCommand(taken.io, { db: join(dir, 'x.sqlite'), port })).toBe(ExitCode.runFailed);
      expect(taken.err()).toContain(`port ${port} on 127.0.0.1 is already in use; choose another with --port`);
    } finally {
      blocker.close();
    }
  });

  it('demo --ui serves the dashboard on the demo database after the run', async () => {
    const dir = tempDir();
    const { io, out } = captureIo(dir);
    const abort = new AbortController();
    let runs: number | undefined;
    const code = await demoCommand(io, {
      crm: 'mock',
      db: join(dir, 'demo.sqlite'),
      contacts: 60,
      ui: true,
      uiSignal: abort.signal,
      onUiListening: (server) => {
        const token = decodeURIComponent(server.openUrl.split('#token=')[1] ?? '');
        void fetch(`${server.url}/api/v1/runs`, { headers: { Authorization: `Bearer ${token}` } })
          .then(async (response) => (runs = ((await response.json()) as { total: number }).total))
          .finally(() => abort.abort());
      },
    });
    expect(code).toBe(ExitCode.ok);
    expect(runs).toBe(5);
    expect(out()).toContain('See the runs, their plots, rejects and journals in the dashboard: crm-sync ui --db demo.sqlite');
    expect(out()).toMatch(/Starting the dashboard on the demo database \(--ui\):\ncrm-sync ui: .*demo\.sqlite, read-only, at http:\/\/127\.0\.0\.1:\d+\nOpen: /);
  });
});
