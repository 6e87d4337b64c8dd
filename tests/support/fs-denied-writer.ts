/**
 * Run as an unprivileged user by tests/integration/filesystem-faults.test.ts: upload one object into
 * `<root>/<bucket>` with the filesystem backend and print what the caller would read (core/failure.ts).
 * Root writes through chmod 000, so the permission test needs a process that permissions apply to.
 */
import { describeFailure } from '../../core/failure.js';
import { createFilesystemBackend } from '../../supabase/storage/filesystem.js';

const [root, bucket] = process.argv.slice(2) as [string, string];
const bytes = Buffer.from('denied bytes');
const storage = createFilesystemBackend({ root });
try {
  await storage.uploadObject(
    bucket,
    'tenant/ab/object.txt',
    {
      size: bytes.length,
      open: () =>
        (async function* () {
          yield bytes;
        })() as unknown as import('node:stream').Readable,
    },
    { contentType: 'text/plain' },
  );
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (err) {
  const e = err as { name?: string; kind?: string; maxAttempts?: number };
  process.stdout.write(
    JSON.stringify({ ...describeFailure(err), name: e.name, kind: e.kind, maxAttempts: e.maxAttempts }),
  );
}
