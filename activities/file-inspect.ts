/**
 * One streaming pass over a source: SHA-256, size, and the content's type from its first bytes
 * (file-type reads magic numbers; when it finds none, core/content-class.ts classifies the bytes as
 * text, binary or active content). Memory stays constant whatever the size.
 */
import { createHash } from 'node:crypto';
import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { type ContentType, classifyContent } from '../core/content-class.js';
import type { UploadSource } from '../supabase/storage/backend.js';

/** file-type needs at most this many leading bytes. */
const SNIFF_BYTES = 4100;

export interface SourceFacts {
  sha256: string;
  size: number;
  /** What the bytes are: the type the bucket rules check. */
  content: ContentType;
}

export async function inspectSource(
  source: UploadSource,
  declared: string | null,
  signal?: AbortSignal,
): Promise<SourceFacts> {
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
  const first = Buffer.concat(head);
  const sniffed = await fileTypeFromBuffer(first);
  const content = classifyContent(
    first,
    size > first.length,
    sniffed?.mime ?? null,
    declared,
    supportedMimeTypes,
  );
  return { sha256: hash.digest('hex'), size, content };
}

/** `type/subtype` in lower case, without parameters; null for nothing usable. */
export function normaliseMime(value: string | null | undefined): string | null {
  const base = value?.split(';')[0]?.trim().toLowerCase();
  return base && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(base) ? base : null;
}
