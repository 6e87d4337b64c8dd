/**
 * `get_email`: one stored email with its parsed fields, read as the caller (RLS applies). An id of
 * another tenant reads as not found.
 */
import { z } from 'zod';
import { AddressSchema } from '../../core/email.js';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { listAttachments } from '../../supabase/attachments.js';
import { asCaller } from '../../supabase/caller.js';
import { getEmail } from '../../supabase/email-queries.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

const addresses = z.array(AddressSchema);

export function registerGetEmail(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'get_email',
    {
      title: 'Get an email',
      description:
        'A stored email: addresses, date, subject, text and sanitised HTML body, headers, thread, and its ' +
        'attachments (file id, sanitised name, declared and detected type, size, SHA-256, upload status) ' +
        'and where its raw message is stored.',
      inputSchema: {
        emailId: z.uuid('emailId must be a UUID (an emailId from ingest_email or search_emails)'),
        tenant: tenantArg,
      },
      outputSchema: {
        emailId: z.string(),
        messageId: z.string().nullable(),
        threadId: z.string().nullable(),
        subject: z.string().nullable(),
        from: addresses,
        replyTo: addresses,
        to: addresses,
        cc: addresses,
        bcc: addresses,
        sentAt: z.string(),
        sentAtFallback: z.boolean().describe('true when the Date header was missing or unreadable'),
        receivedAt: z.string(),
        inReplyTo: z.string().nullable(),
        references: z.array(z.string()),
        textBody: z.string().nullable(),
        htmlBody: z.string().nullable(),
        headers: z.record(z.string(), z.array(z.string())),
        sizeBytes: z.number().int(),
        rawSha256: z.string(),
        rawFile: z
          .object({ fileId: z.string(), bucket: z.string(), path: z.string(), sizeBytes: z.number().int() })
          .nullable()
          .describe('The raw message in storage (bucket raw-messages); null until it is archived'),
        status: z.string(),
        attachments: z.array(
          z.object({
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
          }),
        ),
      },
      annotations: READ_ONLY,
    },
    async ({ emailId, tenant }) => {
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, tenant);
      const found = await asCaller(ctx.sql, ctx.principal.claims, async (tx) => {
        const email = await getEmail(tx, tenantId, emailId);
        return email && { ...email, attachments: await listAttachments(tx, tenantId, emailId) };
      });
      if (!found) throw new UserFacingError(ErrorType.NotFound, `no email ${emailId} for this caller`);
      return toolResult({ ...found });
    },
  );
}
