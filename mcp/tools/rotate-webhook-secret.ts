/** `rotate_webhook_secret`: a new signing secret, the old one still signing for a grace period. */
import { z } from 'zod';
import { rotateWebhookSecret } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW, tenantArg } from '../tool-schemas.js';
import { endpointIdArg } from '../webhook-schemas.js';

export function registerRotateWebhookSecret(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'rotate_webhook_secret',
    {
      title: "Rotate a webhook's secret",
      description:
        'Make a new signing secret (shown this once). Until previousSecretValidUntil (WEBHOOK_SECRET_GRACE, ' +
        'default 24 h) messages carry two signatures, new and old, space-separated as the spec allows.',
      inputSchema: { endpointId: endpointIdArg, tenant: tenantArg },
      outputSchema: {
        endpointId: z.string(),
        secret: z.string(),
        previousSecretValidUntil: z.string(),
        note: z.string(),
      },
      annotations: STEERS_WORKFLOW,
    },
    async (args) => toolResult({ ...(await rotateWebhookSecret(ctx, args)) }),
  );
}
