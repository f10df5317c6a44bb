import { openSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { cli, IMPORT_HEAD, MOCK_ACCOUNTS, tempDir, writeFiles } from './helpers.js';

const IMPORT_JOB = `${IMPORT_HEAD}operation: import
fields:
  - { remote: firstName, local: first_name }
  - { remote: email, local: email }
`;
it('explore', async () => {
  const dir = tempDir();
  writeFiles(dir, { 'crm-sync.accounts.yaml': MOCK_ACCOUNTS, 'import.yaml': IMPORT_JOB });
  const r = await cli(dir, ['run', 'import.yaml', '--db', 'crm.sqlite']);
  console.log(r.code, r.stderr);
  const file = join(dir, 'crm.sqlite');
  const size = statSync(file).size;
  console.log('size', size);
  const fd = openSync(file, 'r+');
  const junk = Buffer.alloc(size - 8192, 0x5a);
  writeSync(fd, junk, 0, junk.length, 8192);
  closeSync(fd);
  for (const argv of [['journal', 'list'], ['run', 'import.yaml'], ['options', 'list']]) {
    try {
      const x = await cli(dir, [...argv, '--db', 'crm.sqlite']);
      console.log(argv.join(' '), x.code, x.stdout, x.stderr);
    } catch (e) { console.log(argv.join(' '), 'THREW', e); }
  }
});
