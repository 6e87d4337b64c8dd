/**
 * The Storage stand-in in its own process (for the benchmark: the objects it keeps in memory must not
 * count toward the uploader's RSS). Prints `{"url","serviceKey"}` on one line, then serves until killed.
 * Buckets named in argv are created.
 */
import { startStorageStandIn } from './storage-stand-in.js';

const standIn = await startStorageStandIn();
for (const bucket of process.argv.slice(2)) standIn.buckets.add(bucket);
process.stdout.write(`${JSON.stringify({ url: standIn.url, serviceKey: standIn.serviceKey })}\n`);
process.once('SIGTERM', () => void standIn.close().then(() => process.exit(0)));
