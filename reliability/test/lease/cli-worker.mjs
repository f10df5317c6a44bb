// A long-lived process that runs `crm-sync` commands on request, so that a race between two
// processes costs one run, not two Node start-ups. Reads one JSON line per command on stdin
// ({ id, cwd, argv }), runs the built CLI in this process, and answers one JSON line on stdout
// ({ id, code, stdout, stderr }). Plain JavaScript so that a bare `node` runs it.
import { createInterface } from 'node:readline';
import { runCli } from '@crm-sync/cli';

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
for await (const line of lines) {
  if (line.trim() === '') continue;
  const { id, cwd, argv } = JSON.parse(line);
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text) => (stdout += text) },
    stderr: { write: (text) => (stderr += text) },
    env: { ...process.env },
    cwd,
  };
  let code;
  try {
    code = await runCli(argv, io);
  } catch (error) {
    code = 99;
    stderr += `worker: runCli threw: ${error instanceof Error ? error.stack : String(error)}`;
  }
  process.stdout.write(`${JSON.stringify({ id, code, stdout, stderr })}\n`);
}
