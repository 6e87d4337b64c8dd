/** `resume_webhook`: an endpoint in needs_attention or disabled sends again (app/webhooks.ts). */
import { z } from 'zod';
import { resumeWebhook } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW, tenantArg } from '../tool-schemas.js';
import { endpointIdArg, WebhookViewSchema } from '../webhook-schemas.js';

export function registerResumeWebhook(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'resume_webhook',
    {
      title: 'Resume a webhook',
      description:
        'After needs_attention (a delivery failed every retry) or disabled (410): try the delivery that ' +
        'stopped it again now, then everything after it, in order. On an active webhook: retry now.',
      inputSchema: { endpointId: endpointIdArg, tenant: tenantArg },
      outputSchema: { webhook: z.object(WebhookViewSchema) },
      annotations: STEERS_WORKFLOW,
    },
    async (args) => toolResult({ webhook: await resumeWebhook(ctx, args) }),
  );
}
