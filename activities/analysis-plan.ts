/**
 * What an analysis run will be: provider, model, the prompt version that serves this email (resolved
 * from the database), the workflow id that makes it idempotent, and the summary shown in the Temporal UI.
 *
 * Shared by the `analyze_email` tool (before it starts the workflow) and by ingestion (an activity,
 * before it starts the child), so both name the same run for the same email and prompt version.
 */
import { type AiConfig, aiTaskQueue, HEURISTIC_MODEL, type ProviderName } from '../core/ai-providers.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { emailSubject } from '../supabase/analyses.js';
import type { Queryable } from '../supabase/db.js';
import { ANALYSIS_TOOL, NoActivePromptError, resolvePromptVersion } from '../supabase/prompts.js';
import type { AnalyzeEmailInput } from '../workflows/analyze-email.js';

export interface AnalysisRequest {
  tenantId: string;
  emailId: string;
  provider?: string;
  model?: string;
  force: boolean;
}

export interface AnalysisPlan {
  workflowId: string;
  input: AnalyzeEmailInput;
  summary: string;
  /** The prompt rollout that chose the version, and its traffic percent at that moment. */
  rollout?: { id: string; percent: number };
}

export function analysisWorkflowId(
  tenantId: string,
  emailId: string,
  provider: string,
  version: number,
): string {
  return `analysis/${tenantId}/${emailId}/${provider}-v${version}`;
}

export async function planAnalysis(
  sql: Queryable,
  ai: AiConfig,
  request: AnalysisRequest,
): Promise<AnalysisPlan> {
  const provider = (request.provider ?? ai.defaultProvider) as ProviderName;
  const llm = provider === 'heuristic' ? undefined : ai.llm;
  if (provider !== 'heuristic' && llm?.provider !== provider) {
    throw new UserFacingError(
      ErrorType.ProviderNotConfigured,
      `provider "${provider}" is not configured here: use "heuristic"${ai.llm ? ` or "${ai.llm.provider}"` : ''} (set AI_PROVIDER and AI_API_KEY to add one)`,
    );
  }
  if (provider === 'heuristic' && request.model && request.model !== HEURISTIC_MODEL) {
    throw new UserFacingError(
      ErrorType.InvalidArgument,
      `the heuristic provider has one model, "${HEURISTIC_MODEL}"`,
    );
  }
  const model = llm ? (request.model ?? llm.model) : HEURISTIC_MODEL;

  const email = await emailSubject(sql, request.tenantId, request.emailId);
  if (!email) throw new UserFacingError(ErrorType.NotFound, `no email ${request.emailId} in this tenant`);

  let prompt: Awaited<ReturnType<typeof resolvePromptVersion>>;
  try {
    prompt = await resolvePromptVersion(sql, {
      toolName: ANALYSIS_TOOL,
      provider,
      subjectKey: request.emailId,
    });
  } catch (err) {
    if (err instanceof NoActivePromptError) throw new UserFacingError(ErrorType.NoActivePrompt, err.message);
    throw err;
  }

  const subject = (email.subject ?? '(no subject)').replace(/\s+/g, ' ');
  return {
    workflowId: analysisWorkflowId(request.tenantId, request.emailId, provider, prompt.version),
    input: {
      tenantId: request.tenantId,
      emailId: request.emailId,
      provider,
      model,
      promptVersionId: prompt.id,
      promptVersion: prompt.version,
      arm: prompt.arm,
      force: request.force,
      llm: llm ? { taskQueue: aiTaskQueue(ai, provider), timeoutMs: llm.timeoutMs } : undefined,
    },
    summary: `Analyse: ${subject.length > 80 ? `${subject.slice(0, 79)}…` : subject} with ${provider}/${model}`,
    rollout: prompt.rollout,
  };
}
