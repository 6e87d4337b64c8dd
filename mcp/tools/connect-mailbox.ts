/**
 * `connect_mailbox` (owners and admins): verify an IMAP account's login and folders, store its
 * credentials encrypted and start its sync workflow (app/imap-mailboxes.ts: connectMailbox). Connecting
 * the same account again updates its settings and credentials and resumes it.
 */
import { z } from 'zod';
import { connectMailbox } from '../../app/imap-mailboxes.js';
import type { ToolContext } from '../context.js';
import { MailboxDetailSchema } from '../mailbox-schemas.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg } from '../tool-schemas.js';

export function registerConnectMailbox(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'connect_mailbox',
    {
      title: 'Connect an IMAP mailbox',
      description:
        'Keep an IMAP mailbox in sync: new mail arrives by itself (IDLE), flags and expunges follow. The ' +
        'login and folders are verified first; the password or OAuth2 token is stored encrypted and never ' +
        'shown again. Errors: MailboxAuthFailed (login refused), MailboxUnavailable (cannot connect), ' +
        'MailboxFolderNotFound, CredentialsKeyMissing (server has no MAILBOX_CREDENTIALS_KEY).',
      inputSchema: {
        host: z.string().trim().min(1).max(253).describe('IMAP server host name'),
        port: z.number().int().min(1).max(65535).optional().describe('Default 993 (tls) or 143'),
        tls: z
          .enum(['tls', 'starttls', 'none'])
          .default('tls')
          .describe('"none" only for a server on this machine (loopback)'),
        username: z.string().min(1).max(320),
        password: z.string().min(1).max(1024).optional().describe('Password (or give accessToken)'),
        accessToken: z.string().min(1).max(8192).optional().describe('OAuth2 access token (XOAUTH2)'),
        folders: z
          .array(z.string().min(1).max(1000))
          .min(1)
          .max(100)
          .optional()
          .describe('Folders to sync; default ["INBOX"]; ["*"] for all but Trash and Junk'),
        since: z
          .union([z.number().int().min(1).max(36_500), z.literal('all')])
          .optional()
          .describe('How many days back the first sync goes (default 30), or "all"'),
        tenant: tenantArg,
      },
      outputSchema: MailboxDetailSchema,
      annotations: { ...STARTS_IDEMPOTENT_WORKFLOW, openWorldHint: true },
    },
    async (args) => toolResult({ ...(await connectMailbox(ctx, args)) }),
  );
}
