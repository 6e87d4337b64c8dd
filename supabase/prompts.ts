/**
 * System prompts: which version serves a request, and its content. Versions live in the database so a
 * rollout (or a rollback) changes what serves traffic without a deploy and without calling Temporal.
 */
import type { Queryable } from './db.js';

export const ANALYSIS_TOOL = 'analyze_email';

export interface PromptVersion {
  id: string;
  toolName: string;
  provider: string;
  version: number;
  /** Which side of a rollout served this request; 'baseline' while no rollout runs. */
  arm: 'baseline' | 'candidate';
}

export class NoActivePromptError extends Error {
  override name = 'NoActivePrompt';
}

/**
 * The prompt version that serves `subjectKey` (the email id) for a tool and provider: today the active
 * version. This is the seam for prompt rollouts, which will bucket the subject key into the candidate's
 * traffic share here, so every caller (the MCP tool, ingestion) gets the same answer for the same email.
 */
export async function resolvePromptVersion(
  sql: Queryable,
  request: { toolName: string; provider: string; subjectKey: string },
): Promise<PromptVersion> {
  const [row] = await sql<PromptVersion[]>`
    select id, tool_name as "toolName", provider, version, 'baseline' as arm
    from public.system_prompts
    where tool_name = ${request.toolName} and provider = ${request.provider} and is_active`;
  if (!row) {
    throw new NoActivePromptError(`no active ${request.toolName} prompt for provider ${request.provider}`);
  }
  return row;
}

export async function promptContent(sql: Queryable, promptVersionId: string): Promise<string | null> {
  const [row] = await sql<{ content: string }[]>`
    select content from public.system_prompts where id = ${promptVersionId}`;
  return row?.content ?? null;
}
