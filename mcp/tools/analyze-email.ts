/**
 * `analyze_email`: classify, summarise and extract from one stored email through the AI-analysis
 * workflow (app/analysis.ts: analyzeEmail).
 */
import { z } from 'zod';
import { analyzeEmail } from '../../app/analysis.js';
import { PROVIDERS } from '../../core/ai-providers.js';
import { AnalysisSchema } from '../../core/analysis.js';
import { WorkflowStatusSchema } from '../../core/records.js';
import type { ToolContext } from '../context.js';
import { waitingFor } from '../progress.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg, waitArg } from '../tool-schemas.js';

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatusSchema,
  provider: z.string(),
  model: z.string(),
  promptVersion: z.number().int(),
  promptScope: z
    .enum(['global', 'tenant'])
    .describe("Whose prompt version: your organization's own, or the global default it inherits"),
  reused: z.boolean().optional().describe('true when the stored result was returned without a new call'),
  analysis: AnalysisSchema.optional(),
  tokens: z.number().int().optional(),
  cost: z.number().optional().describe('Estimated cost in USD'),
  temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
};

export function registerAnalyzeEmail(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'analyze_email',
    {
      title: 'Analyse an email',
      description:
        'Classify a stored email (category, priority, sentiment, urgency), summarise it in at most 3 ' +
        'sentences, and extract action items and entities, through a durable Temporal workflow. Uses the ' +
        'configured AI provider, or the built-in heuristic analyser when no API key is set. Idempotent per ' +
        'email and prompt version unless force=true.',
      inputSchema: {
        emailId: z.uuid().describe('The emailId ingest_email returned'),
        provider: z.enum(PROVIDERS).optional().describe('Defaults to the configured provider'),
        model: z
          .string()
          .min(1)
          .max(200)
          .regex(/^[\w.:/@-]+$/, 'letters, digits and . : / @ _ - only')
          .optional()
          .describe("Override the provider's model"),
        force: z.boolean().default(false).describe('Analyse again and replace the stored result'),
        tenant: tenantArg,
        wait: waitArg,
      },
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ wait, ...args }, extra) =>
      toolResult({ ...(await analyzeEmail(ctx, { ...args, ...waitingFor(extra, wait) })) }),
  );
}
