/**
 * The email domain model: parse a raw RFC 5322 message with a real MIME parser (postal-mime), normalise
 * what we store, and derive the natural key that makes ingestion idempotent.
 *
 * Pure functions only (no I/O), so the MCP layer, activities and tests share exactly one definition.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import PostalMime, { type Address, addressParser, type Email } from 'postal-mime';
import { z } from 'zod';
import { ErrorType, UserFacingError } from './errors.js';
import { htmlToText, sanitizeEmailHtml } from './html.js';
import { threadKeys } from './threading.js';

export const AddressSchema = z.object({ name: z.string().nullable(), address: z.string() });
export type EmailAddress = z.infer<typeof AddressSchema>;

export const ParsedEmailSchema = z.object({
  /** Message-ID without angle brackets, or null when the message has none. */
  messageId: z.string().nullable(),
  /** The natural key: hex SHA-256 of the Message-ID, or of the normalised content when it is missing. */
  dedupKey: z.string().regex(/^[0-9a-f]{64}$/),
  keyBasis: z.enum(['message-id', 'content']),
  subject: z.string().nullable(),
  from: z.array(AddressSchema),
  replyTo: z.array(AddressSchema),
  to: z.array(AddressSchema),
  cc: z.array(AddressSchema),
  bcc: z.array(AddressSchema),
  /** ISO timestamp from the Date header, or null when it is missing or unparseable. */
  sentAt: z.string().nullable(),
  inReplyTo: z.string().nullable(),
  references: z.array(z.string()),
  textBody: z.string().nullable(),
  htmlBody: z.string().nullable(),
  /** Lower-cased header name → values in order of appearance (duplicates kept). */
  headers: z.record(z.string(), z.array(z.string())),
  /** See core/threading.ts. */
  threadKeys: z.array(z.string()),
  threadMatchKeys: z.array(z.string()),
  attachmentCount: z.number().int().nonnegative(),
  sizeBytes: z.number().int().nonnegative(),
  rawSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ParsedEmail = z.infer<typeof ParsedEmailSchema>;

export interface ParseLimits {
  maxEmailBytes: number;
  /** Attachments (including inline parts) per message. */
  maxAttachments?: number;
  /** Bytes of header fields over all MIME parts: stops header bombs. */
  maxHeaderBytes?: number;
  /** MIME nesting depth: stops deliberately deep multiparts. */
  maxMimeDepth?: number;
}

export const DEFAULT_LIMITS = {
  maxAttachments: 100,
  maxHeaderBytes: 1024 * 1024,
  maxMimeDepth: 50,
} as const;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Strip angle brackets, whitespace and comments from a Message-ID; empty becomes null. */
export function normaliseMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  const first =
    value
      .replace(/\([^)]*\)/g, ' ')
      .trim()
      .split(/\s+/)[0] ?? '';
  const bare = first.replace(/^<+/, '').replace(/>+$/, '').trim();
  return bare === '' ? null : bare;
}

/** The dedup key of a message with this (normalised) Message-ID: a stored one is found without its body. */
export function messageIdKey(messageId: string): string {
  return sha256Hex(`message-id:${messageId}`);
}

/**
 * The natural key of a message within a tenant. Message-ID when there is one (what mail systems use to
 * recognise the same message); otherwise a hash of the parsed, normalised content, so the same message
 * re-delivered with different trace headers, line endings or transfer encoding still maps to one key.
 */
export function deriveEmailKey(
  messageId: string | null,
  content: Pick<ParsedEmail, 'from' | 'to' | 'cc' | 'subject' | 'sentAt' | 'textBody' | 'htmlBody'>,
): { dedupKey: string; keyBasis: 'message-id' | 'content' } {
  if (messageId) return { dedupKey: messageIdKey(messageId), keyBasis: 'message-id' };
  const normalised = JSON.stringify([
    content.from.map((a) => a.address),
    content.to.map((a) => a.address),
    content.cc.map((a) => a.address),
    normaliseText(content.subject),
    content.sentAt,
    normaliseText(content.textBody),
    normaliseText(content.htmlBody),
  ]);
  return { dedupKey: sha256Hex(`content:${normalised}`), keyBasis: 'content' };
}

/** Decode the MCP `raw` argument: text is taken as-is (UTF-8), base64 carries 8-bit content. */
export function decodeRawEmail(raw: string, encoding: 'text' | 'base64'): Uint8Array {
  if (encoding === 'text') return new TextEncoder().encode(raw);
  const compact = raw.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new UserFacingError(ErrorType.InvalidEmail, 'raw is not valid base64 (encoding: "base64")');
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Parse and validate a raw message. Throws UserFacingError(InvalidEmail | EmailTooLarge). */
export async function parseEmail(raw: Uint8Array, limits: ParseLimits): Promise<ParsedEmail> {
  return (await parseMime(raw, limits)).email;
}

/**
 * parseEmail, also returning the MIME parser's own result, so callers that need more of the message
 * (its attachments, see core/attachments.ts) take it from this one parse instead of parsing again.
 */
export async function parseMime(
  raw: Uint8Array,
  limits: ParseLimits,
): Promise<{ email: ParsedEmail; mime: Email }> {
  if (raw.byteLength === 0) throw new UserFacingError(ErrorType.InvalidEmail, 'the message is empty');
  if (raw.byteLength > limits.maxEmailBytes) {
    throw new UserFacingError(
      ErrorType.EmailTooLarge,
      `the message is ${raw.byteLength} bytes, over the ${limits.maxEmailBytes}-byte limit (MAX_EMAIL_BYTES)`,
    );
  }
  assertLooksLikeRfc5322(raw);

  const maxAttachments = limits.maxAttachments ?? DEFAULT_LIMITS.maxAttachments;
  let email: Email;
  try {
    email = await PostalMime.parse(legacyHeadersToUtf8(raw), {
      attachmentEncoding: 'arraybuffer',
      maxHeadersSize: limits.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes,
      maxNestingDepth: limits.maxMimeDepth ?? DEFAULT_LIMITS.maxMimeDepth,
    });
  } catch (err) {
    throw parserFailure(err);
  }
  if (email.attachments.length > maxAttachments) {
    throw new UserFacingError(
      ErrorType.TooManyAttachments,
      `the message has ${email.attachments.length} attachments, over the limit of ${maxAttachments} (MAX_ATTACHMENTS)`,
    );
  }
  const from = flattenAddresses(authors(email));
  if (from.length === 0) {
    throw new UserFacingError(
      ErrorType.InvalidEmail,
      'the message has no From address (RFC 5322 requires one)',
    );
  }

  const messageId = normaliseMessageId(email.messageId);
  const references = (email.references ?? '')
    .split(/\s+/)
    .map((r) => normaliseMessageId(r))
    .filter((r): r is string => r !== null);
  const inReplyTo = normaliseMessageId(email.inReplyTo);
  const safeHtml = email.html ? cleanText(sanitizeEmailHtml(email.html)) : null;
  const fields = {
    subject: cleanText(email.subject),
    from,
    replyTo: flattenAddresses(email.replyTo ?? []),
    to: flattenAddresses(email.to ?? []),
    cc: flattenAddresses(email.cc ?? []),
    bcc: flattenAddresses(email.bcc ?? []),
    sentAt: parseDate(email.date),
    // Messages with only HTML get a text rendering of it, so search and analysis see their words.
    textBody: cleanText(email.text) ?? (safeHtml ? cleanText(htmlToText(safeHtml)) : null),
    htmlBody: safeHtml,
  };
  const key = deriveEmailKey(messageId, fields);
  const parsed = ParsedEmailSchema.parse({
    messageId,
    ...key,
    ...fields,
    inReplyTo,
    references,
    ...threadKeys({ messageId, dedupKey: key.dedupKey, inReplyTo, references, subject: fields.subject }),
    headers: groupHeaders(email.headers),
    attachmentCount: email.attachments.length,
    sizeBytes: raw.byteLength,
    rawSha256: sha256Hex(raw),
  });
  return { email: parsed, mime: email };
}

/**
 * postal-mime accepts any bytes (a PNG parses as a message with no headers), so we check the shape
 * first: the message must open with a header section of `Name: value` fields and carry no NUL bytes
 * there. This is a gate, not a parser; the MIME parser does the real work.
 */
function assertLooksLikeRfc5322(raw: Uint8Array): void {
  const head = new TextDecoder('latin1').decode(raw.subarray(0, Math.min(raw.byteLength, 64 * 1024)));
  const end = head.search(/\r?\n\r?\n/);
  const headerBlock = end === -1 ? head : head.slice(0, end);
  if (headerBlock.includes('\0')) {
    throw new UserFacingError(
      ErrorType.InvalidEmail,
      'the message contains binary data (NUL bytes) in its headers',
    );
  }
  const firstLine = headerBlock.split(/\r?\n/, 1)[0] ?? '';
  const startsWithHeader = /^[!-9;-~]+:/.test(firstLine) || /^From /.test(firstLine);
  if (!startsWithHeader) {
    throw new UserFacingError(
      ErrorType.InvalidEmail,
      'not an RFC 5322 message: it does not start with a header field such as "From: ..."',
    );
  }
}

/**
 * Header fields must be ASCII (RFC 5322), yet old and careless mailers write 8-bit text there, nearly always
 * in the sender's legacy charset. postal-mime reads header bytes as UTF-8, so "Ren\xe9" became "Ren\uFFFD"
 * and the name was lost. Each line of the top-level header section that is not valid UTF-8 is re-encoded
 * from windows-1252 (the WHATWG reading of latin1, what mail clients fall back to); valid UTF-8 lines, the
 * body and MIME part headers are left alone. Only the parser's input changes: the raw bytes that are hashed,
 * counted and stored stay as they arrived.
 */
function legacyHeadersToUtf8(raw: Uint8Array): Uint8Array {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const ends = [bytes.indexOf('\n\n'), bytes.indexOf('\n\r\n')].filter((i) => i >= 0);
  const headerEnd = ends.length > 0 ? Math.min(...ends) + 1 : bytes.byteLength;
  const header = bytes.subarray(0, headerEnd);
  if (!header.some((b) => b >= 0x80)) return raw;

  const lines: Buffer[] = [];
  let start = 0;
  while (start < header.byteLength) {
    const newline = header.indexOf(0x0a, start);
    const end = newline === -1 ? header.byteLength : newline + 1;
    const line = header.subarray(start, end);
    lines.push(isUtf8(line) ? line : Buffer.from(decodeC1AsWindows1252(line.toString('latin1')), 'utf8'));
    start = end;
  }
  return new Uint8Array(Buffer.concat([...lines, bytes.subarray(headerEnd)]));
}

/**
 * Every mailbox in From. postal-mime keeps only the first one, but RFC 5322 3.6.2 allows several authors
 * (then a Sender names the one who sent it), and dropping co-authors loses who wrote the message.
 */
function authors(email: Email): Address[] {
  const header = email.headers.find((h) => h.key === 'from');
  const all = header ? addressParser(header.value) : [];
  if (all.length > 0) return all;
  return email.from ? [email.from] : [];
}

function flattenAddresses(list: Address[]): EmailAddress[] {
  const out: EmailAddress[] = [];
  for (const entry of list) {
    const mailboxes = entry.group ?? [entry];
    for (const box of mailboxes) {
      const address = (box.address ?? '').trim().toLowerCase();
      if (address === '') continue;
      out.push({ name: cleanText(box.name), address });
    }
  }
  return out;
}

function groupHeaders(headers: Email['headers']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const h of headers) {
    const list = out[h.key] ?? [];
    list.push(stripNul(h.value));
    out[h.key] = list;
  }
  return out;
}

function parseDate(value: string | undefined): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function cleanText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const text = decodeC1AsWindows1252(stripNul(value)).trim();
  return text === '' ? null : text;
}

/**
 * Node 20's TextDecoder decodes windows-1252 (and iso-8859-1, which the WHATWG Encoding standard maps to
 * windows-1252) as plain Latin-1, so the bytes 0x80-0x9F, where windows-1252 has the euro sign, curly quotes
 * and dashes, come out as C1 control characters. C1 controls are invisible and unused in mail text (even
 * in UTF-8 mail), so mapping them to what windows-1252 means by those bytes repairs such mail at no real
 * cost. The five bytes windows-1252 leaves undefined stay as they are. Newer Node versions decode correctly;
 * then there is nothing to map.
 */
const CP1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

export function decodeC1AsWindows1252(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80] ?? c);
}

/** Postgres text cannot hold NUL. */
function stripNul(value: string): string {
  return value.replaceAll('\0', '');
}

function normaliseText(value: string | null): string {
  return (value ?? '')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .trim();
}

/** postal-mime's own limit errors become the matching readable failure types. */
function parserFailure(err: unknown): UserFacingError {
  const message = errMessage(err);
  if (/nesting depth/i.test(message)) {
    return new UserFacingError(ErrorType.MimeTooDeep, `${message} (MAX_MIME_DEPTH)`);
  }
  if (/header size/i.test(message)) {
    return new UserFacingError(ErrorType.HeadersTooLarge, `${message} (MAX_HEADER_BYTES)`);
  }
  return new UserFacingError(ErrorType.InvalidEmail, `the MIME parser rejected the message: ${message}`);
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
