/**
 * The shapes of stored things and of workflow outcomes that callers read, each written once as a zod
 * schema: TypeScript types come from `z.infer`, and MCP output schemas are built from the same schemas,
 * so a field added in one place cannot be missing in the other.
 *
 * Workflow contracts import these as TYPES only (no zod in the workflow bundle).
 */
import { z } from 'zod';
import { ParsedEmailSchema } from './email.js';

// ---- Files ----------------------------------------------------------------------------------------

/** A stored file as it crosses a workflow history: small, no content. */
export const StoredFileSchema = z.object({
  fileId: z.string(),
  bucket: z.string(),
  /** The object key in the bucket. */
  path: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  filename: z.string(),
  detectedMime: z.string().nullable(),
  declaredMime: z.string().nullable(),
  attempts: z.number().int(),
});
export type StoredFile = z.infer<typeof StoredFileSchema>;

/** What an upload run returns: the stored file, and whether this run sent anything. */
export const UploadFileResultSchema = StoredFileSchema.pick({
  fileId: true,
  bucket: true,
  path: true,
  size: true,
  sha256: true,
  detectedMime: true,
}).extend({
  /** true when the bytes were already stored in this bucket and nothing was sent. */
  deduplicated: z.boolean(),
  /** the content is not of the declared type. */
  mimeMismatch: z.boolean(),
});
export type UploadFileResult = z.infer<typeof UploadFileResultSchema>;

// ---- Email ingestion outcomes ---------------------------------------------------------------------

/** One attachment an ingestion run uploaded, or failed to. */
export const AttachmentOutcomeSchema = z.object({
  partIndex: z.number().int(),
  filename: z.string(),
  status: z.enum(['stored', 'failed']),
  fileId: z.string().optional(),
  error: z.string().optional(),
});
export type AttachmentOutcome = z.infer<typeof AttachmentOutcomeSchema>;

/** The raw message in the `raw-messages` bucket: stored (now or before), failed, or skipped (no files queue). */
export const RawMessageOutcomeSchema = z.object({
  status: z.enum(['stored', 'failed', 'skipped']),
  error: z.string().optional(),
});
export type RawMessageOutcome = z.infer<typeof RawMessageOutcomeSchema>;

// ---- Stored email ---------------------------------------------------------------------------------

/** An attachment row of a stored email. */
export const StoredAttachmentSchema = z.object({
  partIndex: z.number().int(),
  filename: z.string(),
  declaredMime: z.string(),
  detectedMime: z.string().nullable(),
  sizeBytes: z.number().int(),
  sha256: z.string(),
  inline: z.boolean(),
  contentId: z.string().nullable(),
  status: z.enum(['pending', 'stored', 'failed']),
  fileId: z.string().nullable(),
  error: z.string().nullable(),
});
export type StoredAttachment = z.infer<typeof StoredAttachmentSchema>;

/** A stored email: the parsed fields it was stored with, and what storing added. */
export const StoredEmailSchema = ParsedEmailSchema.pick({
  messageId: true,
  subject: true,
  from: true,
  replyTo: true,
  to: true,
  cc: true,
  bcc: true,
  inReplyTo: true,
  references: true,
  textBody: true,
  htmlBody: true,
  headers: true,
  sizeBytes: true,
  rawSha256: true,
}).extend({
  emailId: z.string(),
  threadId: z.string().nullable(),
  /** The Date header, or the time it was received when that was missing or unreadable. */
  sentAt: z.string(),
  sentAtFallback: z.boolean().describe('true when the Date header was missing or unreadable'),
  receivedAt: z.string(),
  rawFile: z
    .object({ fileId: z.string(), bucket: z.string(), path: z.string(), sizeBytes: z.number().int() })
    .nullable()
    .describe('The raw message in storage (bucket raw-messages); null until it is archived'),
  status: z.string(),
  flags: z
    .array(z.string())
    .describe('IMAP flags the mailbox sync reads from the server: \\Seen, \\Flagged, \\Answered, \\Draft'),
  deletedAt: z
    .string()
    .nullable()
    .describe('When the message was expunged from every synced folder on the server (never deleted here)'),
});
export type StoredEmail = z.infer<typeof StoredEmailSchema>;

/** What a stored email still misses in storage, and how to complete it (null when nothing is missing). */
export const EmailMissingSchema = z
  .object({
    rawMessage: z
      .object({ error: z.string().nullable() })
      .nullable()
      .describe('The raw message is not archived (with the last failure, if one was recorded)'),
    attachments: z
      .array(
        z.object({
          partIndex: z.number().int(),
          status: z.enum(['pending', 'failed']),
          error: z.string().nullable(),
        }),
      )
      .describe('Attachments not stored'),
    retry: z.string().describe('How to complete what is missing'),
  })
  .nullable();
export type EmailMissing = z.infer<typeof EmailMissingSchema>;

// ---- Workflow runs --------------------------------------------------------------------------------

/** Workflow status as callers read it (Temporal's execution status, lower-cased). */
export const WorkflowStatusSchema = z.enum([
  'running',
  'completed',
  'failed',
  'canceled',
  'terminated',
  'continued_as_new',
  'timed_out',
  'unknown',
]);
export type WorkflowStatus = z.infer<typeof WorkflowStatusSchema>;
