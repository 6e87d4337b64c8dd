/**
 * Upload throughput and memory: `npm run bench -- upload [--sizes 1,20,100] [--rounds 1]`.
 *
 * For each size (MB) it writes a random file, then measures
 *   - filesystem backend (stream, hash, fsync, rename) against a raw fs.copyFile of the same file;
 *   - Supabase backend against the Storage stand-in (standard upload up to 6 MB, TUS in 6 MB chunks
 *     above) against one raw streamed PUT of the whole file to the same stand-in.
 * It prints MB/s, the ratio to the baseline, and the peak RSS growth during the upload (sampled every
 * 5 ms), which is what shows that a 100 MB file never sits in memory. The stand-in runs in a child
 * process so the objects it keeps do not count.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { UploadSource } from '../../supabase/storage/backend.js';
import { createFilesystemBackend } from '../../supabase/storage/filesystem.js';
import { createSupabaseBackend } from '../../supabase/storage/supabase-backend.js';

const MB = 1024 * 1024;

interface Measure {
  seconds: number;
  peakRssGrowthMb: number;
}

async function measure(fn: () => Promise<unknown>): Promise<Measure> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const start = process.hrtime.bigint();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, peakRssGrowthMb: (peak - base) / MB };
}

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  async function* chunks() {
    for (let left = bytes; left > 0; left -= MB) yield randomBytes(Math.min(MB, left));
  }
  await pipeline(Readable.from(chunks()), createWriteStream(file));
}

async function startStandIn(): Promise<{ url: string; serviceKey: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/stand-in-process.ts', 'bench'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
    child.once('exit', (code) => reject(new Error(`stand-in exited (${code})`)));
  });
  return { ...(JSON.parse(line) as { url: string; serviceKey: string }), stop: () => child.kill('SIGTERM') };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { sizes: { type: 'string', default: '1,20,100' }, rounds: { type: 'string', default: '1' } },
  });
  const sizes = values.sizes.split(',').map(Number);
  const rounds = Math.max(1, Number(values.rounds));
  if (sizes.some((s) => !(s > 0))) throw new Error('--sizes: comma-separated sizes in MB, e.g. 1,20,100');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-upload-'));
  const standIn = await startStandIn();
  const fsBackend = createFilesystemBackend({ root: path.join(dir, 'storage') });
  const sbBackend = createSupabaseBackend({ url: standIn.url, serviceRoleKey: standIn.serviceKey });
  // Buckets exist only once made (no upload creates one), as the workers make theirs at start.
  await fsBackend.ensureBucket('bench');
  const rows: string[][] = [];
  try {
    for (const sizeMb of sizes) {
      const file = path.join(dir, `source-${sizeMb}.bin`);
      await writeRandomFile(file, Math.round(sizeMb * MB));
      const { size } = await stat(file);
      const source: UploadSource = { size, open: (start = 0) => createReadStream(file, { start }) };
      for (let round = 0; round < rounds; round++) {
        const key = `bench/${round}/${sizeMb}-${Date.now()}.bin`;
        const copy = await measure(() => copyFile(file, path.join(dir, `copy-${round}.bin`)));
        const fsRun = await measure(() =>
          fsBackend.uploadObject('bench', key, source, { contentType: 'application/octet-stream' }),
        );
        const put = await measure(async () => {
          const res = await fetch(`${standIn.url}/storage/v1/object/bench/raw-${key}`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${standIn.serviceKey}`, 'x-upsert': 'true' },
            body: Readable.toWeb(createReadStream(file)) as ReadableStream,
            duplex: 'half',
          } as RequestInit);
          if (!res.ok) throw new Error(`baseline PUT failed: ${res.status}`);
        });
        const sbRun = await measure(() =>
          sbBackend.uploadObject('bench', key, source, { contentType: 'application/octet-stream' }),
        );
        const mbps = (m: Measure) => size / MB / m.seconds;
        const row = (target: string, m: Measure, baseline: Measure, baseName: string) => [
          `${sizeMb} MB`,
          target,
          mbps(m).toFixed(1),
          `${baseName} ${mbps(baseline).toFixed(1)}`,
          (mbps(m) / mbps(baseline)).toFixed(2),
          m.peakRssGrowthMb.toFixed(1),
          baseline.peakRssGrowthMb.toFixed(1),
        ];
        rows.push(row('filesystem', fsRun, copy, 'copyFile'));
        rows.push(row(size > 6 * MB ? 'supabase (TUS)' : 'supabase (standard)', sbRun, put, 'single PUT'));
        await rm(path.join(dir, `copy-${round}.bin`), { force: true });
      }
    }
  } finally {
    standIn.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const header = ['size', 'target', 'MB/s', 'baseline MB/s', 'ratio', 'peak RSS +MB', 'baseline RSS +MB'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(
    `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`,
  );
}
