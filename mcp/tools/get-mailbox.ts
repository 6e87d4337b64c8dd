/** `get_mailbox`: one IMAP mailbox, with its per-folder progress (app/imap-mailboxes.ts). */
import { getMailbox } from '../../app/imap-mailboxes.js';
import type { ToolContext } from '../context.js';
import { MailboxDetailSchema, mailboxIdArg } from '../mailbox-schemas.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerGetMailbox(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'get_mailbox',
    {
      title: 'Read an IMAP mailbox',
      description:
        "Status (syncing, idle, paused, needs_attention, disconnected), the last error in the server's " +
        'words, the last sync, and per folder: UIDVALIDITY, initial-sync progress and message counts.',
      inputSchema: { mailboxId: mailboxIdArg, tenant: tenantArg },
      outputSchema: MailboxDetailSchema,
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ ...(await getMailbox(ctx, args)) }),
  );
}
