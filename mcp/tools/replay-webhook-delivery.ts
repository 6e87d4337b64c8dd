/** `replay_webhook_delivery`: send a delivery again, same webhook-id (app/webhooks.ts). */
import { z } from 'zod';
import { replayWebhookDelivery } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW, tenantArg } from '../tool-schemas.js';
import { DeliveryViewSchema } from '../webhook-schemas.js';

export function registerReplayWebhookDelivery(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'replay_webhook_delivery',
    {
      title: 'Replay a webhook delivery',
      description:
        'Queue a delivery (delivered or failed) to be sent again by its endpoint workflow, with the same ' +
        'webhook-id so receivers that dedupe see it once, and with the full retry schedule.',
      inputSchema: {
        deliveryId: z.uuid().describe('From list_webhook_deliveries'),
        tenant: tenantArg,
      },
      outputSchema: { ...DeliveryViewSchema, note: z.string() },
      annotations: STEERS_WORKFLOW,
    },
    async (args) => toolResult({ ...(await replayWebhookDelivery(ctx, args)) }),
  );
}
