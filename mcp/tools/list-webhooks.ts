/** `list_webhooks`: the organization's webhooks and how each stands (app/webhooks.ts). */
import { z } from 'zod';
import { listWebhooks } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';
import { WebhookViewSchema } from '../webhook-schemas.js';

export function registerListWebhooks(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'list_webhooks',
    {
      title: 'List webhooks',
      description:
        'The webhooks: kind, masked URL, event types, filter, status (and why), delivery workflow.',
      inputSchema: { tenant: tenantArg },
      outputSchema: { webhooks: z.array(z.object(WebhookViewSchema)) },
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ webhooks: await listWebhooks(ctx, args) }),
  );
}
