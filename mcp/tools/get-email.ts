/**
 * `get_email`: one stored email with its parsed fields, read as the caller (app/emails.ts: getEmail).
 * An id of another tenant reads as not found.
 */
import { z } from 'zod';
import { getEmail } from '../../app/emails.js';
import { EmailMissingSchema, StoredAttachmentSchema, StoredEmailSchema } from '../../core/records.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerGetEmail(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'get_email',
    {
      title: 'Get an email',
      description:
        'A stored email: addresses, date, subject, text and sanitised HTML body, headers, thread, and its ' +
        'attachments (file id, sanitised name, declared and detected type, size, SHA-256, upload status) ' +
        'and where its raw message is stored; `missing` says what is not in storage yet (the raw message, ' +
        'attachments, with the last error) and how to retry it.',
      inputSchema: {
        emailId: z.uuid('emailId must be a UUID (an emailId from ingest_email or search_emails)'),
        tenant: tenantArg,
      },
      outputSchema: {
        ...StoredEmailSchema.shape,
        attachments: z.array(StoredAttachmentSchema),
        missing: EmailMissingSchema,
      },
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ ...(await getEmail(ctx, args)) }),
  );
}
