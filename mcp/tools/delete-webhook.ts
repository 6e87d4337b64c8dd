/** `delete_webhook`: stop its workflow and delete it with its deliveries (app/webhooks.ts). */
import { z } from 'zod';
import { deleteWebhook } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW, tenantArg } from '../tool-schemas.js';
import { endpointIdArg } from '../webhook-schemas.js';

export function registerDeleteWebhook(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'delete_webhook',
    {
      title: 'Delete a webhook',
      description:
        'Stop sending to this webhook: its workflow ends; it, its secret and its delivery log are deleted.',
      inputSchema: { endpointId: endpointIdArg, tenant: tenantArg },
      outputSchema: { endpointId: z.string(), deleted: z.boolean() },
      annotations: STEERS_WORKFLOW,
    },
    async (args) => toolResult({ ...(await deleteWebhook(ctx, args)) }),
  );
}
