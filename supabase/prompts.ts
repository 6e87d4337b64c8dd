/**
 * System prompts: which version serves a request, and its content. Versions live in the database so a
 * rollout (or a rollback) changes what serves traffic without a deploy and without calling Temporal.
 */
import { rethrowUserFacing } from '../core/failure.js';
import { servesCandidate } from '../core/rollout-bucket.js';
import type { Queryable, Sql } from './db.js';

export const ANALYSIS_TOOL = 'analyze_email';

export interface PromptVersion {
  id: string;
  toolName: string;
  provider: string;
  version: number;
  /** Which side of a rollout served this request; 'baseline' while no rollout runs. */
  arm: 'baseline' | 'candidate';
  /** The open rollout of this tool/provider, when there is one. */
  rollout?: { id: string; percent: number };
}

export class NoActivePromptError extends Error {
  override name = 'NoActivePrompt';
}

/**
 * The prompt version that serves `subjectKey` (the email id) for a tool and provider. Without an open
 * rollout that is the active version. With one, the subject key is bucketed (core/rollout-bucket.ts,
 * salted by the rollout id) and buckets under the rollout's traffic percent get the candidate: the same
 * email always gets the same arm, for every caller (the MCP tool, ingestion), from one indexed query.
 */
export async function resolvePromptVersion(
  sql: Queryable,
  request: { toolName: string; provider: string; subjectKey: string },
): Promise<PromptVersion> {
  const [row] = await sql<
    {
      id: string;
      toolName: string;
      provider: string;
      version: number;
      rolloutId: string | null;
      percent: number | null;
      candidateId: string | null;
      candidateVersion: number | null;
    }[]
  >`
    select a.id, a.tool_name as "toolName", a.provider, a.version,
           r.id as "rolloutId", r.traffic_percent as percent,
           c.id as "candidateId", c.version as "candidateVersion"
    from public.system_prompts a
    left join public.prompt_rollouts r
      on r.tool_name = a.tool_name and r.provider = a.provider and r.status in ('running', 'paused')
      and r.baseline_prompt_id = a.id
    left join public.system_prompts c on c.id = r.candidate_prompt_id
    where a.tool_name = ${request.toolName} and a.provider = ${request.provider} and a.is_active`;
  if (!row) {
    throw new NoActivePromptError(`no active ${request.toolName} prompt for provider ${request.provider}`);
  }
  const base = { toolName: row.toolName, provider: row.provider };
  if (!row.rolloutId || row.percent === null || !row.candidateId || row.candidateVersion === null) {
    return { ...base, id: row.id, version: row.version, arm: 'baseline' };
  }
  const rollout = { id: row.rolloutId, percent: row.percent };
  return servesCandidate(request.subjectKey, row.rolloutId, row.percent)
    ? { ...base, id: row.candidateId, version: row.candidateVersion, arm: 'candidate', rollout }
    : { ...base, id: row.id, version: row.version, arm: 'baseline', rollout };
}

export async function promptContent(sql: Queryable, promptVersionId: string): Promise<string | null> {
  const [row] = await sql<{ content: string }[]>`
    select content from public.system_prompts where id = ${promptVersionId}`;
  return row?.content ?? null;
}

export interface PromptVersionInfo {
  id: string;
  toolName: string;
  provider: string;
  version: number;
  isActive: boolean;
  contentSha256: string;
  createdBy: string;
  changeDescription: string;
  createdAt: Date;
}

const versionColumns = (sql: Queryable) => sql`
  id, tool_name as "toolName", provider, version, is_active as "isActive",
  content_sha256 as "contentSha256", created_by as "createdBy",
  change_description as "changeDescription", created_at as "createdAt"`;

/** Versions of one tool (optionally one provider), newest first. */
export async function listPromptVersions(
  sql: Queryable,
  filter: { toolName: string; provider?: string; limit: number; includeContent?: boolean },
): Promise<(PromptVersionInfo & { content?: string })[]> {
  return sql<(PromptVersionInfo & { content?: string })[]>`
    select ${versionColumns(sql)} ${filter.includeContent ? sql`, content` : sql``} from public.system_prompts
    where tool_name = ${filter.toolName}
      ${filter.provider ? sql`and provider = ${filter.provider}` : sql``}
    order by provider, version desc
    limit ${filter.limit}`;
}

export async function findPromptVersion(
  sql: Queryable,
  pair: { toolName: string; provider: string },
  version: number | 'active',
): Promise<PromptVersionInfo | null> {
  const [row] = await sql<PromptVersionInfo[]>`
    select ${versionColumns(sql)} from public.system_prompts
    where tool_name = ${pair.toolName} and provider = ${pair.provider}
      and ${version === 'active' ? sql`is_active` : sql`version = ${version}`}`;
  return row ?? null;
}

/** Who changes prompts, for the history and the audit log. */
export interface PromptActor {
  actor: string;
  /** The organization the actor acted for; audit rows are written there. */
  tenantId: string | null;
}

/** A new version with this content, or the existing version with exactly this content. */
export async function createPromptVersion(
  sql: Sql,
  request: PromptActor & { toolName: string; provider: string; content: string; description: string },
): Promise<{ id: string; version: number; created: boolean }> {
  const [row] = await sql<{ prompt_id: string; version: number; created: boolean }[]>`
    select prompt_id, version, created from public.create_prompt_version(${sql.json(withoutUndefined(request))})`.catch(
    rethrowUserFacing,
  );
  return { id: row!.prompt_id, version: row!.version, created: row!.created };
}

export interface Activation {
  changed: boolean;
  previousVersion: number | null;
  activeVersion: number;
  rolloutId: string | null;
  rolloutStatus: string | null;
}

/**
 * Make a version active: the one audited path for rollout completion (the candidate), rollout rollback
 * (the baseline: only the rollout closes) and rollback_prompt (any version). See the SQL function.
 */
export async function activatePromptVersion(
  sql: Sql,
  promptId: string,
  request: PromptActor & {
    reason: string;
    rolloutId?: string;
    rolloutStatus?: 'completed' | 'rolled_back' | 'aborted';
  },
): Promise<Activation> {
  const [row] = await sql<
    {
      changed: boolean;
      previous_version: number | null;
      active_version: number;
      rollout_id: string | null;
      rollout_status: string | null;
    }[]
  >`select * from public.activate_prompt_version(${promptId}, ${sql.json(withoutUndefined(request))})`.catch(
    rethrowUserFacing,
  );
  return {
    changed: row!.changed,
    previousVersion: row!.previous_version,
    activeVersion: row!.active_version,
    rolloutId: row!.rollout_id,
    rolloutStatus: row!.rollout_status,
  };
}

type Json = Parameters<Sql['json']>[0];
export function withoutUndefined(value: object): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}
