/**
 * What an analysis run will be: provider, model, the prompt version that serves this email (resolved
 * from the database), the workflow id that makes it idempotent, and the summary shown in the Temporal UI.
 *
 * Shared by the application layer (app/analysis.ts, before it starts the workflow) and by ingestion (an
 * activity, before it starts the child), so both name the same run for the same email and prompt
 * version. It lives with the data access because it is a read (which prompt version serves this email)
 * turned into a run's name; the workflow's contract holds the plan's shape and the id function.
 */
import { type AiConfig, aiTaskQueue, HEURISTIC_MODEL, type ProviderName } from '../core/ai-providers.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { type AnalysisPlan, analysisWorkflowId } from '../workflows/analyze-email.contract.js';
import { emailSubject } from './analyses.js';
import type { Queryable } from './db.js';
import { ANALYSIS_TOOL, NoActivePromptError, resolvePromptVersion } from './prompts.js';

export interface AnalysisRequest {
  tenantId: string;
  emailId: string;
  provider?: string;
  model?: string;
  force: boolean;
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
      tenantId: request.tenantId,
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
    workflowId: analysisWorkflowId(request.tenantId, request.emailId, provider, prompt.version, prompt.scope),
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
    promptScope: prompt.scope,
    rollout: prompt.rollout,
  };
}
