/**
 * Attachments of a raw message: every part postal-mime reports as an attachment (including inline cid:
 * images), with a filename that is safe to show and store. Pure: no I/O.
 */
import PostalMime from 'postal-mime';
import { DEFAULT_LIMITS, type ParseLimits, sha256Hex } from './email.js';

export interface EmailAttachment {
  /** Position among the message's attachments: the natural key of an attachment within its email. */
  partIndex: number;
  filename: string;
  declaredMime: string;
  inline: boolean;
  contentId: string | null;
  sha256: string;
  content: Uint8Array;
}

const MAX_NAME_BYTES = 255;

/**
 * A display filename: the last path segment only (so `../../etc/passwd` becomes `passwd`), no control
 * characters, at most 255 bytes of UTF-8, and `attachment-<n>` when nothing is left.
 */
export function safeAttachmentName(name: string | null, partIndex: number): string {
  const last = (name ?? '').split(/[\\/]/).pop() ?? '';
  const printable = [...last].filter((c) => c.codePointAt(0)! >= 0x20 && c !== '\u007f').join('');
  let clean = printable.trim().replace(/^\.+$/, '');
  while (Buffer.byteLength(clean) > MAX_NAME_BYTES) clean = clean.slice(0, -1);
  return clean || `attachment-${partIndex + 1}`;
}

export async function extractAttachments(raw: Uint8Array, limits: ParseLimits): Promise<EmailAttachment[]> {
  const email = await PostalMime.parse(raw, {
    attachmentEncoding: 'arraybuffer',
    maxHeadersSize: limits.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes,
    maxNestingDepth: limits.maxMimeDepth ?? DEFAULT_LIMITS.maxMimeDepth,
  });
  return email.attachments.map((a, partIndex) => {
    const content =
      typeof a.content === 'string'
        ? new TextEncoder().encode(a.content)
        : new Uint8Array(a.content as ArrayBuffer);
    return {
      partIndex,
      filename: safeAttachmentName(a.filename, partIndex),
      declaredMime: (a.mimeType || 'application/octet-stream').toLowerCase(),
      inline: a.disposition === 'inline' || Boolean(a.related),
      contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
      sha256: sha256Hex(content),
      content,
    };
  });
}
