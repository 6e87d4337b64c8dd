/**
 * `email_retention_policy`: read or set how long the organization keeps its emails
 * (app/retention.ts: emailRetentionPolicy). The next retention run applies it.
 */
import { z } from 'zod';
import { emailRetentionPolicy } from '../../app/retention.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';

/** A hundred years: anything longer is "keep forever", which is `null`. */
const MAX_DAYS = 36_500;

export function registerEmailRetentionPolicy(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'email_retention_policy',
    {
      title: 'Email retention policy',
      description:
        "Read or set how many days the organization's emails are kept. Omit `days` to read it; pass a " +
        'number of days, or null to keep emails forever, to set it (owners and admins). Retention runs ' +
        'delete older emails with their attachments and raw messages; files a user uploaded stay.',
      inputSchema: {
        days: z
          .number()
          .int('days must be a whole number')
          .min(1, 'days must be at least 1 (null keeps emails forever)')
          .max(MAX_DAYS, `days must be at most ${MAX_DAYS} (null keeps emails forever)`)
          .nullable()
          .optional()
          .describe('New retention in days; null keeps emails forever; omit to read the current policy'),
        tenant: tenantArg,
      },
      outputSchema: {
        tenantId: z.string(),
        emailRetentionDays: z.number().int().nullable().describe('null: emails are kept forever'),
        previousDays: z.number().int().nullable().optional().describe('Set only when this call changed it'),
        changed: z.boolean(),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => toolResult({ ...(await emailRetentionPolicy(ctx, args)) }),
  );
}
