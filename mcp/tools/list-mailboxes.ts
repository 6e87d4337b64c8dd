/** `list_mailboxes`: the organization's IMAP mailboxes and how each stands (app/imap-mailboxes.ts). */
import { z } from 'zod';
import { listMailboxes } from '../../app/imap-mailboxes.js';
import type { ToolContext } from '../context.js';
import { MailboxViewSchema } from '../mailbox-schemas.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerListMailboxes(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'list_mailboxes',
    {
      title: 'List IMAP mailboxes',
      description: 'The connected IMAP mailboxes: account, folders, status, last error and last sync.',
      inputSchema: { tenant: tenantArg },
      outputSchema: { mailboxes: z.array(z.object(MailboxViewSchema)) },
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ mailboxes: await listMailboxes(ctx, args) }),
  );
}
