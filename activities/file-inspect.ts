/**
 * One streaming pass over a source: SHA-256, size, and the content's MIME type from its first bytes
 * (file-type reads magic numbers). Memory stays constant whatever the size.
 */
import { createHash } from 'node:crypto';
import { fileTypeFromBuffer } from 'file-type';
import type { UploadSource } from '../supabase/storage/backend.js';

/** file-type needs at most this many leading bytes. */
const SNIFF_BYTES = 4100;

export interface SourceFacts {
  sha256: string;
  size: number;
  detectedMime: string | null;
}

export async function inspectSource(source: UploadSource, signal?: AbortSignal): Promise<SourceFacts> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  for await (const part of source.open(0)) {
    if (signal?.aborted) throw signal.reason;
    const chunk = part as Buffer;
    hash.update(chunk);
    size += chunk.length;
    if (headBytes < SNIFF_BYTES) {
      head.push(chunk.subarray(0, SNIFF_BYTES - headBytes));
      headBytes += Math.min(chunk.length, SNIFF_BYTES - headBytes);
    }
  }
  const type = await fileTypeFromBuffer(Buffer.concat(head));
  return { sha256: hash.digest('hex'), size, detectedMime: type?.mime ?? null };
}

/** `type/subtype` in lower case, without parameters; null for nothing usable. */
export function normaliseMime(value: string | null | undefined): string | null {
  const base = value?.split(';')[0]?.trim().toLowerCase();
  return base && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(base) ? base : null;
}

/** Does `mime` match one of the patterns (exact, `type/*` or `*\/*`)? An empty list allows everything. */
export function mimeAllowed(mime: string, allowed: string[] | null): boolean {
  if (!allowed || allowed.length === 0) return true;
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    return p === '*/*' || p === mime || (p.endsWith('/*') && mime.startsWith(p.slice(0, -1)));
  });
}
