/**
 * `create_webhook` (owners and admins): a signed webhook (Standard Webhooks) or a Slack incoming webhook
 * for the organization's events, delivered in order by its own workflow (app/webhooks.ts: createWebhook).
 */
import { z } from 'zod';
import { createWebhook } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg } from '../tool-schemas.js';
import { eventTypeArg, WebhookViewSchema } from '../webhook-schemas.js';

export function registerCreateWebhook(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'create_webhook',
    {
      title: 'Create a webhook',
      description:
        "Send the organization's events to a URL as they are committed, in order, signed by the Standard " +
        'Webhooks spec (webhook-id, webhook-timestamp, webhook-signature), retried for about 3 days. Kind ' +
        '"slack" posts a Block Kit message to a Slack incoming webhook (default filter: email.analyzed with ' +
        'priority ≥ 4 or category support). The signing secret is in this answer only. Errors: ' +
        'WebhookUrlRefused (not https, or a private/loopback/link-local address), CredentialsKeyMissing.',
      inputSchema: {
        url: z
          .string()
          .trim()
          .min(1)
          .max(2048)
          .describe('https:// URL of the receiver (Slack: the incoming-webhook URL)'),
        kind: z.enum(['standard', 'slack']).default('standard'),
        eventTypes: z
          .array(eventTypeArg)
          .min(1)
          .max(20)
          .optional()
          .describe('Event types to send; default all ("*"), for Slack ["email.analyzed"]'),
        description: z.string().max(500).optional(),
        filter: z
          .object({
            minPriority: z.number().min(1).max(5).nullable().optional().describe('Send if priority ≥ this…'),
            categories: z
              .array(z.string().min(1).max(50))
              .max(20)
              .nullable()
              .optional()
              .describe('…or category is one of these'),
          })
          .optional()
          .describe(
            'Email events only; Slack default {minPriority: 4, categories: ["support"]}; null: no condition',
          ),
        tenant: tenantArg,
      },
      outputSchema: {
        webhook: z.object(WebhookViewSchema),
        secret: z.string().describe('whsec_…: shown this once'),
        note: z.string(),
      },
      annotations: { ...STARTS_IDEMPOTENT_WORKFLOW, idempotentHint: false, openWorldHint: true },
    },
    async (args) => toolResult({ ...(await createWebhook(ctx, args)) }),
  );
}
