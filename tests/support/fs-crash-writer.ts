/**
 * Child process for the filesystem atomicity test: uploads a file with the real filesystem backend and
 * SIGKILLs itself after the temp file is complete, just before the rename. Usage:
 *   node --import tsx tests/support/fs-crash-writer.ts <storage-root> <bucket> <key> <source-file>
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createFilesystemBackend } from '../../supabase/storage/filesystem.js';

const [root, bucket, key, sourceFile] = process.argv.slice(2) as [string, string, string, string];
const backend = createFilesystemBackend({
  root,
  beforeCommit: (temp) => {
    process.stdout.write(`${temp}\n`);
    process.kill(process.pid, 'SIGKILL');
  },
});
const { size } = await stat(sourceFile);
await backend.uploadObject(
  bucket,
  key,
  { size, open: (start = 0) => createReadStream(sourceFile, { start }) },
  { contentType: 'application/octet-stream' },
);
process.stdout.write('committed\n');
