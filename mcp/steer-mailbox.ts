/** The four tools that steer a mailbox's sync workflow share this shape: a mailbox id, one app call. */
import { z } from 'zod';
import { type SteerAction, steerMailbox } from '../app/imap-mailboxes.js';
import type { ToolContext } from './context.js';
import { MailboxDetailSchema, mailboxIdArg } from './mailbox-schemas.js';
import type { ToolRegistry } from './tool-registry.js';
import { toolResult } from './tool-result.js';
import { STEERS_WORKFLOW, tenantArg } from './tool-schemas.js';

const SyncStatusSchema = z.object({
  state: z.string(),
  attention: z.string().nullable(),
  passes: z.number().int(),
  totals: z.record(z.string(), z.number().int()),
  last: z.string().nullable(),
});

export function registerSteerMailbox(
  server: ToolRegistry,
  ctx: ToolContext,
  tool: { name: string; title: string; description: string; action: SteerAction; folderArg?: boolean },
): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: {
        mailboxId: mailboxIdArg,
        ...(tool.folderArg
          ? { folder: z.string().min(1).max(1000).optional().describe('One folder; all when omitted') }
          : {}),
        tenant: tenantArg,
      },
      outputSchema: { ...MailboxDetailSchema, sync: SyncStatusSchema.optional() },
      annotations: STEERS_WORKFLOW,
    },
    async (args: { mailboxId: string; tenant?: string; folder?: string }) =>
      toolResult({ ...(await steerMailbox(ctx, { ...args, action: tool.action })) }),
  );
}
