/**
 * What the prompt tools share: the argument schemas and the rollout's output schema (app/prompts.ts's
 * RolloutView). Who may change prompts, and reading a rollout live or from its row, live in app/prompts.ts.
 */
import { z } from 'zod';
import { PROVIDERS } from '../core/ai-providers.js';

// ---- Arguments ------------------------------------------------------------------------------------

export const toolNameArg = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a tool name: lower-case letters, digits and _')
  .default('analyze_email')
  .describe('The tool whose system prompt this is');

export const providerArg = z
  .enum(PROVIDERS)
  .optional()
  .describe('The provider whose prompt this is; defaults to the configured provider');

export const scopeArg = z
  .enum(['tenant', 'global'])
  .default('tenant')
  .describe(
    "Whose prompt: `tenant` (default), your organization's own; `global`, the default set every " +
      'organization without a version of its own uses (changed only by the operator organization)',
  );

export const scopeOutput = z
  .enum(['global', 'tenant'])
  .describe(
    "`tenant`: your organization's own; `global`: the default set, inherited while you have none active",
  );

// ---- Output ---------------------------------------------------------------------------------------

const PromptRef = z.object({ id: z.string(), version: z.number().int() });
const ArmMetrics = z.object({
  calls: z.number().int(),
  errors: z.number().int(),
  answered: z.number().int(),
  valid: z.number().int(),
  p95LatencyMs: z.number().nullable(),
});
const Metrics = z.object({
  baseline: ArmMetrics,
  candidate: ArmMetrics,
  baselineSince: z.string(),
  candidateSince: z.string(),
  measuredAt: z.string(),
});
const Evidence = z.object({
  seq: z.number().int(),
  stage: z.number().int(),
  percent: z.number().int(),
  passed: z.boolean(),
  reason: z.string().nullable(),
  checks: z.array(
    z.object({
      gate: z.string(),
      passed: z.boolean(),
      observed: z.number().nullable(),
      limit: z.number(),
      detail: z.string(),
    }),
  ),
  metrics: Metrics,
});

/** A rollout as every prompt tool reports it. */
export const rolloutOutput = {
  rolloutId: z.string(),
  scope: scopeOutput,
  workflowId: z.string(),
  toolName: z.string(),
  provider: z.string(),
  baseline: PromptRef.describe('The version active when the rollout started'),
  candidate: PromptRef,
  status: z.enum(['running', 'paused', 'completed', 'rolled_back', 'aborted']),
  stages: z.array(z.number().int()),
  stage: z.number().int().describe('Index into stages'),
  percent: z.number().int().describe("The candidate's share of traffic now"),
  startedBy: z.string(),
  stageStartedAt: z.string().nullable(),
  bakeEndsAt: z.string().nullable(),
  metrics: Metrics.nullable().describe("The current stage's per-arm figures so far"),
  evidence: z.array(Evidence).describe('Every gate evaluation, oldest first'),
  reason: z.string().nullable(),
  live: z.boolean().describe('true: read from the running workflow; false: from the database row'),
  temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
};
