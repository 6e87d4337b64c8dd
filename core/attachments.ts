/**
 * Attachments of a raw message: every part postal-mime reports as an attachment (including inline cid:
 * images), with a filename that is safe to show and store. Pure: no I/O.
 * They come from the same parse as the email itself (parseEmailWithAttachments).
 */

import type { Email } from 'postal-mime';
import { type ParsedEmail, type ParseLimits, parseMime, sha256Hex } from './email.js';
import { visibleFileName } from './file-name.js';

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
 * A display filename: the last path segment only (so `../../etc/passwd` becomes `passwd`), no control,
 * bidi or other invisible format characters (core/file-name.ts), at most 255 bytes of UTF-8, and `attachment-<n>` when nothing is left.
 */
export function safeAttachmentName(name: string | null, partIndex: number): string {
  const last = (name ?? '').split(/[\\/]/).pop() ?? '';
  const printable = visibleFileName(last);
  let clean = printable.trim().replace(/^\.+$/, '');
  while (Buffer.byteLength(clean) > MAX_NAME_BYTES) clean = clean.slice(0, -1);
  return clean || `attachment-${partIndex + 1}`;
}

/**
 * A message and its attachments from ONE run of the MIME parser: the attachments are the same parse's
 * parts, so ingestion never parses a message twice to find them. Validates as parseEmail does.
 */
export async function parseEmailWithAttachments(
  raw: Uint8Array,
  limits: ParseLimits,
): Promise<{ email: ParsedEmail; attachments: EmailAttachment[] }> {
  const { email, mime } = await parseMime(raw, limits);
  return { email, attachments: attachmentsOf(mime) };
}

/** The attachments of a parsed message, in the parser's order (their partIndex). */
export function attachmentsOf(mime: Email): EmailAttachment[] {
  return mime.attachments.map((a, partIndex) => {
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
