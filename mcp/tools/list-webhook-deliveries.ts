/** `list_webhook_deliveries`: one endpoint's deliveries, newest first, paged (app/webhooks.ts). */
import { z } from 'zod';
import { listWebhookDeliveries } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';
import { DeliveryViewSchema, endpointIdArg } from '../webhook-schemas.js';

export function registerListWebhookDeliveries(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'list_webhook_deliveries',
    {
      title: 'List webhook deliveries',
      description:
        "A webhook's deliveries, newest event first: status (pending, delivered, failed), attempts, last " +
        'response code, error and time, next attempt. Page with nextCursor.',
      inputSchema: {
        endpointId: endpointIdArg,
        status: z.enum(['pending', 'delivered', 'failed']).optional(),
        limit: z.number().int().min(1).max(200).default(50),
        cursor: z.string().max(100).optional().describe('nextCursor of the previous page'),
        tenant: tenantArg,
      },
      outputSchema: { deliveries: z.array(z.object(DeliveryViewSchema)), nextCursor: z.string().nullable() },
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ ...(await listWebhookDeliveries(ctx, args)) }),
  );
}
