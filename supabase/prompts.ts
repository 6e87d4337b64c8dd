/**
 * System prompts: which version serves a request, and its content. Versions live in the database so a
 * rollout (or a rollback) changes what serves traffic without a deploy and without calling Temporal.
 */
import { rethrowUserFacing } from '../core/failure.js';
import { servesCandidate } from '../core/rollout-bucket.js';
import type { Queryable, Sql } from './db.js';

export const ANALYSIS_TOOL = 'analyze_email';

/** Whose prompt: one tenant's own versions, or the global default set every other tenant inherits. */
export type PromptScopeName = 'global' | 'tenant';

/** A prompt scope as the SQL functions take it: the tenant's id, or null for the global default set. */
export interface PromptScope {
  scopeTenantId: string | null;
}

export const scopeName = (scopeTenantId: string | null): PromptScopeName =>
  scopeTenantId === null ? 'global' : 'tenant';

export interface PromptVersion {
  id: string;
  toolName: string;
  provider: string;
  version: number;
  /** The served version's scope: the tenant's own, or the global one it inherits. */
  scope: PromptScopeName;
  /** Which side of a rollout served this request; 'baseline' while no rollout runs. */
  arm: 'baseline' | 'candidate';
  /** The open rollout that decided (the tenant's own, or the global one), when there is one. */
  rollout?: { id: string; percent: number };
}

export class NoActivePromptError extends Error {
  override name = 'NoActivePrompt';
}

/**
 * The prompt version that serves `subjectKey` (the email id) of a tenant for a tool and provider, from one
 * call (public.serving_prompt): the tenant's open rollout if it has one, else its own active version, else
 * the global active version with the global rollout, if one is open. With a rollout, the subject key is
 * bucketed (core/rollout-bucket.ts, salted by the rollout id) and buckets under the rollout's traffic
 * percent get the candidate: the same email always gets the same arm, for every caller (the MCP tool,
 * ingestion). A rollout therefore only ever serves the mail of its own scope.
 */
export async function resolvePromptVersion(
  sql: Queryable,
  request: { tenantId: string; toolName: string; provider: string; subjectKey: string },
): Promise<PromptVersion> {
  const [row] = await sql<
    {
      id: string;
      version: number;
      scope: PromptScopeName;
      rolloutId: string | null;
      percent: number | null;
      candidateId: string | null;
      candidateVersion: number | null;
      candidateScope: PromptScopeName | null;
    }[]
  >`
    select prompt_id as id, prompt_version as version, prompt_scope as scope,
           rollout_id as "rolloutId", traffic_percent as percent,
           candidate_id as "candidateId", candidate_version as "candidateVersion",
           candidate_scope as "candidateScope"
    from public.serving_prompt(${request.tenantId}, ${request.toolName}, ${request.provider})`;
  if (!row?.id) {
    throw new NoActivePromptError(`no active ${request.toolName} prompt for provider ${request.provider}`);
  }
  const base = { toolName: request.toolName, provider: request.provider };
  const baseline = { ...base, id: row.id, version: row.version, scope: row.scope, arm: 'baseline' as const };
  if (!row.rolloutId || row.percent === null || !row.candidateId || row.candidateVersion === null) {
    return baseline;
  }
  const rollout = { id: row.rolloutId, percent: row.percent };
  return servesCandidate(request.subjectKey, row.rolloutId, row.percent)
    ? {
        ...base,
        id: row.candidateId,
        version: row.candidateVersion,
        scope: row.candidateScope ?? 'global',
        arm: 'candidate',
        rollout,
      }
    : { ...baseline, rollout };
}

export async function promptContent(sql: Queryable, promptVersionId: string): Promise<string | null> {
  const [row] = await sql<{ content: string }[]>`
    select content from public.system_prompts where id = ${promptVersionId}`;
  return row?.content ?? null;
}

export interface PromptVersionInfo {
  id: string;
  scope: PromptScopeName;
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
  id, case when tenant_id is null then 'global' else 'tenant' end as scope, tool_name as "toolName", provider, version, is_active as "isActive",
  content_sha256 as "contentSha256", created_by as "createdBy",
  change_description as "changeDescription", created_at as "createdAt"`;

/**
 * Versions of one tool (optionally one provider) that a tenant sees: its own and the global ones it
 * inherits (or only one of the two scopes), per provider own first, newest first. `serving` marks the
 * version that serves the tenant's mail outside a rollout: its own active one, else the global active one.
 */
export async function listPromptVersions(
  sql: Queryable,
  filter: {
    tenantId: string;
    scope?: PromptScopeName;
    toolName: string;
    provider?: string;
    limit: number;
    includeContent?: boolean;
  },
): Promise<(PromptVersionInfo & { serving: boolean; content?: string })[]> {
  const scope =
    filter.scope === 'global'
      ? sql`tenant_id is null`
      : filter.scope === 'tenant'
        ? sql`tenant_id = ${filter.tenantId}`
        : sql`(tenant_id is null or tenant_id = ${filter.tenantId})`;
  return sql<(PromptVersionInfo & { serving: boolean; content?: string })[]>`
    select ${versionColumns(sql)} ${filter.includeContent ? sql`, content` : sql``},
      is_active and (tenant_id is not null or not exists (
        select 1 from public.system_prompts own
        where own.tenant_id = ${filter.tenantId} and own.tool_name = s.tool_name
          and own.provider = s.provider and own.is_active)) as serving
    from public.system_prompts s
    where ${scope} and tool_name = ${filter.toolName}
      ${filter.provider ? sql`and provider = ${filter.provider}` : sql``}
    order by provider, tenant_id is null, version desc
    limit ${filter.limit}`;
}

/**
 * One version of a scope by number, or `serving`: what serves the scope outside a rollout (a tenant's own
 * active version, else the global active one; for the global scope, the global active one).
 */
export async function findPromptVersion(
  sql: Queryable,
  pair: PromptScope & { toolName: string; provider: string },
  version: number | 'serving',
): Promise<PromptVersionInfo | null> {
  const [row] = await sql<PromptVersionInfo[]>`
    select ${versionColumns(sql)} from public.system_prompts
    where ${
      version === 'serving'
        ? sql`id = private.effective_prompt(${pair.scopeTenantId}, ${pair.toolName}, ${pair.provider})`
        : sql`tenant_id is not distinct from ${pair.scopeTenantId}::uuid and tool_name = ${pair.toolName}
              and provider = ${pair.provider} and version = ${version}`
    }`;
  return row ?? null;
}

/** Who changes prompts, for the history and the audit log. */
export interface PromptActor {
  actor: string;
  /**
   * The organization the actor acted for. Audit rows go to the scope's tenant (whose prompt changed);
   * a change of the global set goes to this organization's log (the operator's).
   */
  tenantId: string | null;
}

/** A new version in the scope with this content, or the scope's existing version with exactly this content. */
export async function createPromptVersion(
  sql: Sql,
  request: PromptActor &
    PromptScope & { toolName: string; provider: string; content: string; description: string },
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
 * Make a version active in a scope: the one audited path for rollout completion (the candidate), rollout
 * rollback (the baseline: only the rollout closes) and rollback_prompt (any version of the scope; in a
 * tenant scope, a global version means "serve the global default again"). See the SQL function.
 */
export async function activatePromptVersion(
  sql: Sql,
  promptId: string,
  request: PromptActor &
    PromptScope & {
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
