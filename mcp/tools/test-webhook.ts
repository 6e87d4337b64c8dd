/** `test_webhook`: send a signed ping now and report the receiver's answer (app/webhooks.ts). */
import { z } from 'zod';
import { testWebhook } from '../../app/webhooks.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';
import { endpointIdArg } from '../webhook-schemas.js';

export function registerTestWebhook(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'test_webhook',
    {
      title: 'Test a webhook',
      description:
        'Send a signed `webhook.ping` message (Slack: a short text) now, once, and report the answer: status ' +
        'code, time, the first 500 characters of the body, or what went wrong (timeout, refused address…).',
      inputSchema: { endpointId: endpointIdArg, tenant: tenantArg },
      outputSchema: {
        endpointId: z.string(),
        webhookId: z.string(),
        ok: z.boolean().describe('The receiver answered 2xx'),
        statusCode: z.number().int().nullable(),
        durationMs: z.number().int(),
        response: z.string(),
        error: z.string().nullable(),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args) => toolResult({ ...(await testWebhook(ctx, args)) }),
  );
}
