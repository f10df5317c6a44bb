/** Starts bench/lib/salesforce-host.mjs in a child process and calls its commands over IPC. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A handle on the emulator process: `call(command, args)` resolves with the command's value. */
export async function startSalesforceHost() {
  const child = fork(fileURLToPath(new URL('./salesforce-host.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 0;
  child.on('message', (message) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiter?.resolve(message.value);
    else waiter?.reject(new Error(`[crm-sync] [bench] emulator host: ${message.error}`));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`[crm-sync] [bench] emulator host exited with ${code}`));
    pending.clear();
  });
  const call = (command, args) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, command, args });
    });
  return {
    call,
    async stop() {
      await call('close').catch(() => undefined);
      child.disconnect();
      child.kill();
    },
  };
}
